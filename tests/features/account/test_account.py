"""vhod's account page: sign-in through the journey, consents, revocation, T13."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.helpers.journey import JourneyActions
from tests.helpers.journey import hidden_fields


def sign_in_to_account(actions: JourneyActions, persona: str = "parent") -> Any:
    start = actions.client.get("/account")
    assert start.status_code == 302
    return actions.login_via_fake(persona, response=start)


def test_account_sign_in_goes_through_the_journey(actions: JourneyActions) -> None:
    page = sign_in_to_account(actions)
    assert page.status_code == 200
    assert page.request.path == "/account"
    text = page.get_data(as_text=True)
    assert "Анна Сергеевна Тестова" in text
    assert 'href="/logout"' in text
    assert page.headers["Cache-Control"] == "no-store"


def test_unconfirmed_account_cannot_sign_in(actions: JourneyActions) -> None:
    page = sign_in_to_account(actions, "simplified")
    assert page.status_code == 403
    assert actions.client.get("/account").status_code == 302


def test_account_lists_and_revokes_consents(actions: JourneyActions, services: Any) -> None:
    actions.login_and_consent(client_id="school")
    actions.login_and_consent(client_id="meals")
    page = actions.client.get("/account")
    text = page.get_data(as_text=True)
    assert "Школа school" in text
    assert "Школа meals" in text
    token = hidden_fields(text)["csrf_token"]
    response = actions.client.post(
        "/account/consents/revoke", data={"csrf_token": token, "client_id": "school"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    text = actions.client.get("/account").get_data(as_text=True)
    assert "Школа school" not in text
    assert "Школа meals" in text
    with services.uow() as uow:
        events = [e for e in uow.audit.iter_all() if e.event == "consent.revoked"]
    assert [e.fields["client_id"] for e in events] == ["school"]
    # The next login to the school asks for consent again.
    page = actions.follow(actions.authorize(client_id="school"))
    assert page.request.path.endswith("/consent")


def test_revoke_needs_csrf(actions: JourneyActions) -> None:
    actions.login_and_consent(client_id="school")
    response = actions.client.post("/account/consents/revoke", data={"client_id": "school"})
    assert response.status_code == 403
    assert "Школа school" in actions.client.get("/account").get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "http:/evil.example",
        "/account/../evil",
        "javascript:alert(1)",
    ],
)
def test_no_open_redirect(actions: JourneyActions, target: str) -> None:
    start = actions.client.get("/account/login", query_string={"next": target})
    response = actions.login_via_fake(response=start)
    assert response.status_code == 200  # no redirect left the gateway
    assert response.request.path == "/account"


def test_allow_listed_return_path(actions: JourneyActions) -> None:
    start = actions.client.get("/account/login", query_string={"next": "/account"})
    response = actions.login_via_fake(response=start)
    assert response.request.path == "/account"


def test_revoking_consent_stops_the_clients_tokens(actions: JourneyActions) -> None:
    """T97: after the person revokes consent, the client's tokens stop working."""
    actions.register_client(
        "diary",
        scopes=("openid", "profile", "offline_access"),
        secret="diary-secret-0123456789",
        grant_types=("authorization_code", "refresh_token"),
    )
    response = actions.login_and_consent(client_id="diary", scope="openid profile offline_access")
    tokens = actions.exchange_code(response, "diary-secret-0123456789")
    assert tokens.status_code == 200, tokens.get_json()
    body = tokens.get_json()
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert actions.client.get("/userinfo", headers=bearer).status_code == 200
    token = hidden_fields(actions.client.get("/account").get_data(as_text=True))["csrf_token"]
    revoked = actions.client.post(
        "/account/consents/revoke", data={"csrf_token": token, "client_id": "diary"}
    )
    assert revoked.status_code == 303
    assert actions.client.get("/userinfo", headers=bearer).status_code == 401
    assert "refresh_token" in body
    basic = base64.b64encode(b"diary:diary-secret-0123456789").decode()
    refreshed = actions.client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert refreshed.status_code == 400
    assert refreshed.get_json()["error"] == "invalid_grant"
