"""Finishing a journey the policy allowed: the SSO session it ends in, the audit, and the
outcome ``gateway.oauth`` issues the code from.

The ``FINISH`` step is finished in the request that took it (the step carries the
journey), so an allowed journey is not written to the store only to be read back; a
journey that was stored on the way (it waited at a page) is consumed here, which makes
finishing one-time: a second ``finish`` is refused (SECURITY.md T83).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.core.errors import LoginRequiredError
from gateway.core.errors import ProtocolError
from gateway.core.ids import subject_digest
from gateway.core.ports import Clock
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.types import AuthorizationRequest
from gateway.core.types import JourneyKind
from gateway.core.types import JourneyOutcome
from gateway.core.types import SsoSession
from gateway.journey.state import FINAL_STATES
from gateway.journey.state import Journey
from gateway.journey.state import JourneyState
from gateway.journey.steps.base import Step
from gateway.journey.steps.base import StepKind
from gateway.journey.steps.records import JourneyRecords
from gateway.journey.steps.records import reject
from gateway.journey.steps.sso import SsoStep


@dataclass(frozen=True)
class Completion:
    """A finished journey.

    :param outcome: for ``authorize``: what ``gateway.oauth`` issues the code from.
    :param session_cookie: a new SSO session's cookie value to set (after a fresh login).
    :param error: the session ended meanwhile: answer the client with this instead.
    """

    kind: JourneyKind
    request: AuthorizationRequest | None
    return_to: str | None
    outcome: JourneyOutcome | None
    session: SsoSession | None
    session_cookie: str | None = None
    error: ProtocolError | None = None


class FinishStep:
    def __init__(
        self,
        *,
        records: JourneyRecords,
        sso: SsoStep,
        uow: UnitOfWorkFactory,
        clock: Clock,
        pepper: bytes,
    ) -> None:
        self._records = records
        self._sso = sso
        self._uow = uow
        self._clock = clock
        self._pepper = pepper

    def finish(self, step: Step, binding: str, session_cookie: str | None) -> Completion:
        """Complete the journey of the ``FINISH`` step taken in this request.

        :raises JourneyRejected: not a ready journey of this browser, or finished before.
        """
        journey = self._ready(step, binding)
        jid = journey.jid
        subject_id, auth = journey.subject_id, journey.auth
        if subject_id is None or auth is None:
            raise reject("subject_missing", jid)
        settled = self._sso.settle(journey, subject_id, auth, session_cookie)
        if settled is None:
            return Completion(
                journey.kind,
                journey.request,
                journey.return_to,
                outcome=None,
                session=None,
                error=LoginRequiredError(debug="session_ended"),
            )
        session, cookie = settled
        req = journey.request
        now = self._clock.now()
        with self._uow() as uow:
            uow.audit.append(
                now,
                "journey.completed",
                {
                    "journey": jid,
                    "kind": journey.kind.value,
                    "client_id": journey.client_id,
                    "subject": subject_digest(self._pepper, subject_id),
                    "acr": auth.acr,
                    "fresh_login": journey.fresh_login,
                    **(
                        {}
                        if journey.acting_for is None
                        else {"child": subject_digest(self._pepper, journey.acting_for)}
                    ),
                },
            )
            uow.commit()
        outcome = JourneyOutcome(
            subject_id=subject_id,
            sid=session.sid,
            auth=auth,
            granted_scopes=() if req is None else req.scopes,
            acting_for=journey.acting_for,
        )
        return Completion(
            journey.kind, req, journey.return_to, outcome, session, session_cookie=cookie
        )

    def _ready(self, step: Step, binding: str) -> Journey:
        """The step's journey, completed: this browser's, allowed, and taken out of the
        store if it was ever stored."""
        jid, journey = step.jid, step.journey
        if step.kind is not StepKind.FINISH or journey is None or journey.jid != jid:
            raise reject("not_ready", jid)
        journey = self._records.check_binding(journey, binding)
        if not journey.ready or journey.state in FINAL_STATES:
            raise reject("not_ready", jid)
        if journey.stored:
            self._records.consume(jid)
        return journey.advance(JourneyState.COMPLETED)
