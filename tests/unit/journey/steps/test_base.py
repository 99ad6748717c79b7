"""``steps.base.Endings``: a failed journey is gone, and audited only once a person is
known (anonymous traffic cannot grow the audit chain)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gateway.core.errors import AccessDeniedError
from gateway.core.errors import JourneyRejected
from gateway.core.errors import LoginRequiredError
from gateway.journey.service import JourneyService
from gateway.journey.service import StepKind
from tests.unit.journey.conftest import Browser
from tests.unit.journey.conftest import audit_events
from tests.unit.journey.conftest import request_for


def _failures(services: Any) -> list[Any]:
    return [e for e in audit_events(services) if e.event == "journey.failed"]


def test_a_failure_deletes_the_journey_and_tells_the_client(
    journeys: JourneyService, browser: Browser, services: Any
) -> None:
    steps = journeys.steps
    journey = steps.records.save(steps.records.start(browser.binding, request=request_for()))
    step = steps.endings.fail(journey, "no_session", LoginRequiredError())
    assert step.kind is StepKind.ERROR
    assert step.reason == "no_session"
    assert step.request == request_for()
    assert step.error is not None
    assert step.error.debug == "no_session"
    with pytest.raises(JourneyRejected):
        steps.records.load(journey.jid, browser.binding)
    assert _failures(services) == []  # nobody known yet: logged, not audited


def test_a_known_persons_failure_is_audited(
    journeys: JourneyService, browser: Browser, services: Any
) -> None:
    steps = journeys.steps
    journey = replace(
        steps.records.start(browser.binding, request=request_for()), subject_id="subj-1"
    )
    step = steps.endings.fail(journey, "consent_denied", AccessDeniedError(debug="own"))
    assert step.error is not None
    assert step.error.debug == "own"  # a debug text of its own is kept
    (event,) = _failures(services)
    assert event.fields["reason"] == "consent_denied"
    assert event.fields["subject"] != "subj-1"
