"""``steps.tokens``: every form of a journey is answered once, with its own token."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.core.clock import FixedClock
from gateway.core.errors import JourneyRejected
from gateway.journey.service import JourneyService
from gateway.journey.service import StepKind
from providers.upstream.fake import FakeUpstream
from tests.unit.journey.conftest import Browser
from tests.unit.journey.conftest import login
from tests.unit.journey.conftest import request_for


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


# ---------------------------------------------------------------- StepTokens itself


def test_a_token_is_used_once(journeys: JourneyService, browser: Browser) -> None:
    steps = journeys.steps
    journey = steps.records.start(browser.binding, request=request_for())
    token = steps.tokens.offer(journey)
    assert len(token) >= 43  # 256 bits
    steps.tokens.use(journey, token)
    with pytest.raises(JourneyRejected) as info:
        steps.tokens.use(journey, token)
    assert info.value.reason == "step_replayed"


def test_each_form_gets_its_own_token(journeys: JourneyService, browser: Browser) -> None:
    steps = journeys.steps
    journey = steps.records.start(browser.binding, request=request_for())
    first, second = steps.tokens.offer(journey), steps.tokens.offer(journey)
    assert first != second
    steps.tokens.use(journey, second)
    steps.tokens.use(journey, first)


def test_a_token_belongs_to_its_journey(journeys: JourneyService, browser: Browser) -> None:
    steps = journeys.steps
    mine = steps.records.start(browser.binding, request=request_for())
    other = steps.records.start(browser.binding, request=request_for())
    token = steps.tokens.offer(other)
    with pytest.raises(JourneyRejected) as info:
        steps.tokens.use(mine, token)
    assert info.value.reason == "step_unknown"
    steps.tokens.use(other, token)  # still good for its own journey


@pytest.mark.parametrize("token", ["", "x" * 129, "forged"])
def test_forged_tokens(journeys: JourneyService, browser: Browser, token: str) -> None:
    journey = journeys.steps.records.start(browser.binding, request=request_for())
    with pytest.raises(JourneyRejected) as info:
        journeys.steps.tokens.use(journey, token)
    assert info.value.reason == "step_unknown"


def test_a_token_lives_as_long_as_its_journey(
    journeys: JourneyService, browser: Browser, services: Any, clock: FixedClock
) -> None:
    journey = journeys.steps.records.start(browser.binding, request=request_for())
    token = journeys.steps.tokens.offer(journey)
    clock.advance(services.config.session.journey_ttl_seconds + 1)
    with pytest.raises(JourneyRejected):
        journeys.steps.tokens.use(journey, token)
