"""UserInfo: SECURITY.md T44–T46 (token sources, errors and challenges, scope, leeway,
token-type confusion)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient


@pytest.fixture
def tokens(kit: OAuthKit, school: RegisteredClient) -> dict[str, Any]:
    return kit.login_tokens(school)


def test_get_with_bearer_header(kit: OAuthKit, tokens: dict[str, Any]) -> None:
    response = kit.userinfo(tokens["access_token"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["sub"] == kit.verify(tokens["id_token"])[1]["sub"]
    assert body["given_name"]  # the profile scope's claims come from the ClaimsSource


def test_claims_follow_the_scope(kit: OAuthKit, school: RegisteredClient) -> None:
    tokens = kit.login_tokens(school, scope="openid")
    body = kit.userinfo(tokens["access_token"]).get_json()
    assert set(body) == {"sub"}


def test_post_with_bearer_header(kit: OAuthKit, tokens: dict[str, Any]) -> None:
    response = kit.client.post(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert response.status_code == 200


def test_post_with_body_token(kit: OAuthKit, tokens: dict[str, Any]) -> None:
    """RFC 6750 §2.2 is supported (documented choice)."""
    response = kit.client.post("/userinfo", data={"access_token": tokens["access_token"]})
    assert response.status_code == 200


def test_header_and_body_together_is_invalid_request(kit: OAuthKit, tokens: dict[str, Any]) -> None:
    response = kit.client.post(
        "/userinfo",
        data={"access_token": tokens["access_token"]},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    kit.assert_json_error(response, "invalid_request")


def test_no_token_is_401_without_error(kit: OAuthKit) -> None:
    response = kit.client.get("/userinfo")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="vhod"'


def test_query_token_is_not_read(kit: OAuthKit, tokens: dict[str, Any]) -> None:
    response = kit.client.get(f"/userinfo?access_token={tokens['access_token']}")
    assert response.status_code == 401
    assert "error=" not in response.headers["WWW-Authenticate"]


def test_scheme_is_case_insensitive(kit: OAuthKit, tokens: dict[str, Any]) -> None:
    response = kit.client.get(
        "/userinfo", headers={"Authorization": f"bearer {tokens['access_token']}"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("bad", ["garbage", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "x" * 9000])
def test_bad_token_is_invalid_token(kit: OAuthKit, bad: str) -> None:
    response = kit.userinfo(bad)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_leeway(kit: OAuthKit, tokens: dict[str, Any], services: Any) -> None:
    settings = services.config.oauth
    services.clock.advance(settings.access_token_ttl_seconds + settings.leeway_seconds - 1)
    assert kit.userinfo(tokens["access_token"]).status_code == 200
    services.clock.advance(2)
    assert kit.userinfo(tokens["access_token"]).status_code == 401


def test_token_without_openid_is_insufficient_scope(
    kit: OAuthKit, school: RegisteredClient, tokens: dict[str, Any]
) -> None:
    narrowed = kit.refresh(school, tokens["refresh_token"], scope="profile").get_json()
    response = kit.userinfo(narrowed["access_token"])
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    client_token = kit.client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=school.auth()
    ).get_json()["access_token"]
    assert kit.userinfo(client_token).status_code == 403


@pytest.mark.parametrize("kind", ["id_token", "refresh_token"])
def test_other_token_types_are_refused(kit: OAuthKit, tokens: dict[str, Any], kind: str) -> None:
    """T44: typ is checked (at+jwt), refresh tokens are no bearer tokens."""
    assert kit.userinfo(tokens[kind]).status_code == 401


def test_disabled_client_tokens_stop_working(
    kit: OAuthKit, school: RegisteredClient, tokens: dict[str, Any]
) -> None:
    kit.update(school, disabled=True)
    assert kit.userinfo(tokens["access_token"]).status_code == 401


def test_token_signed_with_a_foreign_key_is_refused(kit: OAuthKit, tokens: dict[str, Any]) -> None:
    from joserfc import jwt
    from joserfc.jwk import ECKey

    _, claims = kit.verify(tokens["access_token"])
    header = {"alg": "ES256", "typ": "at+jwt", "kid": "not-ours"}
    forged = jwt.encode(header, claims, ECKey.generate_key("P-256"), algorithms=["ES256"])
    assert kit.userinfo(forged).status_code == 401
