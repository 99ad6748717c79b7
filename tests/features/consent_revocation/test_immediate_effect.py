"""SECURITY.md T41, T96, T97: a revoked consent, a disabled client and a removed scope take
effect at once — refresh tokens stop and introspection answers ``active: false`` — whether
an admin or the person (``/account``) acts.

JWT access tokens that a resource server validates offline stay valid until they expire:
that bound is ``oauth.access_token_ttl_seconds`` (checked below); introspection and
userinfo consult the grant's revocation at once.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.features.admin.helpers import AdminActions
from tests.helpers.journey import hidden_fields
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient
from tests.helpers.oauth import unverified_claims

SCOPE = "openid profile offline_access diary"


@pytest.fixture
def resource_server(kit: OAuthKit) -> RegisteredClient:
    return kit.register("diary-api", scopes=("openid",), introspection_allowed=True)


def active(kit: OAuthKit, rc: RegisteredClient, token: str) -> bool:
    response = kit.introspect(rc, token)
    assert response.status_code == 200
    return bool(response.get_json()["active"])


def test_admin_revokes_a_consent(
    kit: OAuthKit, school: RegisteredClient, resource_server: RegisteredClient, admin: AdminActions
) -> None:
    tokens = kit.login_tokens(school, scope=SCOPE)
    assert active(kit, resource_server, tokens["access_token"])
    consents = admin.get("/admin/api/consents", query_string={"client_id": "school"}).get_json()
    (record,) = consents["consents"]
    assert record["scopes"] == SCOPE.split()
    assert len(record["subject"]) == 32
    revoked = admin.post(f"/admin/api/consents/{record['consent_id']}/revoke")
    assert revoked.get_json()["grants_revoked"] == 1
    assert not active(kit, resource_server, tokens["access_token"])
    assert not active(kit, school, tokens["refresh_token"])
    kit.assert_json_error(kit.refresh(school, tokens["refresh_token"]), "invalid_grant")
    assert kit.userinfo(tokens["access_token"]).status_code == 401
    (event,) = admin.audit_events("consent.revoked")
    assert event.fields["actor"] == admin.digest
    assert event.fields["subject"] == record["subject"]
    # Search by subject digest, revoked records included on request.
    found = admin.get(
        "/admin/api/consents",
        query_string={"subject": record["subject"], "include_revoked": "1"},
    ).get_json()["consents"]
    assert [c["revoked_reason"] for c in found] == ["admin"]
    assert admin.post(f"/admin/api/consents/{record['consent_id']}/revoke").status_code == 404
    # Subject ids never go into URLs: the search takes digests only.
    assert admin.get("/admin/api/consents", query_string={"subject": "abc"}).status_code == 400


def test_the_person_revokes_on_the_account_page(
    kit: OAuthKit, school: RegisteredClient, resource_server: RegisteredClient
) -> None:
    tokens = kit.login_tokens(school, scope=SCOPE)
    page = kit.client.get("/account").get_data(as_text=True)
    token = hidden_fields(page)["csrf_token"]
    response = kit.client.post(
        "/account/consents/revoke", data={"csrf_token": token, "client_id": "school"}
    )
    assert response.status_code == 303
    assert not active(kit, resource_server, tokens["access_token"])
    kit.assert_json_error(kit.refresh(school, tokens["refresh_token"]), "invalid_grant")


def test_disabling_a_client(
    kit: OAuthKit, school: RegisteredClient, resource_server: RegisteredClient, admin: AdminActions
) -> None:
    tokens = kit.login_tokens(school, scope=SCOPE)
    disabled = admin.post("/admin/api/clients/school/disable").get_json()
    assert disabled["grants_revoked"] == 1
    assert not active(kit, resource_server, tokens["access_token"])
    kit.assert_json_error(kit.refresh(school, tokens["refresh_token"]), "invalid_client", 401)
    events = [e.event for e in admin.audit_events()]
    assert "client.disabled" in events
    assert "client.grants_revoked" in events
    # Enabling again does not revive the revoked grant.
    admin.post("/admin/api/clients/school/enable")
    kit.assert_json_error(kit.refresh(school, tokens["refresh_token"]), "invalid_grant")


def test_removing_a_scope_ends_only_grants_that_carry_it(
    kit: OAuthKit, school: RegisteredClient, resource_server: RegisteredClient, admin: AdminActions
) -> None:
    with_diary = kit.login_tokens(school, scope=SCOPE)
    without = kit.login_tokens(school, scope="openid profile offline_access", prompt="consent")
    changed = admin.post(
        "/admin/api/clients/school",
        json={"scopes": ["openid", "profile", "email", "offline_access"]},
    ).get_json()
    assert changed["grants_revoked"] == 1
    assert not active(kit, resource_server, with_diary["access_token"])
    kit.assert_json_error(kit.refresh(school, with_diary["refresh_token"]), "invalid_grant")
    assert active(kit, resource_server, without["access_token"])
    assert kit.refresh(school, without["refresh_token"]).status_code == 200


def test_jwt_access_token_lifetime_is_the_offline_bound(
    kit: OAuthKit, school: RegisteredClient, services: Any
) -> None:
    tokens = kit.login_tokens(school, scope=SCOPE)
    claims = unverified_claims(tokens["access_token"])
    assert claims["exp"] - claims["iat"] == services.config.oauth.access_token_ttl_seconds
    assert "gid" in claims  # introspection and userinfo check the grant behind it


def test_introspection_consults_the_grant_not_only_the_marker(
    kit: OAuthKit, school: RegisteredClient, resource_server: RegisteredClient, admin: AdminActions
) -> None:
    """The ephemeral ``revoked_grant`` marker may be lost (a Redis restart): the durable
    grant still answers."""
    from gateway.oauth.records import NS_REVOKED_GRANT

    tokens = kit.login_tokens(school, scope=SCOPE)
    grant_id = unverified_claims(tokens["access_token"])["gid"]
    (record,) = admin.get("/admin/api/consents").get_json()["consents"]
    admin.post(f"/admin/api/consents/{record['consent_id']}/revoke")
    assert kit.services.ephemeral.delete(NS_REVOKED_GRANT, grant_id)
    assert not active(kit, resource_server, tokens["access_token"])
