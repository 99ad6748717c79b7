"""Refresh tokens: SECURITY.md T36–T40 (rotation, reuse detection, concurrency, client and
scope binding, idle and absolute expiry), ID tokens on refresh."""

from __future__ import annotations

from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient
from tests.helpers.oauth import race

DAY = 86400


def test_rotation(kit: OAuthKit, school: RegisteredClient) -> None:
    first = kit.login_tokens(school)
    response = kit.refresh(school, first["refresh_token"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    second = response.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert kit.userinfo(second["access_token"]).status_code == 200


def test_reuse_revokes_the_family(kit: OAuthKit, school: RegisteredClient) -> None:
    first = kit.login_tokens(school)
    second = kit.refresh(school, first["refresh_token"]).get_json()
    kit.assert_json_error(kit.refresh(school, first["refresh_token"]), "invalid_grant")
    kit.assert_json_error(kit.refresh(school, second["refresh_token"]), "invalid_grant")
    for access in (first["access_token"], second["access_token"]):
        assert kit.introspect(school, access).get_json() == {"active": False}
        assert kit.userinfo(access).status_code == 401
    with kit.services.uow() as uow:
        reasons = [e.fields.get("reason") for e in uow.audit.iter_all()]
    assert "refresh_reuse" in reasons


def test_refresh_token_of_another_client_is_refused_and_left_alone(
    kit: OAuthKit, school: RegisteredClient, other: RegisteredClient
) -> None:
    tokens = kit.login_tokens(school)
    kit.assert_json_error(kit.refresh(other, tokens["refresh_token"]), "invalid_grant")
    assert kit.refresh(school, tokens["refresh_token"]).status_code == 200


def test_refresh_requires_client_authentication(kit: OAuthKit, school: RegisteredClient) -> None:
    tokens = kit.login_tokens(school)
    response = kit.client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "school",
        },
    )
    kit.assert_json_error(response, "invalid_client", 401)


def test_wider_scope_is_refused_without_burning_the_token(
    kit: OAuthKit, school: RegisteredClient
) -> None:
    tokens = kit.login_tokens(school)
    response = kit.refresh(school, tokens["refresh_token"], scope="openid profile email")
    kit.assert_json_error(response, "invalid_scope")
    assert kit.refresh(school, tokens["refresh_token"]).status_code == 200


def test_narrower_scope_narrows_the_access_token_only(
    kit: OAuthKit, school: RegisteredClient
) -> None:
    tokens = kit.login_tokens(school)
    narrowed = kit.refresh(school, tokens["refresh_token"], scope="openid").get_json()
    assert narrowed["scope"] == "openid"
    assert kit.verify(narrowed["access_token"])[1]["scope"] == "openid"
    again = kit.refresh(school, narrowed["refresh_token"]).get_json()
    assert again["scope"] == "openid profile"


def test_scope_removed_from_the_client_stops_refresh(
    kit: OAuthKit, school: RegisteredClient
) -> None:
    """T41b: the grant holds a scope the client may no longer have."""
    tokens = kit.login_tokens(school)
    kit.update(school, scopes=("openid", "email"))
    kit.assert_json_error(kit.refresh(school, tokens["refresh_token"]), "invalid_grant")


def test_id_token_on_refresh(kit: OAuthKit, school: RegisteredClient) -> None:
    tokens = kit.login_tokens(school)
    _, original = kit.verify(tokens["id_token"])
    kit.services.clock.advance(120)
    refreshed = kit.refresh(school, tokens["refresh_token"]).get_json()
    _, claims = kit.verify(refreshed["id_token"])
    assert claims["sub"] == original["sub"]
    assert claims["auth_time"] == original["auth_time"]
    assert claims["iat"] > original["iat"]
    assert "nonce" not in claims


def test_idle_expiry(kit: OAuthKit, school: RegisteredClient) -> None:
    tokens = kit.login_tokens(school)
    kit.services.clock.advance(kit.services.config.oauth.refresh_idle_seconds + 1)
    kit.assert_json_error(kit.refresh(school, tokens["refresh_token"]), "invalid_grant")


def test_absolute_expiry_despite_regular_use(kit: OAuthKit, school: RegisteredClient) -> None:
    settings = kit.services.config.oauth
    refresh = kit.login_tokens(school)["refresh_token"]
    step = settings.refresh_idle_seconds - DAY
    elapsed = 0
    while elapsed + step < settings.refresh_absolute_seconds:
        kit.services.clock.advance(step)
        elapsed += step
        response = kit.refresh(school, refresh)
        assert response.status_code == 200, elapsed
        refresh = response.get_json()["refresh_token"]
    kit.services.clock.advance(step)
    kit.assert_json_error(kit.refresh(school, refresh), "invalid_grant")


def test_no_refresh_token_without_the_grant_type(kit: OAuthKit) -> None:
    rc = kit.register("norefresh", grant_types=("authorization_code",))
    assert "refresh_token" not in kit.login_tokens(rc)


def test_garbage_refresh_token(kit: OAuthKit, school: RegisteredClient) -> None:
    kit.assert_json_error(kit.refresh(school, "garbage"), "invalid_grant")
    kit.assert_json_error(kit.refresh(school, "x" * 5000), "invalid_grant")


def test_concurrent_refresh_never_leaves_two_live_chains(race_kit: OAuthKit) -> None:
    """T38 without a grace window: at most one success; the reuse then revokes the family,
    so no chain stays alive at all."""
    kit = race_kit
    rc = kit.register("school")
    app = kit.client.application
    for _ in range(3):
        tokens = kit.login_tokens(rc)
        data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        results = race(app, 20, lambda c, data=data: c.post("/token", data=data, headers=rc.auth()))
        statuses = [getattr(r, "status_code", r) for r in results]
        assert statuses.count(200) <= 1, statuses
        assert statuses.count(200) + statuses.count(400) == 20, statuses
        for response in results:
            if response.status_code == 200:
                new = response.get_json()["refresh_token"]
                kit.assert_json_error(kit.refresh(rc, new), "invalid_grant")
            else:
                assert response.get_json()["error"] == "invalid_grant"
