"""What every step shares: the :class:`Step` a call returns, the :class:`WaitingStep`
interface of a step that waits for the person, and :class:`Endings` — how a journey
fails (audited once a person is known).

A step that waits for the person (consent today; the second factor and the child choice
next) has one journey state and two halves: :meth:`WaitingStep.enter` — the policy's
decision sends the journey there (saved in that state, the browser sent to its page) —
and its own answer method(s), which load the journey with
:meth:`~gateway.journey.steps.records.JourneyRecords.load_waiting` (it must be waiting in
that state), use the page's one-time step token, and return an :class:`Answered` for the
policy to decide again, or the :class:`Step` that ends the journey.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import NamedTuple
from typing import Protocol

from gateway.core.errors import ProtocolError
from gateway.core.ids import subject_digest
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.types import AuthorizationRequest
from gateway.core.types import JourneyKind
from gateway.core.types import Subject
from gateway.journey.state import Journey
from gateway.journey.state import JourneyState
from gateway.journey.steps.records import LOGGER
from gateway.journey.steps.records import JourneyRecords
from policies.checks import Decision

log = logging.getLogger(LOGGER)


class StepKind(enum.StrEnum):
    UPSTREAM = "upstream"
    """Send the browser to the upstream (``Step.location``)."""
    CONSENT = "consent"
    """Show the consent page ``/login/<jid>/consent``."""
    FACTOR = "factor"
    """Show the second-factor page ``/login/<jid>/factor``."""
    CHILD = "child"
    """Show the child-choice page ``/login/<jid>/child``."""
    FINISH = "finish"
    """Call :meth:`JourneyService.finish` and answer the client."""
    ERROR = "error"
    """The journey ended: answer the client with ``error`` (or a page for ``account``)."""
    PAGE = "page"
    """Explain ``reason`` to the person; their "back" button leads to :meth:`abort`."""


@dataclass(frozen=True)
class Step:
    kind: StepKind
    jid: str
    journey_kind: JourneyKind
    request: AuthorizationRequest | None = None
    error: ProtocolError | None = None
    reason: str | None = None
    journey: Journey | None = field(default=None, repr=False, compare=False)
    """``FINISH``: the allowed journey, for :meth:`JourneyService.finish` in the same
    request (it is not stored in its ready state)."""
    location: str | None = None
    """``UPSTREAM``: the upstream's authorization URL."""


def step_of(
    kind: StepKind,
    journey: Journey,
    *,
    error: ProtocolError | None = None,
    reason: str | None = None,
) -> Step:
    """The :class:`Step` of ``kind`` for ``journey`` (without the journey itself)."""
    return Step(kind, journey.jid, journey.kind, journey.request, error, reason)


class Answered(NamedTuple):
    """A step's answer that goes back to the policy: the journey as the step left it, and
    its subject when the step just read it (saves the policy context one read)."""

    journey: Journey
    subject: Subject | None = None


class WaitingStep(Protocol):
    """A step that waits for the person in one journey state (see the module docstring).

    Plugged into :class:`~gateway.journey.steps.decide.Decisions` for the policy action
    that asks for it (``require_consent`` → consent; ``require_factor`` → the second
    factor in ``factor_pending``; ``choose_child`` → the child choice in
    ``child_choice``).
    """

    @property
    def state(self) -> JourneyState:
        """The state the journey waits in at this step."""
        ...

    def enter(self, journey: Journey, decision: Decision, prompt_none: bool) -> Step | Answered:
        """The policy asked for this step: the journey waits here (or, when the step
        cannot be shown, e.g. under ``prompt=none``, ends with the matching error; or,
        when there is nothing to ask — one child to choose from — answers at once and
        the policy decides again)."""
        ...


class Endings:
    """How a journey fails: the journey is deleted, the failure logged and — once a person
    is known — audited (anonymous failures such as ``prompt=none`` without a session are
    not, so that anonymous traffic cannot grow the audit chain)."""

    def __init__(
        self, records: JourneyRecords, uow: UnitOfWorkFactory, clock: Clock, pepper: bytes
    ) -> None:
        self._records = records
        self._uow = uow
        self._clock = clock
        self._pepper = pepper

    def fail(self, journey: Journey, reason: str, error: ProtocolError) -> Step:
        """End the journey with an error for the client (the journey is deleted)."""
        failed = replace(journey.advance(JourneyState.FAILED), failure=reason)
        self._records.delete(journey.jid)
        if error.debug is None:
            error.debug = reason
        self.audit_failure(failed, reason)
        return step_of(StepKind.ERROR, failed, error=error, reason=reason)

    def audit_failure(self, journey: Journey, reason: str) -> None:
        log_event(
            log,
            "journey.failed",
            reason=reason,
            client_id=journey.client_id,
            journey=journey.jid,
        )
        if journey.subject_id is None:
            return
        now = self._clock.now()
        with self._uow() as uow:
            uow.audit.append(
                now,
                "journey.failed",
                {
                    "journey": journey.jid,
                    "client_id": journey.client_id,
                    "reason": reason,
                    "subject": subject_digest(self._pepper, journey.subject_id),
                },
            )
            uow.commit()
