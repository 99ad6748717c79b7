"""The policy's decision as the journey's next step (DESIGN.md "Journey", "Policies").

After every step that brings news — the journey started on an SSO session, the upstream
answered, the person consented (next: passed a factor, chose a child) — the policy
engine evaluates the journey's context (:mod:`.context`) and :class:`Decisions` turns its
``Decision`` into the next :class:`~gateway.journey.steps.base.Step`:

* ``allow`` → ``FINISH`` (the ready journey rides on the step; it is not stored again);
* an action with a waiting step (``require_consent``, ``require_factor``,
  ``choose_child``) → that step's :meth:`~gateway.journey.steps.base.WaitingStep.enter`
  (which may answer at once — one child to choose from — and the policy decides again);
* ``deny`` → :class:`~gateway.journey.steps.denial.DenialPage`.

The slots: the waiting steps come in one table keyed by the action that asks for them,
and every action but ``allow`` and ``deny`` must have one. A slot without its step holds
a :class:`NotOffered` — under ``prompt=none`` ``interaction_required``, otherwise
``access_denied``, never a silent downgrade (SECURITY.md T60, T83): ``require_factor``
when no second factors are wired. :func:`~gateway.journey.steps.build_journey_steps`
puts the factor step (``factor_pending``) and the child-choice step (``child_choice``)
in their slots.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from gateway.core.errors import AccessDeniedError
from gateway.core.errors import InteractionRequiredError
from gateway.core.errors import ProtocolError
from gateway.journey.state import Journey
from gateway.journey.state import JourneyState
from gateway.journey.steps.base import Answered
from gateway.journey.steps.base import Endings
from gateway.journey.steps.base import Step
from gateway.journey.steps.base import StepKind
from gateway.journey.steps.base import WaitingStep
from gateway.journey.steps.base import step_of
from gateway.journey.steps.context import PolicyContextBuilder
from gateway.journey.steps.denial import DenialPage
from gateway.journey.steps.records import reject
from policies.checks import Action
from policies.checks import Decision
from policies.engine import PolicyEngine

MAX_ROUNDS = 4
"""How many times one request may ask the policy (a waiting step may answer at once)."""
WAITING_ACTIONS = frozenset({Action.REQUIRE_CONSENT, Action.REQUIRE_FACTOR, Action.CHOOSE_CHILD})
"""The actions that send the journey to a step where it waits for the person."""


class NotOffered:
    """The slot of a waiting step vhod does not offer yet: the journey ends, refused.

    :param reason: the failure's reason code; ``None``: the decision's own reason.
    """

    def __init__(self, state: JourneyState, endings: Endings, reason: str | None = None) -> None:
        self.state = state
        self._endings = endings
        self._reason = reason

    def enter(self, journey: Journey, decision: Decision, prompt_none: bool) -> Step:
        reason = self._reason or decision.reason
        error: ProtocolError = (
            InteractionRequiredError(debug=reason)
            if prompt_none
            else AccessDeniedError(debug=reason)
        )
        return self._endings.fail(journey, reason, error)


class Decisions:
    def __init__(
        self,
        policy: PolicyEngine,
        context: PolicyContextBuilder,
        waiting: Mapping[Action, WaitingStep],
        denial: DenialPage,
    ) -> None:
        missing = WAITING_ACTIONS - set(waiting)
        if missing:
            raise ValueError(f"no step for {sorted(missing)}")
        self._policy = policy
        self._context = context
        self._waiting = dict(waiting)
        self._denial = denial

    def next(self, answered: Answered) -> Step:
        """The policy's decision on the journey as its next step.

        A waiting step that needs nothing from the person (one child to choose from)
        answers at once; the policy then decides again — at most :data:`MAX_ROUNDS`
        times, so that a step answering the same forever cannot loop.
        """
        for _ in range(MAX_ROUNDS):
            result = self._once(answered)
            if isinstance(result, Step):
                return result
            answered = result
        raise reject("decision_loop", answered.journey.jid)

    def _once(self, answered: Answered) -> Step | Answered:
        journey, subject = answered
        decision = self._policy.evaluate(self._context.build(journey, subject))
        req = journey.request
        prompt_none = req is not None and "none" in req.prompt
        if decision.action is Action.ALLOW:
            journey = replace(journey, ready=True)
            return replace(step_of(StepKind.FINISH, journey), journey=journey)
        step = self._waiting.get(decision.action)
        if step is not None:
            return step.enter(journey, decision, prompt_none)
        return self._denial.enter(journey, decision, prompt_none)
