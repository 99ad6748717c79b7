"""T84: changing factors needs a fresh sign-in (with the existing factor once there is
one); every change is audited and announced; recovery codes are shown once and a login
with one says how many remain; the preferred factor is offered first."""

from __future__ import annotations

from typing import Any

from tests.features.factors_account.conftest import FACTORS
from tests.features.factors_account.conftest import AccountFactors
from tests.features.factors_account.conftest import factor_kinds
from tests.helpers.journey import JourneyActions
from tests.helpers.journey import hidden_fields

MFA = "urn:vhod:acr:esia-mfa"


def _mfa_factor_page(actions: JourneyActions) -> Any:
    """A login to the school asking for esia-mfa, in the browser's SSO session."""
    page = actions.follow(actions.authorize(client_id="school", acr_values=MFA))
    assert page.request.path.endswith("/factor"), page.request.path
    return page


def _finish(actions: JourneyActions, answered: Any) -> dict[str, str]:
    if answered.status_code == 200 and answered.request.path.endswith("/consent"):
        answered = actions.give_consent(answered)
    return actions.redirect_params(answered)


def test_a_stale_sign_in_must_sign_in_again_before_a_change(
    factors: AccountFactors, services: Any
) -> None:
    factors.sign_in()
    services.clock.advance(services.config.session.fresh_login_seconds + 1)
    page = factors.client.get(FACTORS)
    assert "снова войти" in page.get_data(as_text=True)
    response = factors.post("/totp")
    assert response.status_code == 303
    assert "/login/fake" in response.headers["Location"]
    assert factors.actions.login_via_fake(response=response).request.path == FACTORS
    assert factors.post("/totp").status_code == 200  # fresh now: the enrolment page


def test_with_a_factor_a_change_needs_that_factor(factors: AccountFactors, services: Any) -> None:
    factors.sign_in()
    secret = factors.enrol_totp()
    (totp,) = services.factors.enrolled(factors.subject_id())
    response = factors.post("/remove", credential_id=totp.credential_id)
    assert response.status_code == 303
    assert factors.enrolled_kinds() == ["totp"]  # nothing changed yet
    assert factors.step_up_with_totp(response, secret).request.path == FACTORS
    removed = factors.post("/remove", credential_id=totp.credential_id)
    assert removed.headers["Location"] == f"{FACTORS}?done=factor_removed"
    assert factors.enrolled_kinds() == []
    (event,) = factors.audit("factor.removed")
    assert event["factor"] == "totp"
    assert event["subject"] != factors.subject_id()  # a digest, never the id
    assert "отключён способ входа" in factors.outbox("email")[0].text


def test_someone_elses_factor_cannot_be_removed(factors: AccountFactors) -> None:
    factors.sign_in()
    response = factors.post("/remove", credential_id="not-mine")
    assert response.headers["Location"] == f"{FACTORS}?done=remove_failed"
    assert not factors.audit("factor.removed")


def test_forms_need_the_csrf_token(factors: AccountFactors) -> None:
    factors.sign_in()
    for path in ("/totp", "/push", "/recovery", "/remove", "/preferred"):
        assert factors.client.post(FACTORS + path).status_code == 403
    assert factors.enrolled_kinds() == []


def test_recovery_codes_shown_once_and_a_login_with_one(
    factors: AccountFactors, actions: JourneyActions, services: Any
) -> None:
    factors.sign_in()
    codes = factors.recovery_codes()
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert factors.audit("factor.recovery_regenerated")[0]["count"] == 10
    assert "резервные коды" in factors.outbox("email")[0].text
    listing = factors.client.get(FACTORS).get_data(as_text=True)
    assert codes[0] not in listing
    assert "осталось кодов: 10" in listing

    page = _mfa_factor_page(actions)
    sent = actions.pick_factor(page, "recovery")
    params = _finish(actions, actions.follow(actions.answer_factor(sent, codes[3])))
    assert "code" in params
    (used,) = factors.audit("factor.recovery_code_used")
    assert used["remaining"] == 9
    assert "осталось кодов: 9" in factors.outbox("email")[0].text
    assert "осталось кодов: 9" in factors.client.get(FACTORS).get_data(as_text=True)


def test_regenerating_replaces_the_old_codes(
    factors: AccountFactors, actions: JourneyActions
) -> None:
    factors.sign_in()
    old = factors.recovery_codes()
    # Recovery codes are a factor: the next change asks for one.
    page = actions.follow(factors.post("/recovery"))
    assert page.request.path.endswith("/factor")
    sent = actions.pick_factor(page, "recovery")
    assert actions.follow(actions.answer_factor(sent, old[0])).request.path == FACTORS
    new = factors.recovery_codes()
    assert not set(new) & set(old)
    # The session passed a factor already: sign in afresh to meet the factor page again.
    page = actions.login_via_fake(client_id="school", acr_values=MFA, prompt="login")
    assert page.request.path.endswith("/factor")
    sent = actions.pick_factor(page, "recovery")
    assert actions.answer_factor(sent, old[1]).status_code == 400
    assert len(factors.audit("factor.recovery_regenerated")) == 2


def test_preferred_factor_is_offered_first(
    factors: AccountFactors, actions: JourneyActions
) -> None:
    factors.sign_in()
    first = factor_kinds(_mfa_factor_page(actions))
    assert first[0] != "email"
    done = factors.post("/preferred", kind="email")
    assert done.headers["Location"] == f"{FACTORS}?done=preferred_saved"
    assert factors.audit("factor.preferred")[-1]["factor"] == "email"
    assert 'value="email" selected' in factors.client.get(FACTORS).get_data(as_text=True)
    assert factor_kinds(_mfa_factor_page(actions))[0] == "email"
    # An unknown kind means the default order again.
    factors.post("/preferred", kind="nonsense")
    assert factor_kinds(_mfa_factor_page(actions)) == first


def test_account_home_links_to_the_factors(factors: AccountFactors) -> None:
    factors.sign_in()
    text = factors.client.get("/account").get_data(as_text=True)
    assert f'href="{FACTORS}"' in text
    english = factors.client.get(FACTORS + "?lang=en").get_data(as_text=True)
    assert "Ways to confirm your sign-in" in english
    assert hidden_fields(english)["csrf_token"]
