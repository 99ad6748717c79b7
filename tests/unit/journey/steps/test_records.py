"""``steps.records``: a journey is bound to its browser and lives for its TTL."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.core.clock import FixedClock
from gateway.core.errors import JourneyRejected
from gateway.journey.service import JourneyService
from gateway.journey.state import JourneyState
from gateway.journey.steps.records import JOURNEY_NAMESPACE
from providers.upstream.fake import FakeUpstream
from tests.unit.journey.conftest import Browser
from tests.unit.journey.conftest import location
from tests.unit.journey.conftest import login
from tests.unit.journey.conftest import request_for
from tests.unit.journey.conftest import upstream_state


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


# ---------------------------------------------------------------- JourneyRecords itself


def test_a_saved_journey_loads_back_only_in_its_browser(
    journeys: JourneyService, browser: Browser, other_browser: Browser
) -> None:
    records = journeys.steps.records
    journey = records.save(records.start(browser.binding, request=request_for()))
    assert journey.stored
    loaded = records.load(journey.jid, browser.binding)
    assert loaded == journey
    assert loaded.stored
    assert loaded.binding != browser.binding  # only its keyed digest is kept
    with pytest.raises(JourneyRejected) as info:
        records.load(journey.jid, other_browser.binding)
    assert info.value.reason == "binding_mismatch"
    with pytest.raises(JourneyRejected):
        records.load(journey.jid, "")


@pytest.mark.parametrize("jid", ["", "x" * 65, "never-saved"])
def test_unknown_journey_ids(journeys: JourneyService, browser: Browser, jid: str) -> None:
    with pytest.raises(JourneyRejected) as info:
        journeys.steps.records.load(jid, browser.binding)
    assert info.value.reason == "journey_unknown"


def test_a_record_copied_under_another_id_does_not_open(
    journeys: JourneyService, browser: Browser, services: Any
) -> None:
    records = journeys.steps.records
    journey = records.save(records.start(browser.binding, request=request_for()))
    other = records.start(browser.binding, request=request_for())
    raw = services.ephemeral.get(JOURNEY_NAMESPACE, journey.jid)
    services.ephemeral.put(JOURNEY_NAMESPACE, other.jid, raw, 60)
    with pytest.raises(JourneyRejected) as info:
        records.load(other.jid, browser.binding)
    assert info.value.reason == "journey_invalid"


def test_a_step_is_answered_only_while_the_journey_waits_there(
    journeys: JourneyService, browser: Browser
) -> None:
    records = journeys.steps.records
    journey = records.save(records.start(browser.binding, request=request_for()))
    with pytest.raises(JourneyRejected) as info:
        records.load_waiting(journey.jid, browser.binding, JourneyState.CONSENT_PENDING)
    assert info.value.reason == "step_out_of_order"
    assert records.load_waiting(journey.jid, browser.binding, JourneyState.STARTED) == journey


def test_consume_is_one_time(journeys: JourneyService, browser: Browser) -> None:
    records = journeys.steps.records
    journey = records.save(records.start(browser.binding, request=request_for()))
    records.consume(journey.jid)
    with pytest.raises(JourneyRejected) as info:
        records.consume(journey.jid)
    assert info.value.reason == "journey_replayed"
    with pytest.raises(JourneyRejected) as info:
        records.consume("never-saved")
    assert info.value.reason == "journey_unknown"


def test_ttl_counts_from_the_start(
    journeys: JourneyService, browser: Browser, services: Any, clock: FixedClock
) -> None:
    records = journeys.steps.records
    journey = records.start(browser.binding, request=request_for())
    ttl = services.config.session.journey_ttl_seconds
    assert records.ttl_left(journey) == ttl
    clock.advance(ttl - 0.5)
    assert records.ttl_left(journey) == 1
    clock.advance(1)
    with pytest.raises(JourneyRejected) as info:
        records.ttl_left(journey)
    assert info.value.reason == "journey_expired"
    with pytest.raises(JourneyRejected):
        records.save(journey)
