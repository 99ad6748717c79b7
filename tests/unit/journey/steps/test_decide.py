"""``steps.decide``: the policy's decision as the next step; the factor slot refuses what
no factor can meet yet (acr, T60)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config.schema import ACR_ESIA_MFA
from gateway.journey.service import JourneyService
from gateway.journey.service import Step
from gateway.journey.service import StepKind
from gateway.journey.state import Journey
from gateway.journey.state import JourneyState
from gateway.journey.steps.base import Answered
from gateway.journey.steps.base import WaitingStep
from gateway.journey.steps.context import PolicyContextBuilder
from gateway.journey.steps.decide import Decisions
from gateway.journey.steps.decide import NotOffered
from policies.build import build_policy_engine
from policies.checks import Action
from policies.checks import Decision
from providers.upstream.fake import FakeUpstream
from tests.unit.journey.conftest import Browser
from tests.unit.journey.conftest import full_login
from tests.unit.journey.conftest import login
from tests.unit.journey.conftest import request_for
from tests.unit.journey.conftest import session_of


def test_mfa_asks_for_a_second_factor(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    step = journeys.begin(request_for(acr_values=(ACR_ESIA_MFA,)), None, browser.binding)
    result = login(journeys, fake, browser, step)
    assert result.kind is StepKind.FACTOR
    assert result.reason == "acr_not_met"
    assert result.error is None


def test_without_factors_the_slot_refuses_mfa(
    journeys: JourneyService, services: Any, fake: FakeUpstream, browser: Browser
) -> None:
    """A gateway built without second factors never silently downgrades (T60, T83)."""
    journey = _signed_in(journeys, fake, browser, acr_values=(ACR_ESIA_MFA,))
    result = _decisions(journeys, services).next(Answered(journey))
    assert result.kind is StepKind.ERROR
    assert result.reason == "acr_not_met"
    assert result.error is not None
    assert result.error.error == "access_denied"


def test_mfa_under_prompt_none_is_interaction_required(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    full_login(journeys, fake, browser)
    step = journeys.begin(
        request_for(acr_values=(ACR_ESIA_MFA,), prompt=("none",)),
        session_of(journeys, browser),
        browser.binding,
    )
    assert step.error is not None
    assert step.error.error == "interaction_required"


def test_scope_with_mfa_minimum_is_refused(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser
) -> None:
    step = journeys.begin(request_for(scopes=("openid", "payments")), None, browser.binding)
    result = login(journeys, fake, browser, step)
    assert result.reason == "acr_not_met"


# ---------------------------------------------------------------- Decisions and its slots


class _FactorPage:
    """A stand-in for the coming factor step, to show what its slot hands it."""

    state = JourneyState.FACTOR_PENDING

    def __init__(self) -> None:
        self.entered: list[tuple[Journey, Decision, bool]] = []

    def enter(self, journey: Journey, decision: Decision, prompt_none: bool) -> Step:
        self.entered.append((journey, decision, prompt_none))
        return Step(StepKind.PAGE, journey.jid, journey.kind, journey.request)


def _decisions(journeys: JourneyService, services: Any, **slots: WaitingStep) -> Decisions:
    steps = journeys.steps
    endings = steps.endings
    waiting: dict[Action, WaitingStep] = {
        Action.REQUIRE_CONSENT: steps.consent,
        Action.REQUIRE_FACTOR: NotOffered(JourneyState.FACTOR_PENDING, endings),
        Action.CHOOSE_CHILD: NotOffered(JourneyState.CHILD_CHOICE, endings, "x"),
    }
    waiting.update({Action(name): step for name, step in slots.items()})
    context = PolicyContextBuilder(
        services.uow, services.sealer, services.clock, services.config.scopes
    )
    return Decisions(build_policy_engine(), context, waiting, steps.denial)


def _signed_in(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, **kw: Any
) -> Journey:
    """A new journey on the browser's SSO session (after a first login)."""
    full_login(journeys, fake, browser)
    session = session_of(journeys, browser)
    journey = journeys.steps.records.start(browser.binding, request=request_for(**kw))
    return journeys.steps.sso.resume(journey, session)


def test_every_waiting_action_needs_a_step(journeys: JourneyService, services: Any) -> None:
    steps = journeys.steps
    context = PolicyContextBuilder(
        services.uow, services.sealer, services.clock, services.config.scopes
    )
    with pytest.raises(ValueError, match="choose_child"):
        Decisions(
            build_policy_engine(),
            context,
            {
                Action.REQUIRE_CONSENT: steps.consent,
                Action.REQUIRE_FACTOR: NotOffered(JourneyState.FACTOR_PENDING, steps.endings),
            },
            steps.denial,
        )


def test_allow_finishes_with_the_ready_journey_on_the_step(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, services: Any
) -> None:
    journey = _signed_in(journeys, fake, browser)
    step = _decisions(journeys, services).next(Answered(journey))
    assert step.kind is StepKind.FINISH
    assert step.journey is not None
    assert step.journey.ready
    assert not step.journey.stored  # finished in this request, never stored


def test_a_factor_step_plugs_into_its_slot(
    journeys: JourneyService, fake: FakeUpstream, browser: Browser, services: Any
) -> None:
    journey = _signed_in(journeys, fake, browser, acr_values=(ACR_ESIA_MFA,))
    factor = _FactorPage()
    step = _decisions(journeys, services, require_factor=factor).next(Answered(journey))
    assert step.kind is StepKind.PAGE
    ((entered, decision, prompt_none),) = factor.entered
    assert entered.jid == journey.jid
    assert decision.action is Action.REQUIRE_FACTOR
    assert decision.reason == "acr_not_met"
    assert prompt_none is False


@pytest.mark.parametrize(
    ("prompt_none", "error"), [(False, "access_denied"), (True, "interaction_required")]
)
def test_a_slot_not_offered_yet_refuses(
    journeys: JourneyService, browser: Browser, prompt_none: bool, error: str
) -> None:
    journey = journeys.steps.records.start(browser.binding, request=request_for())
    decision = Decision(action=Action.CHOOSE_CHILD, reason="child_needed")
    own = NotOffered(JourneyState.CHILD_CHOICE, journeys.steps.endings, "child_choice_unavailable")
    step = own.enter(journey, decision, prompt_none)
    assert step.kind is StepKind.ERROR
    assert step.reason == "child_choice_unavailable"
    assert step.error is not None
    assert step.error.error == error
    as_decided = NotOffered(JourneyState.FACTOR_PENDING, journeys.steps.endings)
    assert as_decided.enter(journey, decision, prompt_none).reason == "child_needed"
