"""``gateway.oauth.grants.base.principal_of``: a token says the same about the person
whether it comes from the code or, later, from the refresh of that code's grant."""

from __future__ import annotations

from gateway.oauth.grants.base import principal_of
from gateway.oauth.records import CodeRecord
from gateway.oauth.records import Principal

RECORD = CodeRecord(
    grant_id="g-1",
    client_id="school-diary",
    redirect_uri="https://school-diary.example/cb",
    scopes=("openid", "offline_access"),
    code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    subject_id="subj-parent",
    sid="sid-1",
    acr="urn:esia:loa:substantial",
    amr=("pwd", "otp"),
    auth_time=1_700_000_000,
    issued_at=1_700_000_010.0,
    expires_at=1_700_000_070.0,
    nonce="n-0S6_WzA2Mj",
    acting_for="subj-child",
)


def test_principal_from_a_code_carries_its_login_and_nonce() -> None:
    assert principal_of(RECORD, nonce=RECORD.nonce) == Principal(
        subject_id="subj-parent",
        grant_id="g-1",
        sid="sid-1",
        acr="urn:esia:loa:substantial",
        amr=("pwd", "otp"),
        auth_time=1_700_000_000,
        acting_for="subj-child",
        nonce="n-0S6_WzA2Mj",
    )


def test_principal_from_the_codes_grant_is_the_same_person_without_nonce() -> None:
    """OIDC Core §12.2: a refreshed ID token carries no ``nonce``; everything else about
    the login (acr, amr, auth_time, sid, acting_for) is what the code said."""
    grant = RECORD.grant("pairwise-sub", family_expires_at=1_702_592_010.0)
    from_grant = principal_of(grant)
    assert from_grant.nonce is None
    assert from_grant == principal_of(RECORD, nonce=None)
