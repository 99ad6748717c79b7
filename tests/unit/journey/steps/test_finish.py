"""``steps.finish``: a journey finishes once, only when the policy allowed it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gateway.config.schema import ACR_ESIA
from gateway.core.errors import JourneyRejected
from gateway.journey.service import JourneyService
from gateway.journey.service import Step
from gateway.journey.service import StepKind
from providers.upstream.fake import FakeUpstream
from tests.unit.journey.conftest import CLIENT_ID
from tests.unit.journey.conftest import Browser
from tests.unit.journey.conftest import audit_events
from tests.unit.journey.conftest import full_login
from tests.unit.journey.conftest import login
from tests.unit.journey.conftest import request_for
from tests.unit.journey.conftest import session_of


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


# ---------------------------------------------------------------- FinishStep itself


def _allowed(journeys: JourneyService, fake: FakeUpstream, browser: Browser) -> Step:
    """A FINISH step on the browser's SSO session (the journey was never stored)."""
    full_login(journeys, fake, browser)
    step = journeys.begin(request_for(), session_of(journeys, browser), browser.binding)
    assert step.kind is StepKind.FINISH
    return step


def test_only_a_ready_journey_of_the_step_finishes(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    step = _allowed(journeys, fake, browser)
    assert step.journey is not None
    forged = [
        replace(step, journey=replace(step.journey, ready=False)),
        replace(step, journey=None),
        replace(step, jid="another-journey"),
        replace(step, kind=StepKind.CONSENT),
    ]
    for bad in forged:
        with pytest.raises(JourneyRejected) as info:
            journeys.steps.finish.finish(bad, browser.binding, browser.session_cookie)
        assert info.value.reason == "not_ready"
    with pytest.raises(JourneyRejected) as info:
        journeys.steps.finish.finish(step, "another-browser", browser.session_cookie)
    assert info.value.reason == "binding_mismatch"


def test_finishing_audits_the_login_with_a_subject_digest(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, services: Any
) -> None:
    step = _allowed(journeys, fake, browser)
    done = journeys.steps.finish.finish(step, browser.binding, browser.session_cookie)
    assert done.outcome is not None
    assert done.session_cookie is None  # the reused session, no new cookie
    assert done.outcome.granted_scopes == ("openid", "profile")
    last = [e for e in audit_events(services) if e.event == "journey.completed"][-1]
    assert last.fields == {
        "journey": step.jid,
        "kind": "authorize",
        "client_id": CLIENT_ID,
        "subject": last.fields["subject"],
        "acr": ACR_ESIA,
        "fresh_login": False,
    }
    assert last.fields["subject"] != done.outcome.subject_id
    assert len(last.fields["subject"]) == 32


def test_a_session_ended_meanwhile_is_login_required(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, services: Any
) -> None:
    step = _allowed(journeys, fake, browser)
    completed = len([e for e in audit_events(services) if e.event == "journey.completed"])
    journeys.steps.sso.sessions.end_by_cookie(browser.session_cookie)
    done = journeys.steps.finish.finish(step, browser.binding, browser.session_cookie)
    assert done.outcome is None
    assert done.session is None
    assert done.error is not None
    assert done.error.error == "login_required"
    assert done.request == request_for()
    after = len([e for e in audit_events(services) if e.event == "journey.completed"])
    assert after == completed
