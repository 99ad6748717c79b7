"""JourneyService without HTTP: steps, binding, one-time steps, SSO, prompt, policy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.config.schema import ACR_ESIA
from gateway.config.schema import ACR_ESIA_MFA
from gateway.core.clock import FixedClock
from gateway.core.errors import JourneyRejected
from gateway.core.ids import new_uuid
from gateway.journey.service import Completion
from gateway.journey.service import JourneyService
from gateway.journey.service import Step
from gateway.journey.service import StepKind
from providers.upstream.fake import FakeUpstream
from tests.unit.journey.conftest import CLIENT_ID
from tests.unit.journey.conftest import OTHER_CLIENT_ID
from tests.unit.journey.conftest import Browser
from tests.unit.journey.conftest import login
from tests.unit.journey.conftest import request_for
from tests.unit.journey.conftest import upstream_state


@pytest.fixture
def browser() -> Browser:
    return Browser(binding="B" * 43)


@pytest.fixture
def other_browser() -> Browser:
    return Browser(binding="O" * 43)


def audit_events(services: Any) -> list[Any]:
    with services.uow() as uow:
        return list(uow.audit.iter_all())


def consent_and_finish(journeys: JourneyService, browser: Browser, step: Step) -> Completion:
    assert step.kind is StepKind.CONSENT, step
    prompt = journeys.consent_prompt(step.jid, browser.binding)
    step = journeys.record_consent(step.jid, browser.binding, prompt.step_token, approved=True)
    return finish(journeys, browser, step)


def finish(journeys: JourneyService, browser: Browser, step: Step) -> Completion:
    assert step.kind is StepKind.FINISH, step
    done = journeys.finish(step, browser.binding, browser.session_cookie)
    if done.session_cookie is not None:
        browser.session_cookie = done.session_cookie
    return done


def full_login(
    journeys: JourneyService,
    fake: FakeUpstream,
    browser: Browser,
    persona: str = "parent",
    **kw: Any,
) -> Completion:
    step = journeys.begin(request_for(**kw), session_of(journeys, browser), browser.binding)
    assert step.kind is StepKind.UPSTREAM
    step = login(journeys, fake, browser, step, persona)
    if step.kind is StepKind.CONSENT:
        return consent_and_finish(journeys, browser, step)
    return finish(journeys, browser, step)


def location(step: Step) -> str:
    assert step.kind is StepKind.UPSTREAM, step
    assert step.location is not None
    return step.location


def session_of(journeys: JourneyService, browser: Browser) -> Any:
    return journeys._sessions.current(browser.session_cookie)


# ---------------------------------------------------------------- the happy path


def test_first_login_consent_and_finish(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, services: Any
) -> None:
    step = journeys.begin(request_for(), None, browser.binding)
    assert step.kind is StepKind.UPSTREAM
    step = login(journeys, fake, browser, step)
    assert step.kind is StepKind.CONSENT
    prompt = journeys.consent_prompt(step.jid, browser.binding)
    assert prompt.client_id == CLIENT_ID
    assert prompt.scopes == ("openid", "profile")
    assert prompt.new_scopes == ("openid", "profile")
    step = journeys.record_consent(step.jid, browser.binding, prompt.step_token, approved=True)
    done = finish(journeys, browser, step)
    assert done.outcome is not None
    assert done.outcome.granted_scopes == ("openid", "profile")
    assert done.outcome.auth.acr == ACR_ESIA
    assert done.outcome.auth.amr == ("pwd",)
    assert done.outcome.auth.auth_time == int(services.clock.now())
    assert done.session_cookie is not None
    assert done.session is not None
    assert done.session.sid == done.outcome.sid
    assert done.session.clients == (CLIENT_ID,)  # a fresh session names its client
    mine = {"subject.created", "consent.granted", "journey.completed"}
    events = [e.event for e in audit_events(services) if e.event in mine]
    assert events == ["subject.created", "consent.granted", "journey.completed"]


def test_audit_fields_are_safe(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, services: Any
) -> None:
    full_login(journeys, fake, browser)
    text = json.dumps([e.fields for e in audit_events(services)], ensure_ascii=False)
    for pii in ("Тестова", "Анна", "fake-1000001", "parent@example.invalid", "1987"):
        assert pii not in text
    granted = next(e for e in audit_events(services) if e.event == "consent.granted")
    assert granted.fields["client_id"] == CLIENT_ID
    assert granted.fields["scopes"] == ["openid", "profile"]
    assert len(granted.fields["subject"]) == 32


def test_second_login_same_client_skips_consent(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    first = full_login(journeys, fake, browser)
    fresh = Browser(binding="C" * 43)
    step = journeys.begin(request_for(), None, fresh.binding)
    step = login(journeys, fake, fresh, step)
    assert step.kind is StepKind.FINISH
    done = finish(journeys, fresh, step)
    assert done.outcome is not None
    assert first.outcome is not None
    assert done.outcome.subject_id == first.outcome.subject_id


# ---------------------------------------------------------------- binding and one-time steps


def test_another_browser_cannot_resume(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, other_browser: Browser
) -> None:
    step = journeys.begin(request_for(), None, browser.binding)
    step = login(journeys, fake, browser, step)
    with pytest.raises(JourneyRejected) as info:
        journeys.consent_prompt(step.jid, other_browser.binding)
    assert info.value.reason == "binding_mismatch"
    with pytest.raises(JourneyRejected):
        journeys.finish(step, other_browser.binding, None)


def test_consent_step_token_is_single_use(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    step = login(journeys, fake, browser, journeys.begin(request_for(), None, browser.binding))
    prompt = journeys.consent_prompt(step.jid, browser.binding)
    with pytest.raises(JourneyRejected) as info:
        journeys.record_consent(step.jid, browser.binding, "forged-token", approved=True)
    assert info.value.reason == "step_unknown"
    done = journeys.record_consent(step.jid, browser.binding, prompt.step_token, approved=True)
    assert done.kind is StepKind.FINISH
    with pytest.raises(JourneyRejected):
        journeys.record_consent(step.jid, browser.binding, prompt.step_token, approved=True)


def test_finish_only_once_and_only_when_ready(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    step = login(journeys, fake, browser, journeys.begin(request_for(), None, browser.binding))
    assert step.kind is StepKind.CONSENT
    with pytest.raises(JourneyRejected) as info:  # T83: no skipping the consent step
        journeys.finish(step, browser.binding, None)
    assert info.value.reason == "not_ready"
    prompt = journeys.consent_prompt(step.jid, browser.binding)
    step = journeys.record_consent(step.jid, browser.binding, prompt.step_token, approved=True)
    journeys.finish(step, browser.binding, None)
    with pytest.raises(JourneyRejected):
        journeys.finish(step, browser.binding, None)


def test_journey_expires_by_ttl(
    journeys: JourneyService,
    fake: FakeUpstream,
    browser: Browser,
    services: Any,
    clock: FixedClock,
) -> None:
    step = journeys.begin(request_for(), None, browser.binding)
    state = upstream_state(location(step))
    params = {"code": fake.issue_code("parent", state), "state": state}
    clock.advance(services.config.session.journey_ttl_seconds + 1)
    with pytest.raises(JourneyRejected):
        journeys.complete_upstream("fake", params, browser.binding)


# ---------------------------------------------------------------- T90: upstream state


def test_callback_without_state(journeys: JourneyService, browser: Browser) -> None:
    with pytest.raises(JourneyRejected) as info:
        journeys.complete_upstream("fake", {"code": "x"}, browser.binding)
    assert info.value.reason == "state_missing"


def test_callback_with_unknown_state(journeys: JourneyService, browser: Browser) -> None:
    with pytest.raises(JourneyRejected) as info:
        journeys.complete_upstream("fake", {"code": "x", "state": new_uuid()}, browser.binding)
    assert info.value.reason == "state_unknown"


def test_callback_replayed(journeys: JourneyService, fake: FakeUpstream, browser: Browser) -> None:
    step = journeys.begin(request_for(), None, browser.binding)
    state = upstream_state(location(step))
    params = {"code": fake.issue_code("parent", state), "state": state}
    assert journeys.complete_upstream("fake", params, browser.binding).kind is StepKind.CONSENT
    with pytest.raises(JourneyRejected) as info:
        journeys.complete_upstream("fake", params, browser.binding)
    assert info.value.reason == "state_replayed"


def test_callback_in_another_browser(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, other_browser: Browser
) -> None:
    step = journeys.begin(request_for(), None, browser.binding)
    state = upstream_state(location(step))
    params = {"code": fake.issue_code("parent", state), "state": state}
    with pytest.raises(JourneyRejected) as info:
        journeys.complete_upstream("fake", params, other_browser.binding)
    assert info.value.reason == "binding_mismatch"


def test_code_for_another_state_is_refused(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    step = journeys.begin(request_for(), None, browser.binding)
    state = upstream_state(location(step))
    params = {"code": fake.issue_code("parent", new_uuid()), "state": state}
    result = journeys.complete_upstream("fake", params, browser.binding)
    assert result.kind is StepKind.ERROR
    assert result.error is not None
    assert result.error.error == "access_denied"


def test_upstream_cancel_is_access_denied(
    journeys: JourneyService, browser: Browser, services: Any
) -> None:
    step = journeys.begin(request_for(), None, browser.binding)
    state = upstream_state(location(step))
    result = journeys.complete_upstream(
        "fake", {"error": "access_denied", "state": state}, browser.binding
    )
    assert result.kind is StepKind.ERROR
    assert result.error is not None
    assert result.error.error == "access_denied"
    assert result.request == request_for()
    with services.uow() as uow:
        assert uow.audit.iter_all is not None
        assert not [e for e in uow.audit.iter_all() if e.event == "journey.completed"]


# ---------------------------------------------------------------- SSO and prompt


def test_sso_second_client_without_new_login(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, clock: FixedClock
) -> None:
    first = full_login(journeys, fake, browser)
    clock.advance(120)
    step = journeys.begin(
        request_for(OTHER_CLIENT_ID), session_of(journeys, browser), browser.binding
    )
    assert step.kind is StepKind.CONSENT  # no upstream step
    second = consent_and_finish(journeys, browser, step)
    assert first.outcome is not None
    assert second.outcome is not None
    assert second.session_cookie is None  # same session
    assert second.outcome.sid == first.outcome.sid
    assert second.outcome.auth.auth_time == first.outcome.auth.auth_time


def test_prompt_none_without_session(journeys: JourneyService, browser: Browser) -> None:
    step = journeys.begin(request_for(prompt=("none",)), None, browser.binding)
    assert step.kind is StepKind.ERROR
    assert step.error is not None
    assert step.error.error == "login_required"


def test_prompt_none_with_session_and_consent(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    first = full_login(journeys, fake, browser)
    step = journeys.begin(
        request_for(prompt=("none",)), session_of(journeys, browser), browser.binding
    )
    done = finish(journeys, browser, step)
    assert done.outcome is not None
    assert first.outcome is not None
    assert done.outcome.subject_id == first.outcome.subject_id
    assert done.outcome.auth.auth_time == first.outcome.auth.auth_time


def test_prompt_none_needs_consent(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    full_login(journeys, fake, browser)
    step = journeys.begin(
        request_for(OTHER_CLIENT_ID, prompt=("none",)),
        session_of(journeys, browser),
        browser.binding,
    )
    assert step.kind is StepKind.ERROR
    assert step.error is not None
    assert step.error.error == "consent_required"


def test_prompt_login_forces_upstream_and_new_session(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, clock: FixedClock
) -> None:
    first = full_login(journeys, fake, browser)
    assert first.outcome is not None
    journeys._sessions.add_client(first.outcome.sid, CLIENT_ID)  # as the OAuth side does
    old_cookie = browser.session_cookie
    clock.advance(300)
    step = journeys.begin(
        request_for(prompt=("login",)), session_of(journeys, browser), browser.binding
    )
    assert step.kind is StepKind.UPSTREAM
    done = finish(journeys, browser, login(journeys, fake, browser, step))
    assert done.outcome is not None
    assert first.outcome is not None
    assert done.outcome.auth.auth_time == first.outcome.auth.auth_time + 300
    assert done.outcome.sid != first.outcome.sid  # T61: a new session id after login
    assert journeys._sessions.current(old_cookie) is None  # the old one is dead
    # The clients of the ended session stay known, for back-channel logout.
    assert session_of(journeys, browser).clients == (CLIENT_ID,)


def test_prompt_consent_shows_consent_page_again(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    full_login(journeys, fake, browser)
    step = journeys.begin(
        request_for(prompt=("consent",)), session_of(journeys, browser), browser.binding
    )
    assert step.kind is StepKind.CONSENT
    assert consent_and_finish(journeys, browser, step).outcome is not None


def test_max_age(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, clock: FixedClock
) -> None:
    full_login(journeys, fake, browser)
    clock.advance(120)
    session = session_of(journeys, browser)
    assert journeys.begin(request_for(max_age=10_000), session, browser.binding).kind is (
        StepKind.FINISH
    )
    assert journeys.begin(request_for(max_age=60), session, browser.binding).kind is (
        StepKind.UPSTREAM
    )
    step = journeys.begin(request_for(max_age=60, prompt=("none",)), session, browser.binding)
    assert step.error is not None
    assert step.error.error == "login_required"


def test_id_token_hint_of_another_person(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    first = full_login(journeys, fake, browser)
    assert first.outcome is not None
    session = session_of(journeys, browser)
    same = request_for(prompt=("none",), id_token_hint_subject=first.outcome.subject_id)
    assert journeys.begin(same, session, browser.binding).kind is StepKind.FINISH
    other = request_for(prompt=("none",), id_token_hint_subject="someone-else")
    step = journeys.begin(other, session, browser.binding)
    assert step.error is not None
    assert step.error.error == "login_required"
    # Without prompt=none: a fresh login; signing in as yet another person is refused.
    step = journeys.begin(
        request_for(id_token_hint_subject="someone-else"), session, browser.binding
    )
    assert step.kind is StepKind.UPSTREAM
    result = login(journeys, fake, browser, step, "other_parent")
    assert result.kind is StepKind.ERROR
    assert result.reason == "hint_subject_mismatch"
    assert result.error is not None
    assert result.error.error == "login_required"


# ---------------------------------------------------------------- acr (T60)


def test_mfa_cannot_be_met_yet(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    step = journeys.begin(request_for(acr_values=(ACR_ESIA_MFA,)), None, browser.binding)
    result = login(journeys, fake, browser, step)
    assert result.kind is StepKind.ERROR
    assert result.reason == "acr_not_met"
    assert result.error is not None
    assert result.error.error == "access_denied"


def test_mfa_under_prompt_none_is_interaction_required(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    full_login(journeys, fake, browser)
    step = journeys.begin(
        request_for(acr_values=(ACR_ESIA_MFA,), prompt=("none",)),
        session_of(journeys, browser),
        browser.binding,
    )
    assert step.error is not None
    assert step.error.error == "interaction_required"


def test_scope_with_mfa_minimum_is_refused(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    step = journeys.begin(request_for(scopes=("openid", "payments")), None, browser.binding)
    result = login(journeys, fake, browser, step)
    assert result.reason == "acr_not_met"


# ---------------------------------------------------------------- accounts and consent


def test_unconfirmed_account_gets_a_page_then_access_denied(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    step = journeys.begin(request_for(), None, browser.binding)
    result = login(journeys, fake, browser, step, "standard")
    assert result.kind is StepKind.PAGE
    assert result.reason == "account_not_confirmed"
    assert journeys.failure_reason(result.jid, browser.binding) == "account_not_confirmed"
    token = journeys.page_token(result.jid, browser.binding)
    end = journeys.abort(result.jid, browser.binding, token)
    assert end.kind is StepKind.ERROR
    assert end.error is not None
    assert end.error.error == "access_denied"
    with pytest.raises(JourneyRejected):
        journeys.abort(result.jid, browser.binding, token)


@pytest.mark.parametrize("persona", ["teen", "other_parent"])
def test_accepted_personas(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, persona: str
) -> None:
    assert full_login(journeys, fake, browser, persona).outcome is not None


def test_child_under_14_needs_a_guardians_consent(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    """DESIGN.md: a pupil under 14 may sign in with a child account, but only the parent
    consents for them — with no guardian consent on record the login ends, no session."""
    step = journeys.begin(request_for(), None, browser.binding)
    step = login(journeys, fake, browser, step, "child")
    assert step.kind is StepKind.ERROR
    assert step.error is not None
    assert step.error.error == "access_denied"
    assert step.reason == "guardian_consent_missing"
    assert session_of(journeys, browser) is None


def test_consent_denied_stores_nothing(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, services: Any
) -> None:
    step = login(journeys, fake, browser, journeys.begin(request_for(), None, browser.binding))
    prompt = journeys.consent_prompt(step.jid, browser.binding)
    result = journeys.record_consent(step.jid, browser.binding, prompt.step_token, False)
    assert result.kind is StepKind.ERROR
    assert result.error is not None
    assert result.error.error == "access_denied"
    assert session_of(journeys, browser) is None
    with services.uow() as uow:
        assert [e.event for e in uow.audit.iter_all()][-2:] == [
            "consent.denied",
            "journey.failed",
        ]
    with pytest.raises(JourneyRejected):
        journeys.finish(step, browser.binding, None)


def test_consent_grows_with_new_scopes(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, services: Any
) -> None:
    first = full_login(journeys, fake, browser)
    assert first.outcome is not None
    step = journeys.begin(
        request_for(scopes=("openid", "email")), session_of(journeys, browser), browser.binding
    )
    assert step.kind is StepKind.CONSENT
    prompt = journeys.consent_prompt(step.jid, browser.binding)
    assert prompt.new_scopes == ("email",)
    consent_and_finish(journeys, browser, step)
    with services.uow() as uow:
        consent = uow.consents.active(first.outcome.subject_id, CLIENT_ID)
    assert consent is not None
    assert consent.scopes == ("openid", "profile", "email")


def test_account_journey(journeys: JourneyService, fake: FakeUpstream, browser: Browser) -> None:
    step = journeys.begin_account(browser.binding, "/account")
    assert step.kind is StepKind.UPSTREAM
    step = login(journeys, fake, browser, step)
    assert step.kind is StepKind.FINISH
    done = finish(journeys, browser, step)
    assert done.return_to == "/account"
    assert done.session_cookie is not None
    assert done.request is None
