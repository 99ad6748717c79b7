"""``steps.sso``: SSO session reuse, ``prompt``, ``max_age``, ``id_token_hint``, and the
session a journey finishes in (T57, T58, T61)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gateway.config.schema import ACR_ESIA
from gateway.core.clock import FixedClock
from gateway.core.types import AuthContext
from gateway.core.types import SsoSession
from gateway.journey.service import JourneyService
from gateway.journey.service import StepKind
from gateway.journey.steps.sso import session_problem
from providers.upstream.fake import FakeUpstream
from tests.unit.journey.conftest import CLIENT_ID
from tests.unit.journey.conftest import OTHER_CLIENT_ID
from tests.unit.journey.conftest import Browser
from tests.unit.journey.conftest import consent_and_finish
from tests.unit.journey.conftest import finish
from tests.unit.journey.conftest import full_login
from tests.unit.journey.conftest import login
from tests.unit.journey.conftest import request_for
from tests.unit.journey.conftest import session_of


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


def test_prompt_login_forces_upstream_and_new_session(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, clock: FixedClock
) -> None:
    first = full_login(journeys, fake, browser)
    assert first.outcome is not None
    journeys.steps.sso.sessions.add_client(first.outcome.sid, CLIENT_ID)  # as the OAuth side does
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
    assert journeys.steps.sso.sessions.current(old_cookie) is None  # the old one is dead
    # The clients of the ended session stay known, for back-channel logout.
    assert session_of(journeys, browser).clients == (CLIENT_ID,)


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


# ---------------------------------------------------------------- session_problem, SsoStep


NOW = 1_700_000_000.0
SESSION = SsoSession(
    sid="sid-1",
    subject_id="subj-1",
    auth=AuthContext(acr=ACR_ESIA, amr=("pwd",), auth_time=int(NOW) - 100),
    created_at=NOW - 100,
    last_seen=NOW - 10,
    upstream="fake",
)


@pytest.mark.parametrize(
    ("kw", "problem"),
    [
        ({}, None),
        ({"prompt": ("login",)}, "prompt_login"),
        ({"prompt": ("select_account",)}, "prompt_login"),
        ({"max_age": 0}, "max_age_exceeded"),
        ({"max_age": 99}, "max_age_exceeded"),
        ({"max_age": 100}, None),
        ({"id_token_hint_subject": "subj-2"}, "hint_subject_mismatch"),
        ({"id_token_hint_subject": "subj-1"}, None),
        ({"prompt": ("consent",)}, None),
    ],
)
def test_when_a_session_serves_a_request(kw: dict[str, Any], problem: str | None) -> None:
    assert session_problem(request_for(**kw), SESSION, NOW) == problem


def test_no_session_serves_no_request() -> None:
    assert session_problem(request_for(), None, NOW) == "no_session"


def test_resume_signs_the_journey_in_with_the_session(
    journeys: JourneyService, browser: Browser
) -> None:
    journey = journeys.steps.records.start(browser.binding, request=request_for())
    resumed = journeys.steps.sso.resume(journey, SESSION)
    assert (resumed.subject_id, resumed.auth, resumed.sid) == ("subj-1", SESSION.auth, "sid-1")
    assert not resumed.fresh_login


def test_a_fresh_login_replaces_the_browsers_session(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    """T61: a new session id and cookie; the old session ends, and its clients are carried
    on (for back-channel logout) only when it was the same person's."""
    sso = journeys.steps.sso
    first = full_login(journeys, fake, browser)
    assert first.outcome is not None
    subject_id = first.outcome.subject_id
    sso.sessions.add_client(first.outcome.sid, OTHER_CLIENT_ID)
    old_cookie = browser.session_cookie
    journey = replace(
        journeys.steps.records.start(browser.binding, request=request_for()),
        subject_id=subject_id,
        auth=first.outcome.auth,
        fresh_login=True,
        upstream="fake",
    )
    settled = sso.settle(journey, subject_id, first.outcome.auth, old_cookie)
    assert settled is not None
    session, cookie = settled
    assert cookie is not None
    assert cookie != old_cookie
    assert session.sid != first.outcome.sid
    assert session.clients == (CLIENT_ID, OTHER_CLIENT_ID)
    assert sso.sessions.current(old_cookie) is None
    someone_else = sso.settle(journey, "subj-other", first.outcome.auth, cookie)
    assert someone_else is not None
    assert someone_else[0].clients == (CLIENT_ID,)  # nothing carried over


def test_a_reused_session_must_still_be_alive(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    sso = journeys.steps.sso
    first = full_login(journeys, fake, browser)
    assert first.outcome is not None
    subject_id, auth = first.outcome.subject_id, first.outcome.auth
    journey = replace(
        journeys.steps.records.start(browser.binding, request=request_for()),
        subject_id=subject_id,
        auth=auth,
        sid=first.outcome.sid,
    )
    settled = sso.settle(journey, subject_id, auth, browser.session_cookie)
    assert settled is not None
    assert settled[0].sid == first.outcome.sid
    assert settled[1] is None  # no new cookie
    assert sso.settle(journey, "subj-other", auth, browser.session_cookie) is None
    sso.sessions.end_by_cookie(browser.session_cookie)
    assert sso.settle(journey, subject_id, auth, None) is None
