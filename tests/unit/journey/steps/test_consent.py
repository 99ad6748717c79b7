"""``steps.consent``: the consent page, its answer, and what is remembered (T11)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.core.errors import JourneyRejected
from gateway.journey.service import JourneyService
from gateway.journey.service import StepKind
from gateway.journey.state import JourneyState
from gateway.journey.steps.base import Answered
from gateway.journey.steps.consent import CONSENT_TEXT_VERSION
from gateway.journey.steps.consent import consent_version
from policies.checks import Action
from policies.checks import Decision
from providers.upstream.fake import FakeUpstream
from tests.unit.journey.conftest import CLIENT_ID
from tests.unit.journey.conftest import OTHER_CLIENT_ID
from tests.unit.journey.conftest import Browser
from tests.unit.journey.conftest import consent_and_finish
from tests.unit.journey.conftest import full_login
from tests.unit.journey.conftest import login
from tests.unit.journey.conftest import request_for
from tests.unit.journey.conftest import session_of


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


def test_prompt_consent_shows_consent_page_again(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    full_login(journeys, fake, browser)
    step = journeys.begin(
        request_for(prompt=("consent",)), session_of(journeys, browser), browser.binding
    )
    assert step.kind is StepKind.CONSENT
    assert consent_and_finish(journeys, browser, step).outcome is not None


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


# ---------------------------------------------------------------- ConsentStep itself

ASK = Decision(action=Action.REQUIRE_CONSENT, reason="consent_missing")


def test_the_consent_version_names_the_text_and_the_rules() -> None:
    assert consent_version(None) == CONSENT_TEXT_VERSION
    assert consent_version("3") == f"{CONSENT_TEXT_VERSION}+rules-3"


def test_enter_makes_the_journey_wait_for_consent(
    journeys: JourneyService, browser: Browser
) -> None:
    steps = journeys.steps
    journey = steps.records.start(browser.binding, request=request_for())
    step = steps.consent.enter(journey, ASK, prompt_none=False)
    assert step.kind is StepKind.CONSENT
    assert step.reason == "consent_missing"
    waiting = steps.records.load(journey.jid, browser.binding)
    assert waiting.state is JourneyState.CONSENT_PENDING
    # Asked again while already waiting there (no illegal self-transition):
    again = steps.consent.enter(waiting, ASK, prompt_none=False)
    assert again.kind is StepKind.CONSENT


def test_enter_under_prompt_none_is_consent_required(
    journeys: JourneyService, browser: Browser
) -> None:
    steps = journeys.steps
    journey = steps.records.start(browser.binding, request=request_for())
    step = steps.consent.enter(journey, ASK, prompt_none=True)
    assert step.kind is StepKind.ERROR
    assert step.error is not None
    assert step.error.error == "consent_required"
    assert step.reason == "consent_missing"


def test_the_page_is_shown_only_while_consent_is_pending(
    journeys: JourneyService, browser: Browser
) -> None:
    step = journeys.begin(request_for(), None, browser.binding)  # waiting for the upstream
    with pytest.raises(JourneyRejected) as info:
        journeys.steps.consent.prompt(step.jid, browser.binding)
    assert info.value.reason == "step_out_of_order"
    with pytest.raises(JourneyRejected) as info:
        journeys.steps.consent.record(step.jid, browser.binding, "token", approved=True)
    assert info.value.reason == "step_out_of_order"


def test_approval_goes_back_to_the_policy_and_is_remembered(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, services: Any
) -> None:
    step = login(journeys, fake, browser, journeys.begin(request_for(), None, browser.binding))
    prompt = journeys.steps.consent.prompt(step.jid, browser.binding)
    answered = journeys.steps.consent.record(step.jid, browser.binding, prompt.step_token, True)
    assert isinstance(answered, Answered)
    assert answered.journey.consent_given
    assert answered.journey.state is JourneyState.CONSENT_PENDING  # the policy moves it on
    subject_id = answered.journey.subject_id
    assert subject_id is not None
    with services.uow() as uow:
        consent = uow.consents.active(subject_id, CLIENT_ID)
    assert consent is not None
    assert consent.scopes == ("openid", "profile")
    assert consent.policy_version is not None
    assert consent.policy_version.startswith(CONSENT_TEXT_VERSION)
