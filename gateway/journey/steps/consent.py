"""The consent step (``consent_pending``): the person sees what the client asks for and
approves or denies, once per page (152-FZ Art. 9; SECURITY.md T11).

Approval stores the consent — the scopes remembered before plus the new ones, with the
consent text's and the rule documents' versions — and audits ``consent.granted``; the
journey goes back to the policy. Denial audits ``consent.denied``, stores nothing and
ends the journey with ``access_denied``. Under ``prompt=none`` the page cannot be shown:
``consent_required``.

Acting for a child, the consent is the parent's **for that child and that school system**:
remembered per (parent, client, child) (``Consent.acting_for``), and the page says for
whom (the child's first name, ``ConsentPrompt.acting_for_name``).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace

from gateway.core.errors import AccessDeniedError
from gateway.core.errors import ConsentRequiredError
from gateway.core.ids import new_id
from gateway.core.ids import subject_digest
from gateway.core.ports import Clock
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.profiles import open_profile
from gateway.core.types import Consent
from gateway.journey.account import client_name
from gateway.journey.state import Journey
from gateway.journey.state import JourneyState
from gateway.journey.steps.base import Answered
from gateway.journey.steps.base import Endings
from gateway.journey.steps.base import Step
from gateway.journey.steps.base import StepKind
from gateway.journey.steps.base import step_of
from gateway.journey.steps.records import JourneyRecords
from gateway.journey.steps.records import reject
from gateway.journey.steps.tokens import StepTokens
from policies.checks import Decision
from policies.engine import PolicyEngine

CONSENT_TEXT_VERSION = "consent-2025-1"
"""Version of the consent page's wording, recorded with every consent (152-FZ Art. 9)."""


@dataclass(frozen=True)
class ConsentPrompt:
    """What the consent page shows."""

    jid: str
    client_id: str
    client_name: str
    scopes: tuple[str, ...]
    new_scopes: tuple[str, ...]
    step_token: str
    acting_for_name: str | None = None
    """The child's first name when the person consents for a child (else ``None``)."""


def consent_version(rules_version: str | None) -> str:
    """The consent text's version and the rule documents' version in force
    (``consent-2025-1+rules-3``), recorded with each consent."""
    if rules_version is None:
        return CONSENT_TEXT_VERSION
    return f"{CONSENT_TEXT_VERSION}+rules-{rules_version}"


class ConsentStep:
    """A :class:`~gateway.journey.steps.base.WaitingStep` in ``consent_pending``."""

    state = JourneyState.CONSENT_PENDING

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
        policy: PolicyEngine,
    ) -> None:
        """:param policy: whose rule documents' version in force (they change when an
        admin applies new ones) is recorded with each consent."""
        self._records = records
        self._tokens = tokens
        self._endings = endings
        self._uow = uow
        self._sealer = sealer
        self._clock = clock
        self._pepper = pepper
        self._policy = policy

    def enter(self, journey: Journey, decision: Decision, prompt_none: bool) -> Step:
        if prompt_none:
            return self._endings.fail(journey, decision.reason, ConsentRequiredError())
        journey = self._records.wait_in(journey, self.state)
        return step_of(StepKind.CONSENT, journey, reason=decision.reason)

    def prompt(self, jid: str, binding: str) -> ConsentPrompt:
        """What the consent page shows, with a fresh one-time step token."""
        journey, req = self._records.load_request(jid, binding, self.state)
        token = self._tokens.offer(journey)
        with self._uow(read_only=True) as uow:
            client = uow.clients.get(req.client_id)
            remembered = (
                None
                if journey.subject_id is None
                else uow.consents.active(journey.subject_id, req.client_id, journey.acting_for)
            )
            child = None if journey.acting_for is None else uow.subjects.get(journey.acting_for)
        granted = set(() if remembered is None else remembered.scopes)
        return ConsentPrompt(
            jid=jid,
            client_id=req.client_id,
            client_name=client_name(client, req.client_id),
            scopes=req.scopes,
            new_scopes=tuple(s for s in req.scopes if s not in granted),
            step_token=token,
            acting_for_name=(
                None
                if journey.acting_for is None
                else str(open_profile(self._sealer, child).get("given_name", "") if child else "")
            ),
        )

    def record(self, jid: str, binding: str, step_token: str, approved: bool) -> Answered | Step:
        """The person approved (the journey goes back to the policy, ``consent_given``)
        or denied (the ``ERROR`` step) on the page that showed ``step_token``."""
        journey = self._records.load_waiting(jid, binding, self.state)
        req = journey.request
        if req is None:
            raise reject("step_out_of_order", jid)
        self._tokens.use(journey, step_token)
        subject_id = journey.subject_id
        if subject_id is None:
            raise reject("subject_missing", jid)
        now = self._clock.now()
        fields = {
            "client_id": req.client_id,
            "subject": subject_digest(self._pepper, subject_id),
            "journey": jid,
        }
        if journey.acting_for is not None:
            fields["child"] = subject_digest(self._pepper, journey.acting_for)
        if not approved:
            with self._uow() as uow:
                uow.audit.append(now, "consent.denied", fields)
                uow.commit()
            return self._endings.fail(journey, "consent_denied", AccessDeniedError())
        with self._uow() as uow:
            previous = uow.consents.active(subject_id, req.client_id, journey.acting_for)
            scopes = tuple(dict.fromkeys((*(previous.scopes if previous else ()), *req.scopes)))
            uow.consents.save(
                Consent(
                    consent_id=new_id(),
                    subject_id=subject_id,
                    client_id=req.client_id,
                    scopes=scopes,
                    granted_at=now,
                    acting_for=journey.acting_for,
                    policy_version=consent_version(self._policy.rules_version),
                )
            )
            uow.audit.append(now, "consent.granted", {**fields, "scopes": list(scopes)})
            uow.commit()
        return Answered(replace(journey, consent_given=True))
