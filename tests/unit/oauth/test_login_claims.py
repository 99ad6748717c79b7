"""``gateway.oauth.tokens.add_login_claims``: the access token and the ID token say the
same about how the person signed in."""

from __future__ import annotations

from typing import Any

from gateway.oauth.records import Principal
from gateway.oauth.tokens import add_login_claims


def test_the_login_claims_of_a_full_login() -> None:
    claims: dict[str, Any] = {"sub": "kept"}
    principal = Principal(
        subject_id="s",
        grant_id="g",
        sid="sid-1",
        acr="urn:esia:loa:substantial",
        amr=("pwd",),
        auth_time=1_700_000_000,
    )
    add_login_claims(claims, principal)
    assert claims == {
        "sub": "kept",
        "auth_time": 1_700_000_000,
        "acr": "urn:esia:loa:substantial",
        "amr": ["pwd"],
        "sid": "sid-1",
    }


def test_what_the_login_lacks_is_left_out_not_sent_empty() -> None:
    claims: dict[str, Any] = {}
    principal = Principal(subject_id="s", grant_id="g", sid=None, acr=None, amr=(), auth_time=None)
    add_login_claims(claims, principal)
    assert claims == {}
