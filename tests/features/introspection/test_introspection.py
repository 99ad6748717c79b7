"""Introspection: SECURITY.md T50, T51 — authorization of the caller, and exactly
``{"active": false}`` for anything inactive."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.core.types import TokenFormat
from tests.helpers.oauth import ISSUER
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient
from tests.helpers.store_calls import count_store_calls


@pytest.fixture
def tokens(kit: OAuthKit, school: RegisteredClient) -> dict[str, Any]:
    return kit.login_tokens(school)


@pytest.fixture
def resource_server(kit: OAuthKit) -> RegisteredClient:
    return kit.register(
        "diary-api", introspection_allowed=True, grant_types=("client_credentials",)
    )


def test_owner_introspects_its_access_token(
    kit: OAuthKit, school: RegisteredClient, tokens: dict[str, Any]
) -> None:
    response = kit.introspect(school, tokens["access_token"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["active"] is True
    assert body["client_id"] == "school"
    assert body["scope"] == "openid profile"
    assert body["iss"] == ISSUER
    assert body["token_type"] == "Bearer"
    assert body["sub"] == kit.verify(tokens["access_token"])[1]["sub"]
    for name in ("exp", "iat", "aud", "jti"):
        assert name in body


def test_registered_resource_server_may_introspect(
    kit: OAuthKit, resource_server: RegisteredClient, tokens: dict[str, Any]
) -> None:
    assert kit.introspect(resource_server, tokens["access_token"]).get_json()["active"] is True


def test_other_clients_learn_nothing(
    kit: OAuthKit, other: RegisteredClient, tokens: dict[str, Any]
) -> None:
    assert kit.introspect(other, tokens["access_token"]).get_json() == {"active": False}


def test_introspection_requires_client_authentication(
    kit: OAuthKit, tokens: dict[str, Any]
) -> None:
    response = kit.client.post("/introspect", data={"token": tokens["access_token"]})
    kit.assert_json_error(response, "invalid_client", 401)
    assert "active" not in response.get_json()


def test_refresh_token_introspection(
    kit: OAuthKit, school: RegisteredClient, tokens: dict[str, Any]
) -> None:
    body = kit.introspect(school, tokens["refresh_token"]).get_json()
    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    kit.refresh(school, tokens["refresh_token"])
    assert kit.introspect(school, tokens["refresh_token"]).get_json() == {"active": False}


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "foo"])
def test_hints_do_not_limit_the_search(
    kit: OAuthKit, school: RegisteredClient, tokens: dict[str, Any], hint: str
) -> None:
    body = kit.introspect(school, tokens["access_token"], token_type_hint=hint).get_json()
    assert body["active"] is True


def test_inactive_tokens_are_exactly_active_false(
    kit: OAuthKit, school: RegisteredClient, tokens: dict[str, Any], services: Any
) -> None:
    for garbage in ("garbage", "eyJ.x.y", tokens["id_token"], "x" * 600):
        assert kit.introspect(school, garbage).get_json() == {"active": False}
    services.clock.advance(3600)
    assert kit.introspect(school, tokens["access_token"]).get_json() == {"active": False}


def test_missing_token_is_invalid_request(kit: OAuthKit, school: RegisteredClient) -> None:
    response = kit.client.post("/introspect", data={}, headers=school.auth())
    kit.assert_json_error(response, "invalid_request")


def test_opaque_and_client_credentials_tokens(kit: OAuthKit) -> None:
    rc = kit.register("opaque", token_format=TokenFormat.OPAQUE)
    cc = kit.client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=rc.auth()
    ).get_json()
    body = kit.introspect(rc, cc["access_token"]).get_json()
    assert body["active"] is True
    assert body["sub"] == "opaque"


def test_opaque_token_introspection_reads_the_store_once(
    kit: OAuthKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller's authentication (throttle counter, client-table version) and the
    token's record come in one round trip to the ephemeral store; the answer is the same
    as with separate reads, and a revoked token is inactive at once."""
    rc = kit.register("opaque-rs", token_format=TokenFormat.OPAQUE, introspection_allowed=True)
    issued = kit.client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=rc.auth()
    ).get_json()["access_token"]
    assert kit.introspect(rc, issued).get_json()["active"] is True  # the restore epoch cached
    calls = count_store_calls(kit.services.ephemeral, monkeypatch)
    body = kit.introspect(rc, issued).get_json()
    assert body["active"] is True
    assert body["client_id"] == "opaque-rs"
    assert calls == ["get_many"]
    monkeypatch.undo()
    assert kit.client.post("/revoke", data={"token": issued}, headers=rc.auth()).status_code == 200
    assert kit.introspect(rc, issued).get_json() == {"active": False}
