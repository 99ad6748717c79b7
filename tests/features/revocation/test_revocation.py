"""Revocation: SECURITY.md T47–T49 (RFC 7009)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.core.types import TokenFormat
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient


@pytest.fixture
def tokens(kit: OAuthKit, school: RegisteredClient) -> dict[str, Any]:
    return kit.login_tokens(school)


def revoke(kit: OAuthKit, rc: RegisteredClient, token: str, **extra: str) -> Any:
    return kit.client.post("/revoke", data={"token": token, **extra}, headers=rc.auth())


def test_refresh_token_revocation_cascades_to_the_grant(
    kit: OAuthKit, school: RegisteredClient, tokens: dict[str, Any]
) -> None:
    response = revoke(kit, school, tokens["refresh_token"], token_type_hint="refresh_token")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    kit.assert_json_error(kit.refresh(school, tokens["refresh_token"]), "invalid_grant")
    assert kit.introspect(school, tokens["access_token"]).get_json() == {"active": False}
    assert kit.userinfo(tokens["access_token"]).status_code == 401


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token", "foo"])
def test_access_token_revocation_whatever_the_hint(
    kit: OAuthKit, school: RegisteredClient, tokens: dict[str, Any], hint: str | None
) -> None:
    extra = {"token_type_hint": hint} if hint else {}
    assert revoke(kit, school, tokens["access_token"], **extra).status_code == 200
    assert kit.introspect(school, tokens["access_token"]).get_json() == {"active": False}
    assert kit.userinfo(tokens["access_token"]).status_code == 401
    assert kit.refresh(school, tokens["refresh_token"]).status_code == 200


def test_unknown_token_is_200(kit: OAuthKit, school: RegisteredClient) -> None:
    assert revoke(kit, school, "garbage").status_code == 200
    assert revoke(kit, school, "x" * 5000).status_code == 200


def test_id_token_is_unsupported_token_type(
    kit: OAuthKit, school: RegisteredClient, tokens: dict[str, Any]
) -> None:
    kit.assert_json_error(revoke(kit, school, tokens["id_token"]), "unsupported_token_type")


def test_another_clients_token_is_not_revoked(
    kit: OAuthKit, school: RegisteredClient, other: RegisteredClient, tokens: dict[str, Any]
) -> None:
    assert revoke(kit, other, tokens["access_token"]).status_code == 200
    assert revoke(kit, other, tokens["refresh_token"]).status_code == 200
    assert kit.introspect(school, tokens["access_token"]).get_json()["active"] is True
    assert kit.refresh(school, tokens["refresh_token"]).status_code == 200


def test_revocation_requires_client_authentication(kit: OAuthKit, tokens: dict[str, Any]) -> None:
    response = kit.client.post("/revoke", data={"token": tokens["access_token"]})
    kit.assert_json_error(response, "invalid_client", 401)
    assert kit.client.get("/revoke").status_code == 405


def test_missing_token_is_invalid_request(kit: OAuthKit, school: RegisteredClient) -> None:
    kit.assert_json_error(kit.client.post("/revoke", headers=school.auth()), "invalid_request")


def test_opaque_access_token_revocation(kit: OAuthKit) -> None:
    rc = kit.register("opaque", token_format=TokenFormat.OPAQUE)
    tokens = kit.login_tokens(rc)
    assert revoke(kit, rc, tokens["access_token"]).status_code == 200
    assert kit.introspect(rc, tokens["access_token"]).get_json() == {"active": False}
    assert kit.userinfo(tokens["access_token"]).status_code == 401
