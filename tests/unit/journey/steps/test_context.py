"""``steps.context``: what the policy sees of a journey — from the upstream's answer on a
fresh login, from the sealed profile on a reused session; the age, never the birth
date."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.core.errors import JourneyRejected
from gateway.core.types import JourneyKind
from gateway.core.types import Subject
from gateway.journey.service import JourneyService
from gateway.journey.state import Journey
from gateway.journey.steps.base import Answered
from providers.upstream.fake import FakeUpstream
from tests.unit.journey.conftest import CLIENT_ID
from tests.unit.journey.conftest import Browser
from tests.unit.journey.conftest import full_login
from tests.unit.journey.conftest import location
from tests.unit.journey.conftest import request_for
from tests.unit.journey.conftest import session_of
from tests.unit.journey.conftest import upstream_state


def _fresh(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, persona: str = "parent"
) -> tuple[Journey, Subject]:
    """A journey just back from the upstream, and its subject."""
    steps = journeys.steps
    step = steps.upstream.start(steps.records.start(browser.binding, request=request_for()))
    state = upstream_state(location(step))
    params = {"code": fake.issue_code(persona, state), "state": state}
    answered = steps.upstream.complete("fake", params, browser.binding)
    assert isinstance(answered, Answered)
    assert answered.subject is not None
    return answered.journey, answered.subject


@pytest.mark.parametrize(
    ("persona", "level", "age"),
    [("parent", "confirmed", 38), ("teen", "confirmed", 15), ("standard", "standard", 45)],
)
def test_a_fresh_login_from_the_upstreams_answer(
    journeys: JourneyService,
    fake: FakeUpstream,
    browser: Browser,
    persona: str,
    level: str,
    age: int,
) -> None:
    journey, subject = _fresh(journeys, fake, browser, persona)
    ctx = journeys.steps.context.build(journey, subject)
    assert ctx.kind is JourneyKind.AUTHORIZE
    assert ctx.client is not None
    assert ctx.client.client_id == CLIENT_ID
    assert ctx.scopes == ("openid", "profile")
    assert ctx.subject_id == subject.subject_id
    assert ctx.account_level == level
    assert ctx.age == age
    assert ctx.auth == journey.auth
    assert ctx.consented_scopes is None
    assert not ctx.consent_given_now
    assert ctx.roles == subject.roles


def test_a_reused_session_from_the_sealed_profile(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    full_login(journeys, fake, browser)  # consents to openid profile
    session = session_of(journeys, browser)
    journey = journeys.steps.sso.resume(
        journeys.steps.records.start(browser.binding, request=request_for()), session
    )
    assert journey.identity is None
    ctx = journeys.steps.context.build(journey)  # the subject is read
    assert ctx.account_level == "confirmed"
    assert ctx.age == 38
    assert ctx.consented_scopes == ("openid", "profile")
    given = journeys.steps.context.build(replace(journey, consent_given=True))
    assert given.consent_given_now
    assert given.consented_scopes is None  # not read again once given on the page


def test_an_account_journey_has_no_client_and_no_scopes(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    journey, subject = _fresh(journeys, fake, browser)
    own = replace(journey, kind=JourneyKind.ACCOUNT, request=None, return_to="/account")
    ctx = journeys.steps.context.build(own, subject)
    assert ctx.kind is JourneyKind.ACCOUNT
    assert ctx.client is None
    assert ctx.scopes == ()
    assert ctx.prompt == ()


def test_a_journey_without_its_person_is_refused(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    journey, subject = _fresh(journeys, fake, browser)
    with pytest.raises(JourneyRejected) as info:
        journeys.steps.context.build(replace(journey, subject_id=None))
    assert info.value.reason == "subject_missing"
    with pytest.raises(JourneyRejected) as info:
        journeys.steps.context.build(journey, replace(subject, subject_id="someone-else"))
    assert info.value.reason == "subject_mismatch"
    with pytest.raises(JourneyRejected) as info:
        journeys.steps.context.build(replace(journey, subject_id="never-stored"))
    assert info.value.reason == "subject_missing"
