"""The demo school's check of back-channel logout tokens (Back-Channel Logout 1.0 §2.6)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from gateway.dev.school import BACKCHANNEL_EVENT
from gateway.dev.school import LogoutTokenError
from gateway.dev.school import SchoolLogin
from gateway.dev.school import SchoolSessions
from gateway.dev.school import verify_logout_token

ISSUER = "http://127.0.0.1:18080"
CLIENT = "demo-school"
KEY = ECKey.generate_key("P-256", parameters={"kid": "k1"})
JWKS = {"keys": [KEY.as_dict(private=False)]}


def _token(key: Any = KEY, **changes: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT,
        "iat": now,
        "exp": now + 120,
        "jti": "j1",
        "sid": "sid-1",
        "events": {BACKCHANNEL_EVENT: {}},
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return jwt.encode({"alg": "ES256", "kid": "k1", "typ": "logout+jwt"}, claims, key)


def test_a_valid_token() -> None:
    claims = verify_logout_token(_token(), JWKS, ISSUER, CLIENT, time.time())
    assert claims["sid"] == "sid-1"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"iss": "http://evil.example"}, "iss"),
        ({"aud": "other"}, "aud"),
        ({"iat": None}, "iat"),
        ({"iat": 1}, "iat"),
        ({"events": None}, "events"),
        ({"events": {"other": {}}}, "events"),
        ({"nonce": "n"}, "nonce"),
        ({"sid": None}, "sid"),
    ],
)
def test_bad_tokens_are_refused(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(LogoutTokenError, match=problem):
        verify_logout_token(_token(**changes), JWKS, ISSUER, CLIENT, time.time())


def test_a_token_signed_by_another_key_is_refused() -> None:
    other = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    with pytest.raises(LogoutTokenError, match="signature"):
        verify_logout_token(_token(other), JWKS, ISSUER, CLIENT, time.time())


def test_sessions_end_by_sid_or_by_sub() -> None:
    sessions = SchoolSessions()

    def login(sid: str | None, sub: str) -> str:
        claims: dict[str, Any] = {"sub": sub} | ({"sid": sid} if sid else {})
        return sessions.create(SchoolLogin(claims, "id", "at", None, None, None))

    a, b = login("s1", "u1"), login("s2", "u1")
    login("s3", "u2")
    assert sessions.end_matching("s1", "u1") == 1
    assert sessions.get(a) is None
    assert sessions.get(b) is not None
    assert sessions.end_matching(None, "u1") == 1
    assert len(sessions) == 1
