"""``steps.denial``: a deny explained to the person on a page, or sent to the client."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gateway.core.errors import JourneyRejected
from gateway.journey.service import JourneyService
from gateway.journey.service import StepKind
from gateway.journey.state import Journey
from gateway.journey.state import JourneyState
from policies.checks import Action
from policies.checks import Decision
from providers.upstream.fake import FakeUpstream
from tests.unit.journey.conftest import Browser
from tests.unit.journey.conftest import audit_events
from tests.unit.journey.conftest import login
from tests.unit.journey.conftest import request_for
from tests.unit.journey.conftest import session_of


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


# ---------------------------------------------------------------- DenialPage itself


def _journey(journeys: JourneyService, browser: Browser, **kw: Any) -> Journey:
    journey = journeys.steps.records.start(browser.binding, request=request_for(**kw))
    return replace(journey, subject_id="subj-1")


def test_a_person_page_keeps_the_failed_journey_for_the_page(
    journeys: JourneyService, browser: Browser, services: Any
) -> None:
    denial = journeys.steps.denial
    journey = _journey(journeys, browser)
    decision = Decision(action=Action.DENY, reason="account_not_confirmed")
    step = denial.enter(journey, decision, prompt_none=False)
    assert step.kind is StepKind.PAGE
    stored = journeys.steps.records.load(journey.jid, browser.binding)
    assert stored.state is JourneyState.FAILED
    assert denial.reason(journey.jid, browser.binding) == "account_not_confirmed"
    (event,) = [e for e in audit_events(services) if e.event == "journey.failed"]
    assert event.fields["reason"] == "account_not_confirmed"
    assert event.fields["journey"] == journey.jid


def test_under_prompt_none_the_client_hears_it_at_once(
    journeys: JourneyService, browser: Browser
) -> None:
    journey = _journey(journeys, browser, prompt=("none",))
    decision = Decision(action=Action.DENY, reason="account_not_confirmed")
    step = journeys.steps.denial.enter(journey, decision, prompt_none=True)
    assert step.kind is StepKind.ERROR
    assert step.error is not None
    assert step.error.error == "access_denied"
    with pytest.raises(JourneyRejected):
        journeys.steps.records.load(journey.jid, browser.binding)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("invalid_scope", "invalid_scope"),
        ("login_required", "login_required"),
        (None, "access_denied"),
        ("unheard_of", "access_denied"),
    ],
)
def test_the_checks_error_goes_to_the_client(
    journeys: JourneyService, browser: Browser, code: str | None, error: str
) -> None:
    decision = Decision(action=Action.DENY, reason="some_check", error=code)
    step = journeys.steps.denial.enter(_journey(journeys, browser), decision, prompt_none=False)
    assert step.kind is StepKind.ERROR
    assert step.error is not None
    assert step.error.error == error
    assert step.error.debug == "some_check"


def test_the_page_forms_only_on_a_failed_journey(
    journeys: JourneyService, browser: Browser
) -> None:
    journey = journeys.steps.records.save(_journey(journeys, browser))
    with pytest.raises(JourneyRejected) as info:
        journeys.steps.denial.token(journey.jid, browser.binding)
    assert info.value.reason == "step_out_of_order"
    with pytest.raises(JourneyRejected):
        journeys.steps.denial.abort(journey.jid, browser.binding, "token")


def test_leaving_the_page_ends_the_journey(journeys: JourneyService, browser: Browser) -> None:
    denial = journeys.steps.denial
    journey = _journey(journeys, browser)
    denial.enter(journey, Decision(action=Action.DENY, reason="child_account_adult"), False)
    step = denial.abort(journey.jid, browser.binding, denial.token(journey.jid, browser.binding))
    assert step.kind is StepKind.ERROR
    assert step.reason == "child_account_adult"
    with pytest.raises(JourneyRejected) as info:
        denial.reason(journey.jid, browser.binding)
    assert info.value.reason == "journey_unknown"
