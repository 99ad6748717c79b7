"""``steps.upstream``: the upstream round trip and its ``state`` (SECURITY.md T90)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config.schema import ACR_ESIA
from gateway.core.clock import FixedClock
from gateway.core.errors import JourneyRejected
from gateway.core.ids import new_uuid
from gateway.core.types import AuthContext
from gateway.journey.service import JourneyService
from gateway.journey.service import StepKind
from gateway.journey.state import JourneyState
from gateway.journey.steps.base import Answered
from gateway.journey.steps.upstream import UPSTREAM_STATE_NAMESPACE
from providers.upstream.fake import FakeUpstream
from tests.unit.journey.conftest import Browser
from tests.unit.journey.conftest import location
from tests.unit.journey.conftest import request_for
from tests.unit.journey.conftest import upstream_state


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


# ---------------------------------------------------------------- UpstreamStep itself


def test_start_maps_a_fresh_state_to_the_journey(
    journeys: JourneyService, browser: Browser, services: Any
) -> None:
    steps = journeys.steps
    journey = steps.records.start(browser.binding, request=request_for())
    step = steps.upstream.start(journey)
    assert step.kind is StepKind.UPSTREAM
    assert step.jid == journey.jid
    state = upstream_state(location(step))
    assert services.ephemeral.get(UPSTREAM_STATE_NAMESPACE, state) == journey.jid.encode()
    waiting = steps.records.load(journey.jid, browser.binding)
    assert waiting.state is JourneyState.UPSTREAM_PENDING
    assert waiting.upstream == "fake"
    assert waiting.upstream_state == state
    again = steps.upstream.start(steps.records.start(browser.binding, request=request_for()))
    assert upstream_state(location(again)) != state


def test_complete_resolves_the_person_as_a_fresh_login(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, clock: FixedClock
) -> None:
    steps = journeys.steps
    step = steps.upstream.start(steps.records.start(browser.binding, request=request_for()))
    state = upstream_state(location(step))
    params = {"code": fake.issue_code("parent", state), "state": state}
    answered = steps.upstream.complete("fake", params, browser.binding)
    assert isinstance(answered, Answered)
    journey, subject = answered
    assert subject is not None
    assert journey.subject_id == subject.subject_id
    assert journey.state is JourneyState.UPSTREAM_DONE
    assert journey.fresh_login
    assert journey.sid is None
    assert journey.upstream_state is None  # the state is spent
    assert journey.identity is not None
    assert journey.auth == AuthContext(acr=ACR_ESIA, amr=("pwd",), auth_time=int(clock.now()))


def test_a_state_for_another_upstream_is_refused_and_spent(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    steps = journeys.steps
    step = steps.upstream.start(steps.records.start(browser.binding, request=request_for()))
    state = upstream_state(location(step))
    params = {"code": fake.issue_code("parent", state), "state": state}
    with pytest.raises(JourneyRejected) as info:
        steps.upstream.complete("esia", params, browser.binding)
    assert info.value.reason == "state_mismatch"
    with pytest.raises(JourneyRejected) as info:
        steps.upstream.complete("fake", params, browser.binding)
    assert info.value.reason == "state_replayed"


def test_an_oversized_state_is_refused(journeys: JourneyService, browser: Browser) -> None:
    with pytest.raises(JourneyRejected) as info:
        journeys.steps.upstream.complete("fake", {"state": "s" * 129}, browser.binding)
    assert info.value.reason == "state_invalid"


def test_the_callback_uri_is_fixed_by_the_issuer(journeys: JourneyService, services: Any) -> None:
    issuer = services.config.server.issuer
    assert journeys.steps.upstream.callback_uri("esia") == f"{issuer}/login/callback/esia"
