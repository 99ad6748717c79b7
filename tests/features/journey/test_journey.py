"""The login journey over HTTP: authorize → fake upstream → consent → code."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from tests.helpers.journey import JourneyActions
from tests.helpers.journey import hidden_fields


def test_full_login_returns_a_code(actions: JourneyActions, services: Any) -> None:
    response = actions.login_and_consent()
    assert response.status_code == 303  # after the consent POST (T12)
    params = actions.redirect_params(response)
    assert response.headers["Location"].startswith("https://school.example/cb?")
    assert params["state"] == actions.last_request["state"]
    assert params["iss"] == services.config.server.issuer
    assert params["code"]


def test_interactive_pages_are_not_framable_nor_cached(actions: JourneyActions) -> None:
    page = actions.login_via_fake()
    for response in (page, actions.follow(actions.authorize(client_id="meals"))):
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_authorize_goes_straight_to_the_upstream_with_a_uuid_state(
    actions: JourneyActions,
) -> None:
    first = actions.authorize()
    assert first.status_code == 302
    location = urlsplit(first.headers["Location"])
    assert location.path == "/login/fake"
    state = parse_qs(location.query)["state"][0]
    assert len(state) == 36  # a UUID, as ESIA expects


def test_another_browser_cannot_resume_the_journey(
    actions: JourneyActions, app: Any, services: Any
) -> None:
    consent_page = actions.login_via_fake()
    assert consent_page.request.path.endswith("/consent")
    journey_path = consent_page.request.path.removesuffix("/consent")
    intruder = JourneyActions(app.test_client(), services)
    for path in (consent_page.request.path, f"{journey_path}/denied"):
        answer = intruder.client.get(path)
        assert answer.status_code == 400
        assert "Location" not in answer.headers


def test_callback_from_another_browser_is_rejected(
    actions: JourneyActions, app: Any, services: Any
) -> None:
    """T90: the victim's callback URL replayed in another browser."""
    page = actions.follow(actions.authorize())
    fields = hidden_fields(page.get_data(as_text=True))
    answer = actions.client.post(
        "/login/fake",
        data={"csrf_token": fields["csrf_token"], "state": fields["state"], "persona": "parent"},
    )
    callback = actions.local_location(answer)
    assert callback is not None
    intruder = app.test_client()
    stolen = intruder.get(callback)
    assert stolen.status_code == 400
    assert "Location" not in stolen.headers
    assert "vhod=" not in stolen.headers.get("Set-Cookie", "")
    # The state is used up: the real browser's callback no longer works either.
    assert actions.client.get(callback).status_code == 400


def test_callback_with_missing_or_unknown_state(actions: JourneyActions) -> None:
    for query in ("code=abc", "code=abc&state=9b2f4a54-7a3c-4f0e-8e21-123456789abc", ""):
        answer = actions.client.get(f"/login/callback/fake?{query}")
        assert answer.status_code == 400
        assert "Location" not in answer.headers


def test_replayed_callback_is_rejected(actions: JourneyActions) -> None:
    page = actions.follow(actions.authorize())
    fields = hidden_fields(page.get_data(as_text=True))
    answer = actions.client.post(
        "/login/fake",
        data={"csrf_token": fields["csrf_token"], "state": fields["state"], "persona": "parent"},
    )
    callback = actions.local_location(answer)
    assert callback is not None
    first = actions.client.get(callback)
    assert first.status_code == 302
    replay = actions.client.get(callback)
    assert replay.status_code == 400


def test_unconfirmed_account_sees_how_to_confirm(actions: JourneyActions) -> None:
    page = actions.login_via_fake("standard")
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert "МФЦ" in text
    fields = hidden_fields(text)
    back = actions.client.post(
        page.request.path.replace("/denied", "/abort"),
        data={"csrf_token": fields["csrf_token"], "step": fields["step"]},
    )
    assert back.status_code == 303
    params = actions.redirect_params(back)
    assert params["error"] == "access_denied"
    assert params["state"] == actions.last_request["state"]
    assert "code" not in params


def test_unconfirmed_account_page_in_english(actions: JourneyActions) -> None:
    page = actions.login_via_fake("simplified")
    english = actions.client.get(f"{page.request.path}?lang=en")
    assert "service centre" in english.get_data(as_text=True)


def test_no_personal_data_in_logs(actions: JourneyActions, caplog: Any) -> None:
    caplog.set_level("DEBUG")
    actions.login_and_consent()
    text = caplog.text + repr([r.__dict__ for r in caplog.records])
    for pii in ("Тестова", "Анна", "fake-1000001", "parent@example.invalid"):
        assert pii not in text


def test_userinfo_carries_no_personal_data_without_the_scope(actions: JourneyActions) -> None:
    """T98: names only with ``profile``; never SNILS or children's names."""
    actions.register_client("diary", secret="diary-secret-0123456789")
    bare = actions.login_and_consent(client_id="diary", scope="openid diary")
    tokens = actions.exchange_code(bare, "diary-secret-0123456789").get_json()
    info = actions.client.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).get_json()
    assert set(info) == {"sub"}
    full = actions.login_and_consent(client_id="diary", scope="openid profile diary")
    tokens = actions.exchange_code(full, "diary-secret-0123456789").get_json()
    info = actions.client.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).get_json()
    assert info["family_name"] == "Тестова"
    assert "email" not in info
    text = repr(info)
    assert "Миша" not in text
    assert "snils" not in text.lower()
