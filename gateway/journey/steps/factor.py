"""The second-factor step (``factor_pending``): the policy asked for a higher acr
(``acr_values``, a scope's or the client's minimum acr, a rule's ``require_factor``, the
admin side), and the person passes one of vhod's factors (DESIGN.md "Sessions, scopes,
assurance"; SECURITY.md L).

The step never trusts the browser about what was passed (T83): the journey is loaded
from the store in ``factor_pending`` with this browser's binding, every form carries a
one-time step token, and only :meth:`FactorStep.verify` raises the journey's ``auth`` —
acr ``urn:vhod:acr:esia-mfa``, the factor's ``amr`` added to the upstream's (``mfa``
once two methods were used, RFC 8176), ``auth_time`` now. The policy then decides again.

Where codes go: only to the channels ESIA verified for the person (the mobile and the
e-mail address in the journey's upstream answer, or in the subject's sealed profile when
an SSO session is reused: step-up without ESIA again), never to anything from a request
(T89). Under ``prompt=none`` the page cannot be shown: ``interaction_required``. A person
with no factor to offer ends with ``access_denied`` (reason ``no_factor_available``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from dataclasses import replace

from gateway.core.errors import AccessDeniedError
from gateway.core.errors import FactorFailed
from gateway.core.errors import InteractionRequiredError
from gateway.core.factors import ACR_ESIA_MFA
from gateway.core.factors import FactorChallenge
from gateway.core.factors import FactorOption
from gateway.core.factors import FactorSubject
from gateway.core.factors import SecondFactors
from gateway.core.factors import combine_amr
from gateway.core.factors import verified_channels
from gateway.core.faults import crash_point
from gateway.core.ids import subject_digest
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.profiles import open_profile
from gateway.core.types import AuthContext
from gateway.journey.state import Journey
from gateway.journey.state import JourneyState
from gateway.journey.steps.base import Answered
from gateway.journey.steps.base import Endings
from gateway.journey.steps.base import Step
from gateway.journey.steps.base import StepKind
from gateway.journey.steps.base import step_of
from gateway.journey.steps.records import LOGGER
from gateway.journey.steps.records import JourneyRecords
from gateway.journey.steps.records import reject
from gateway.journey.steps.tokens import StepTokens
from policies.checks import Decision

log = logging.getLogger(LOGGER)

NO_FACTOR = "no_factor_available"
FACTOR_CANCELLED = "factor_cancelled"


@dataclass(frozen=True)
class FactorPage:
    """What the factor page shows: the factors on offer, the one started (a code sent,
    a push number to compare), and a fresh one-time step token for its forms."""

    jid: str
    client_id: str | None
    options: tuple[FactorOption, ...]
    challenge: FactorChallenge | None
    step_token: str


def raised_auth(auth: AuthContext, amr: str, now: float) -> AuthContext:
    """``auth`` after a second factor: acr esia-mfa, ``amr`` added (and ``mfa`` once
    two or more methods were used, RFC 8176 §2), ``auth_time`` now."""
    return AuthContext(acr=ACR_ESIA_MFA, amr=combine_amr(auth.amr, (amr,)), auth_time=int(now))


class FactorStep:
    """A :class:`~gateway.journey.steps.base.WaitingStep` in ``factor_pending``."""

    state = JourneyState.FACTOR_PENDING

    def __init__(
        self,
        *,
        records: JourneyRecords,
        tokens: StepTokens,
        endings: Endings,
        uow: UnitOfWorkFactory,
        sealer: Sealer,
        clock: Clock,
        pepper: bytes,
        factors: SecondFactors,
    ) -> None:
        self._records = records
        self._tokens = tokens
        self._endings = endings
        self._uow = uow
        self._sealer = sealer
        self._clock = clock
        self._pepper = pepper
        self._factors = factors

    def enter(self, journey: Journey, decision: Decision, prompt_none: bool) -> Step:
        if prompt_none:
            return self._endings.fail(journey, decision.reason, InteractionRequiredError())
        if not self._factors.options(self._who(journey)):
            return self._endings.fail(journey, NO_FACTOR, AccessDeniedError())
        journey = self._records.wait_in(replace(journey, factor=None), self.state)
        return step_of(StepKind.FACTOR, journey, reason=decision.reason)

    def prompt(self, jid: str, binding: str) -> FactorPage:
        """What the factor page shows now, with a fresh one-time step token."""
        journey = self._records.load_waiting(jid, binding, self.state)
        return self._page(journey)

    def status(self, jid: str, binding: str) -> str:
        """Where the started factor stands (the push page polls it); ``none`` when no
        factor was started. Reads only: the page still submits its form to go on."""
        journey = self._records.load_waiting(jid, binding, self.state)
        if journey.factor is None:
            return "none"
        return self._factors.status(self._who(journey), journey.factor)

    def start(
        self, jid: str, binding: str, step_token: str, kind: str, client_ip: str
    ) -> FactorPage:
        """The person picked ``kind`` (or asked to send the code again): send it.

        :raises RateLimited: a send limit; the page says when to try again.
        :raises FactorFailed: ``kind`` is not on offer.
        """
        journey = self._records.load_waiting(jid, binding, self.state)
        self._tokens.use(journey, step_token)
        # The port refuses a kind it does not offer (FactorFailed "factor_not_offered").
        challenge = self._factors.start(self._who(journey, client_ip), kind)
        journey = self._records.save(replace(journey, factor=challenge))
        log_event(log, "factor.started", factor=kind, journey=jid)
        return self._page(journey)

    def verify(
        self, jid: str, binding: str, step_token: str, answer: str, client_ip: str
    ) -> Answered:
        """Check the answer to the factor started on this journey; on success the
        journey's ``auth`` is raised and it goes back to the policy.

        :raises FactorFailed: wrong, expired, used, or nothing started (one answer).
        :raises RateLimited: locked out for a while.
        """
        journey = self._records.load_waiting(jid, binding, self.state)
        self._tokens.use(journey, step_token)
        challenge, auth, subject_id = journey.factor, journey.auth, journey.subject_id
        if challenge is None or auth is None or subject_id is None:
            raise FactorFailed("nothing_started")
        amr = self._factors.verify(self._who(journey, client_ip), challenge, answer)
        crash_point("factor.verified")
        now = self._clock.now()
        raised = raised_auth(auth, amr, now)
        with self._uow() as uow:
            uow.audit.append(
                now,
                "factor.passed",
                {
                    "journey": jid,
                    "client_id": journey.client_id,
                    "factor": challenge.kind,
                    "subject": subject_digest(self._pepper, subject_id),
                },
            )
            uow.commit()
        log_event(log, "factor.passed", factor=challenge.kind, journey=jid)
        return Answered(replace(journey, auth=raised, factor=None))

    def cancel(self, jid: str, binding: str, step_token: str) -> Step:
        """The person gave up on the factor page («Отменить вход»): the journey ends and
        the client hears ``access_denied`` (one use per page token)."""
        journey = self._records.load_waiting(jid, binding, self.state)
        self._tokens.use(journey, step_token)
        return self._endings.fail(journey, FACTOR_CANCELLED, AccessDeniedError())

    def _page(self, journey: Journey) -> FactorPage:
        return FactorPage(
            jid=journey.jid,
            client_id=journey.client_id,
            options=self._factors.options(self._who(journey)),
            challenge=journey.factor,
            step_token=self._tokens.offer(journey),
        )

    def _who(self, journey: Journey, client_ip: str = "") -> FactorSubject:
        """The person of ``journey`` with the channels ESIA verified: from this login's
        upstream answer, else (a reused SSO session) from the sealed profile."""
        subject_id = journey.subject_id
        if subject_id is None:
            raise reject("subject_missing", journey.jid)
        if journey.identity is not None:
            attributes = journey.identity.attributes
        else:
            with self._uow(read_only=True) as uow:
                subject = uow.subjects.get(subject_id)
            attributes = {} if subject is None else open_profile(self._sealer, subject)
        phone, email = verified_channels(attributes)
        return FactorSubject(subject_id, journey.jid, client_ip, phone, email)
