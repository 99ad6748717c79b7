"""SSO sessions over HTTP: reuse across clients, new sid per login, timeouts (T61)."""

from __future__ import annotations

from typing import Any

from gateway.core.clock import FixedClock
from tests.helpers.journey import JourneyActions


def session_cookie(actions: JourneyActions) -> str | None:
    cookie = actions.client.get_cookie("vhod")
    return None if cookie is None else cookie.value


def current_session(actions: JourneyActions) -> Any:
    return actions.services.sso_sessions.current(session_cookie(actions))


def test_second_client_without_a_new_login(actions: JourneyActions) -> None:
    first = actions.login_and_consent(client_id="school")
    assert "code" in actions.redirect_params(first)
    sid = current_session(actions).sid
    page = actions.follow(actions.authorize(client_id="meals"))
    assert page.request.path.endswith("/consent")  # straight to consent: no upstream
    second = actions.give_consent(page)
    assert "code" in actions.redirect_params(second)
    session = current_session(actions)
    assert session.sid == sid
    assert session.clients == ("school", "meals")


def test_returning_to_a_consented_client_is_silent(actions: JourneyActions) -> None:
    actions.login_and_consent(client_id="school")
    response = actions.follow(actions.authorize(client_id="school"))
    assert "code" in actions.redirect_params(response)


def test_new_session_id_after_login(actions: JourneyActions) -> None:
    """T61: a pre-login cookie is not adopted; every login makes a new one."""
    actions.client.set_cookie("vhod", "attacker-chosen-session-value-0123456789abc")
    actions.login_and_consent()
    first_cookie = session_cookie(actions)
    assert first_cookie != "attacker-chosen-session-value-0123456789abc"
    first_sid = current_session(actions).sid
    actions.login_via_fake(client_id="school", prompt="login")
    assert session_cookie(actions) != first_cookie
    assert current_session(actions).sid != first_sid
    assert actions.services.sso_sessions.current(first_cookie) is None


def test_idle_timeout_forces_a_new_login(actions: JourneyActions, clock: FixedClock) -> None:
    actions.login_and_consent()
    clock.advance(31 * 60)
    response = actions.follow(actions.authorize(client_id="school"))
    assert response.request.path == "/login/fake"


def test_absolute_timeout_forces_a_new_login(actions: JourneyActions, clock: FixedClock) -> None:
    actions.login_and_consent()
    for _ in range(12 * 3):  # busy for 12 hours, never idle
        clock.advance(20 * 60)
        current_session(actions)
    clock.advance(1)
    response = actions.follow(actions.authorize(client_id="school"))
    assert response.request.path == "/login/fake"


def test_prompt_none_after_timeout_is_login_required(
    actions: JourneyActions, clock: FixedClock
) -> None:
    actions.login_and_consent()
    clock.advance(31 * 60)
    params = actions.redirect_params(actions.authorize(client_id="school", prompt="none"))
    assert params["error"] == "login_required"
