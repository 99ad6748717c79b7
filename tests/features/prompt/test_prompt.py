"""prompt, max_age and acr_values decided against the SSO session (T57–T60)."""

from __future__ import annotations

from gateway.config.schema import ACR_ESIA
from gateway.config.schema import ACR_ESIA_MFA
from gateway.core.clock import FixedClock
from tests.helpers.journey import JourneyActions


def test_prompt_none_without_session_renders_nothing(actions: JourneyActions) -> None:
    response = actions.authorize(prompt="none")
    params = actions.redirect_params(response)
    assert params["error"] == "login_required"
    assert params["state"] == actions.last_request["state"]
    assert "iss" in params


def test_prompt_none_with_session(actions: JourneyActions) -> None:
    actions.login_and_consent()
    response = actions.follow(actions.authorize(prompt="none"))
    assert "code" in actions.redirect_params(response)


def test_prompt_none_without_consent(actions: JourneyActions) -> None:
    actions.login_and_consent(client_id="school")
    params = actions.redirect_params(actions.authorize(client_id="meals", prompt="none"))
    assert params["error"] == "consent_required"


def test_prompt_login_goes_to_the_upstream_again(actions: JourneyActions) -> None:
    actions.login_and_consent()
    response = actions.follow(actions.authorize(prompt="login"))
    assert response.request.path == "/login/fake"


def test_prompt_consent_shows_the_page_even_when_remembered(actions: JourneyActions) -> None:
    actions.login_and_consent()
    page = actions.follow(actions.authorize(prompt="consent"))
    assert page.request.path.endswith("/consent")
    assert "code" in actions.redirect_params(actions.give_consent(page))


def test_max_age(actions: JourneyActions, clock: FixedClock) -> None:
    actions.login_and_consent()
    clock.advance(5 * 60)
    fresh_enough = actions.follow(actions.authorize(max_age="10000"))
    assert "code" in actions.redirect_params(fresh_enough)
    too_old = actions.follow(actions.authorize(max_age="60"))
    assert too_old.request.path == "/login/fake"
    params = actions.redirect_params(actions.authorize(max_age="60", prompt="none"))
    assert params["error"] == "login_required"


def test_acr_esia_is_met(actions: JourneyActions) -> None:
    response = actions.login_and_consent(acr_values=ACR_ESIA)
    assert "code" in actions.redirect_params(response)


def test_mfa_asks_for_a_factor_never_a_silent_downgrade(actions: JourneyActions) -> None:
    """T60, T83: acr_values=esia-mfa leads to the factor page, not to a code."""
    page = actions.login_via_fake(acr_values=ACR_ESIA_MFA)
    assert page.status_code == 200
    assert page.request.path.endswith("/factor")
    response = actions.pass_factor(page, "sms")
    if response.status_code == 200 and response.request.path.endswith("/consent"):
        response = actions.give_consent(response)
    assert "code" in actions.redirect_params(response)


def test_mfa_under_prompt_none(actions: JourneyActions) -> None:
    actions.login_and_consent()
    response = actions.authorize(acr_values=ACR_ESIA_MFA, prompt="none")
    assert actions.redirect_params(response)["error"] == "interaction_required"


def test_scope_needing_mfa_asks_for_a_factor(actions: JourneyActions) -> None:
    page = actions.login_via_fake(scope="openid payments")
    assert page.status_code == 200
    assert page.request.path.endswith("/factor")


def test_id_token_hint_of_another_person_under_prompt_none(actions: JourneyActions) -> None:
    """T58: never a silent login as someone else."""
    secret = "diary-secret-0123456789"
    actions.register_client("diary", secret=secret)
    first = actions.login_and_consent(client_id="diary")
    hint = actions.exchange_code(first, secret).get_json()["id_token"]
    same = actions.follow(actions.authorize(client_id="diary", prompt="none", id_token_hint=hint))
    assert "code" in actions.redirect_params(same)
    # Someone else signs in in this browser.
    actions.login_and_consent("other_parent", client_id="diary", prompt="login")
    other = actions.authorize(client_id="diary", prompt="none", id_token_hint=hint)
    assert actions.redirect_params(other)["error"] == "login_required"
