"""The consent page: remembered, denied (T11), CSRF (T68), 303 (T12)."""

from __future__ import annotations

from typing import Any

from tests.helpers.journey import JourneyActions
from tests.helpers.journey import hidden_fields


def consents(services: Any) -> list[Any]:
    """The ``consent.granted`` audit events."""
    with services.uow() as uow:
        return [e for e in uow.audit.iter_all() if e.event == "consent.granted"]


def test_consent_page_lists_client_and_scopes(actions: JourneyActions) -> None:
    page = actions.login_via_fake(scope="openid profile email")
    text = page.get_data(as_text=True)
    assert "Школа school" in text
    assert "Фамилия, имя, отчество и дата рождения" in text
    assert "Адрес электронной почты" in text
    english = actions.client.get(f"{page.request.path}?lang=en")
    assert "E-mail address" in english.get_data(as_text=True)


def test_consent_is_remembered_and_audited(actions: JourneyActions, services: Any) -> None:
    actions.login_and_consent()
    granted = consents(services)
    assert len(granted) == 1
    assert granted[0].fields["client_id"] == "school"
    assert granted[0].fields["scopes"] == ["openid", "profile"]
    again = actions.follow(actions.authorize())
    assert "code" in actions.redirect_params(again)  # no consent page this time


def test_deny_is_access_denied_and_stores_nothing(actions: JourneyActions, services: Any) -> None:
    page = actions.login_via_fake()
    response = actions.give_consent(page, approve=False)
    assert response.status_code == 303
    params = actions.redirect_params(response)
    assert params["error"] == "access_denied"
    assert params["state"] == actions.last_request["state"]
    assert params["iss"] == services.config.server.issuer
    assert "code" not in params
    assert consents(services) == []
    assert actions.client.get_cookie("vhod") is None  # no session either


def test_post_answers_303_never_307(actions: JourneyActions) -> None:
    page = actions.login_via_fake()
    assert actions.give_consent(page).status_code == 303


def test_csrf_missing_token(actions: JourneyActions, services: Any) -> None:
    page = actions.login_via_fake()
    fields = hidden_fields(page.get_data(as_text=True))
    response = actions.client.post(
        page.request.path, data={"step": fields["step"], "decision": "approve"}
    )
    assert response.status_code == 403
    assert consents(services) == []


def test_csrf_token_of_another_browser(actions: JourneyActions, app: Any, services: Any) -> None:
    other = JourneyActions(app.test_client(), services)
    other_page = other.follow(other.authorize())
    other_token = hidden_fields(other_page.get_data(as_text=True))["csrf_token"]
    page = actions.login_via_fake()
    fields = hidden_fields(page.get_data(as_text=True))
    response = actions.client.post(
        page.request.path,
        data={"csrf_token": other_token, "step": fields["step"], "decision": "approve"},
    )
    assert response.status_code == 403
    assert consents(services) == []


def test_csrf_cross_site_origin(actions: JourneyActions, services: Any) -> None:
    page = actions.login_via_fake()
    fields = hidden_fields(page.get_data(as_text=True))
    data = {"csrf_token": fields["csrf_token"], "step": fields["step"], "decision": "approve"}
    evil = actions.client.post(
        page.request.path, data=data, headers={"Origin": "https://evil.example"}
    )
    assert evil.status_code == 403
    cross = actions.client.post(
        page.request.path, data=data, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403
    assert consents(services) == []
    # The honest form still works afterwards: nothing was used up.
    assert actions.client.post(page.request.path, data=data).status_code == 303


def test_consent_form_cannot_be_replayed(actions: JourneyActions) -> None:
    page = actions.login_via_fake()
    fields = hidden_fields(page.get_data(as_text=True))
    data = {"csrf_token": fields["csrf_token"], "step": fields["step"], "decision": "approve"}
    assert actions.client.post(page.request.path, data=data).status_code == 303
    replay = actions.client.post(page.request.path, data=data)
    assert replay.status_code == 400
    assert "Location" not in replay.headers
