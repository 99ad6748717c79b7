"""JourneyService, the façade, end to end without HTTP: a first login, a second one, the
account journey; each step has its own tests in ``steps/``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.config.schema import ACR_ESIA
from gateway.journey.service import JourneyService
from gateway.journey.service import StepKind
from providers.upstream.fake import FakeUpstream
from tests.unit.journey.conftest import CLIENT_ID
from tests.unit.journey.conftest import Browser
from tests.unit.journey.conftest import audit_events
from tests.unit.journey.conftest import counted_journeys
from tests.unit.journey.conftest import finish
from tests.unit.journey.conftest import full_login
from tests.unit.journey.conftest import login
from tests.unit.journey.conftest import request_for
from tests.unit.journey.conftest import session_of


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


@pytest.mark.parametrize("persona", ["teen", "other_parent"])
def test_accepted_personas(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, persona: str
) -> None:
    assert full_login(journeys, fake, browser, persona).outcome is not None


def test_account_journey(journeys: JourneyService, fake: FakeUpstream, browser: Browser) -> None:
    step = journeys.begin_account(browser.binding, "/account")
    assert step.kind is StepKind.UPSTREAM
    step = login(journeys, fake, browser, step)
    assert step.kind is StepKind.FINISH
    done = finish(journeys, browser, step)
    assert done.return_to == "/account"
    assert done.session_cookie is not None
    assert done.request is None


# ---------------------------------------------------------------- store work per login


def test_store_work_of_a_first_login_with_consent(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, services: Any
) -> None:
    """One journey write at /authorize (with the upstream ``state``), one when the journey
    waits for consent; the allowed journey is finished without being stored again."""
    counted, store = counted_journeys(services)
    full_login(counted, fake, browser)
    assert store.ops == [
        ("put_many", "upstream_state"),  # begin, one round trip: state → journey,
        ("put_many", "journey"),  # and the journey, upstream_pending
        ("consume", "upstream_state"),  # callback
        ("get", "journey"),
        ("put", "journey"),  # consent_pending
        ("get", "journey"),  # consent page
        ("put", "journey_step"),
        ("get", "journey"),  # consent answer
        ("consume", "journey_step"),
        ("consume", "journey"),  # finish: one-time
    ]


def test_an_allowed_sso_journey_touches_no_journey_store(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, services: Any
) -> None:
    """On a reused session with remembered consent the journey is decided and finished in
    one request, never written to the store."""
    full_login(journeys, fake, browser)
    counted, store = counted_journeys(services)
    step = counted.begin(request_for(), session_of(journeys, browser), browser.binding)
    done = finish(counted, browser, step)
    assert done.outcome is not None
    assert store.ops == []
