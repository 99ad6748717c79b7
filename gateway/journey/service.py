"""``JourneyService``: the login journey, framework-free (DESIGN.md "One login, file by file").

The HTTP layer calls, in order::

    step = journeys.begin(request, session, binding)          # /authorize hands over
    step = journeys.complete_upstream(name, params, binding)  # GET /login/callback/<name>
    prompt = journeys.consent_prompt(jid, binding)            # GET /login/<jid>/consent
    step = journeys.record_consent(jid, binding, token, ok)   # POST /login/<jid>/consent
    done = journeys.finish(step, binding, session_cookie)     # when a step says FINISH

``begin`` picks the upstream (the first configured; there is no chooser page while
vhod has one upstream): its ``UPSTREAM`` step carries the upstream's authorization URL
(``Step.location``) with a fresh UUID ``state`` mapped to the journey, so /authorize sends
the browser straight there, in one request and one journey write.

A ``FINISH`` step is finished in the request that took it (the step carries the journey),
so an allowed journey is not written to the store only to be read back: ``finish``
consumes the stored record (if the journey was ever stored) to make itself one-time.

Every call returns a :class:`Step` saying what the browser does next, or raises
:class:`~gateway.core.errors.JourneyRejected` when the journey cannot be resumed at all
(unknown or expired, another browser's, a missing/foreign/replayed upstream ``state`` —
SECURITY.md T90); the person then sees one generic page and nothing reaches the client.

Binding: ``binding`` is the value of the browser's journey cookie; the journey stores its
keyed digest and every call compares in constant time, so a journey id alone (it is in
URLs) resumes nothing. One-time steps: the upstream ``state`` → journey mapping, the
consent and abort forms' step tokens, and the journey itself at ``finish`` are all
consumed (``EphemeralStore.consume``); a second use is refused.

Decisions come from the policy engine (``policies``); what each outcome means here:

* ``allow`` → ``FINISH``.
* ``require_consent`` → the consent page; under ``prompt=none`` → ``consent_required``.
* ``require_factor`` → no second factor exists yet, so the acr cannot be raised: under
  ``prompt=none`` → ``interaction_required``, otherwise ``access_denied`` (reason
  ``acr_not_met``). Never a silent downgrade (T60, T83).
* ``choose_child`` → not offered yet: ``interaction_required`` / ``access_denied``
  (reason ``child_choice_unavailable``).
* ``deny`` → for :data:`PERSON_PAGES` reasons a page that explains to the person what to
  do (e.g. confirm the account at a service centre), with a button back to the service
  that then answers the client ``access_denied``; every other reason goes straight to the
  client with the check's error (``access_denied``, ``login_required``, ``invalid_scope``).

Audit: ``journey.completed``, ``journey.failed`` (only once a person is known; anonymous
failures such as ``prompt=none`` without a session are logged, not audited, so that
anonymous traffic cannot grow the audit chain), ``consent.granted``, ``consent.denied``,
``subject.created`` — with client_id, reason codes, journey id and a subject digest only.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace

from gateway.config.schema import ACR_ESIA
from gateway.config.schema import GatewayConfig
from gateway.core.errors import AccessDeniedError
from gateway.core.errors import ConsentRequiredError
from gateway.core.errors import InteractionRequiredError
from gateway.core.errors import InvalidScopeError
from gateway.core.errors import JourneyRejected
from gateway.core.errors import LoginRequiredError
from gateway.core.errors import ProtocolError
from gateway.core.errors import ReplayDetected
from gateway.core.errors import TemporarilyUnavailableError
from gateway.core.errors import UpstreamDenied
from gateway.core.errors import UpstreamError
from gateway.core.errors import UpstreamUnavailable
from gateway.core.ids import constant_time_equals
from gateway.core.ids import keyed_digest
from gateway.core.ids import new_code
from gateway.core.ids import new_id
from gateway.core.ids import new_uuid
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.ports import UpstreamProvider
from gateway.core.types import AuthContext
from gateway.core.types import AuthorizationRequest
from gateway.core.types import Consent
from gateway.core.types import JourneyOutcome
from gateway.core.types import SsoSession
from gateway.core.types import Subject
from gateway.journey import codec
from gateway.journey.sessions import EphemeralSsoSessions
from gateway.journey.state import FINAL_STATES
from gateway.journey.state import Journey
from gateway.journey.state import JourneyState
from gateway.journey.subjects import SubjectResolver
from gateway.journey.subjects import age_on
from gateway.journey.subjects import open_profile
from gateway.journey.subjects import subject_digest
from gateway.journey.subjects import today
from policies.checks import Action
from policies.checks import Decision
from policies.checks import JourneyKind
from policies.checks import PolicyContext
from policies.engine import PolicyEngine

log = logging.getLogger(__name__)

JOURNEY_NAMESPACE = "journey"
UPSTREAM_STATE_NAMESPACE = "upstream_state"
STEP_NAMESPACE = "journey_step"
MAX_STATE_LENGTH = 128
CONSENT_TEXT_VERSION = "consent-2025-1"
"""Version of the consent page's wording, recorded with every consent (152-FZ Art. 9)."""

PERSON_PAGES = frozenset({"account_not_confirmed", "child_account_adult"})
"""Deny reasons explained to the person on a page before the client hears
``access_denied``; every other deny goes to the client at once."""

_ERRORS: Mapping[str, type[ProtocolError]] = {
    "access_denied": AccessDeniedError,
    "login_required": LoginRequiredError,
    "consent_required": ConsentRequiredError,
    "interaction_required": InteractionRequiredError,
    "invalid_scope": InvalidScopeError,
}


class StepKind(enum.StrEnum):
    UPSTREAM = "upstream"
    """Send the browser to the upstream (``Step.location``)."""
    CONSENT = "consent"
    """Show the consent page ``/login/<jid>/consent``."""
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


@dataclass(frozen=True)
class ConsentPrompt:
    """What the consent page shows."""

    jid: str
    client_id: str
    client_name: str
    scopes: tuple[str, ...]
    new_scopes: tuple[str, ...]
    step_token: str


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


class JourneyService:
    def __init__(
        self,
        *,
        store: EphemeralStore,
        uow: UnitOfWorkFactory,
        sealer: Sealer,
        clock: Clock,
        pepper: bytes,
        config: GatewayConfig,
        upstreams: Mapping[str, UpstreamProvider],
        policy: PolicyEngine,
        sessions: EphemeralSsoSessions,
    ) -> None:
        if not upstreams:
            raise ValueError("at least one upstream provider is needed")
        self._store = store
        self._uow = uow
        self._sealer = sealer
        self._clock = clock
        self._pepper = pepper
        self._config = config
        self._upstreams = dict(upstreams)
        self._policy = policy
        self._sessions = sessions
        self._resolver = SubjectResolver(sealer, pepper)

    # ------------------------------------------------------------------ public API

    def callback_uri(self, provider: str) -> str:
        """The one fixed callback URI registered at the upstream."""
        return f"{self._config.server.issuer}/login/callback/{provider}"

    def begin(self, req: AuthorizationRequest, session: SsoSession | None, binding: str) -> Step:
        """Start a login for a validated authorization request.

        An SSO session is reused unless ``prompt=login``, ``max_age`` is exceeded, or an
        ``id_token_hint`` names someone else (OIDC Core §3.1.2.1); without a usable
        session, ``prompt=none`` ends at once with ``login_required`` (T57, T58).
        """
        now = self._clock.now()
        journey = Journey(jid=new_id(), binding=self._bind(binding), created_at=now, request=req)
        log_event(log, "journey.started", client_id=req.client_id, journey=journey.jid)
        problem = self.session_problem(req, session, now)
        if problem is None and session is not None:
            journey = replace(
                journey, subject_id=session.subject_id, auth=session.auth, sid=session.sid
            )
            return self._decide(journey)
        if "none" in req.prompt:
            return self._fail(journey, problem or "no_session", LoginRequiredError())
        return self._to_upstream(journey)

    def begin_account(self, binding: str, return_to: str) -> Step:
        """Start a sign-in to vhod's own pages (no client, no code, no consent).

        :param return_to: an allow-listed local path (checked by the caller).
        """
        journey = Journey(
            jid=new_id(),
            binding=self._bind(binding),
            created_at=self._clock.now(),
            kind=JourneyKind.ACCOUNT,
            return_to=return_to,
        )
        log_event(log, "journey.started", kind=JourneyKind.ACCOUNT.value, journey=journey.jid)
        return self._to_upstream(journey)

    def session_problem(
        self, req: AuthorizationRequest, session: SsoSession | None, now: float
    ) -> str | None:
        """Why ``session`` cannot serve ``req`` (a reason code), or ``None``."""
        if session is None:
            return "no_session"
        if "login" in req.prompt or "select_account" in req.prompt:
            return "prompt_login"
        if req.max_age is not None and (
            req.max_age == 0 or now - session.auth.auth_time > req.max_age
        ):
            return "max_age_exceeded"
        if req.id_token_hint_subject is not None and not constant_time_equals(
            req.id_token_hint_subject, session.subject_id
        ):
            return "hint_subject_mismatch"
        return None

    def _to_upstream(self, journey: Journey) -> Step:
        """The ``UPSTREAM`` step of a new journey: a fresh ``state`` mapped to the journey,
        and the (first) upstream's authorization URL."""
        name, upstream = next(iter(self._upstreams.items()))
        state = new_uuid()
        ttl = self._ttl_left(journey)
        self._store.put(UPSTREAM_STATE_NAMESPACE, state, journey.jid.encode(), ttl)
        journey = self._save(
            replace(
                journey.advance(JourneyState.UPSTREAM_PENDING), upstream=name, upstream_state=state
            )
        )
        log_event(log, "journey.upstream_started", upstream=name, journey=journey.jid)
        url = upstream.authorization_url(state, self._scopes(journey), self.callback_uri(name))
        return replace(self._step(StepKind.UPSTREAM, journey), location=url)

    @staticmethod
    def _scopes(journey: Journey) -> tuple[str, ...]:
        """The client's scopes, from which an upstream derives its own (none for vhod's
        own pages)."""
        return () if journey.request is None else journey.request.scopes

    def complete_upstream(self, provider: str, params: dict[str, str], binding: str) -> Step:
        """Accept the upstream's callback and resolve the person.

        The journey is found through ``state`` (consumed: a replay is refused) and must be
        bound to this browser (T90).
        """
        state = params.get("state", "")
        if not state:
            raise self._reject("state_missing")
        if len(state) > MAX_STATE_LENGTH:
            raise self._reject("state_invalid")
        try:
            raw = self._store.consume(
                UPSTREAM_STATE_NAMESPACE, state, self._config.session.journey_ttl_seconds
            )
        except ReplayDetected:
            raise self._reject("state_replayed") from None
        if raw is None:
            raise self._reject("state_unknown")
        jid = raw.decode()
        journey = self._load(jid, binding)
        if (
            journey.state is not JourneyState.UPSTREAM_PENDING
            or journey.upstream != provider
            or not constant_time_equals(journey.upstream_state or "", state)
        ):
            raise self._reject("state_mismatch", jid)
        upstream = self._upstreams.get(provider)
        if upstream is None:
            raise self._reject("upstream_unknown", jid)
        try:
            identity = upstream.complete(
                params, state, self.callback_uri(provider), self._scopes(journey)
            )
        except UpstreamDenied as exc:
            return self._fail(journey, f"upstream_denied:{exc.reason}", AccessDeniedError())
        except UpstreamUnavailable as exc:
            return self._fail(
                journey, f"upstream_unavailable:{exc.reason}", TemporarilyUnavailableError()
            )
        except UpstreamError as exc:
            log_event(log, "upstream.rejected", logging.WARNING, reason=exc.reason, journey=jid)
            return self._fail(journey, f"upstream_protocol:{exc.reason}", AccessDeniedError())
        now = self._clock.now()
        subject, _ = self._resolver.resolve(self._uow, identity, now)
        auth = AuthContext(acr=ACR_ESIA, amr=identity.amr, auth_time=int(now))
        journey = replace(
            journey.advance(JourneyState.UPSTREAM_DONE),
            identity=identity,
            subject_id=subject.subject_id,
            auth=auth,
            sid=None,
            upstream_state=None,
            fresh_login=True,
        )
        return self._decide(journey, subject)

    def consent_prompt(self, jid: str, binding: str) -> ConsentPrompt:
        """What the consent page shows, with a fresh one-time step token."""
        journey = self._load(jid, binding)
        req = journey.request
        if journey.state is not JourneyState.CONSENT_PENDING or req is None:
            raise self._reject("step_out_of_order", jid)
        token = self._offer_step(journey)
        with self._uow(read_only=True) as uow:
            client = uow.clients.get(req.client_id)
            remembered = (
                None
                if journey.subject_id is None
                else uow.consents.active(journey.subject_id, req.client_id)
            )
        granted = set(() if remembered is None else remembered.scopes)
        return ConsentPrompt(
            jid=jid,
            client_id=req.client_id,
            client_name=(client.name if client is not None and client.name else req.client_id),
            scopes=req.scopes,
            new_scopes=tuple(s for s in req.scopes if s not in granted),
            step_token=token,
        )

    def record_consent(self, jid: str, binding: str, step_token: str, approved: bool) -> Step:
        """The person approved or denied on the consent page (one use per token).

        Denial ends the journey with ``access_denied`` and stores nothing (T11).
        """
        journey = self._load(jid, binding)
        req = journey.request
        if journey.state is not JourneyState.CONSENT_PENDING or req is None:
            raise self._reject("step_out_of_order", jid)
        self._use_step(journey, step_token)
        subject_id = journey.subject_id
        if subject_id is None:
            raise self._reject("subject_missing", jid)
        now = self._clock.now()
        fields = {
            "client_id": req.client_id,
            "subject": self._digest(subject_id),
            "journey": jid,
        }
        if not approved:
            with self._uow() as uow:
                uow.audit.append(now, "consent.denied", fields)
                uow.commit()
            return self._fail(journey, "consent_denied", AccessDeniedError())
        with self._uow() as uow:
            previous = uow.consents.active(subject_id, req.client_id)
            scopes = tuple(dict.fromkeys((*(previous.scopes if previous else ()), *req.scopes)))
            uow.consents.save(
                Consent(
                    consent_id=new_id(),
                    subject_id=subject_id,
                    client_id=req.client_id,
                    scopes=scopes,
                    granted_at=now,
                    policy_version=self._consent_version(),
                )
            )
            uow.audit.append(now, "consent.granted", {**fields, "scopes": list(scopes)})
            uow.commit()
        return self._decide(replace(journey, consent_given=True))

    def abort(self, jid: str, binding: str, step_token: str) -> Step:
        """The person leaves a denial page: the client hears ``access_denied``."""
        journey = self._load(jid, binding)
        if journey.state is not JourneyState.FAILED:
            raise self._reject("step_out_of_order", jid)
        self._use_step(journey, step_token)
        self._store.delete(JOURNEY_NAMESPACE, jid)
        error = AccessDeniedError(debug=journey.failure)
        return self._step(StepKind.ERROR, journey, error=error, reason=journey.failure)

    def page_token(self, jid: str, binding: str) -> str:
        """A fresh step token for the denial page's "back" form."""
        journey = self._load(jid, binding)
        if journey.state is not JourneyState.FAILED:
            raise self._reject("step_out_of_order", jid)
        return self._offer_step(journey)

    def failure_reason(self, jid: str, binding: str) -> str | None:
        """Why a journey on a denial page failed (a :data:`PERSON_PAGES` reason)."""
        return self._load(jid, binding).failure

    def finish(self, step: Step, binding: str, session_cookie: str | None) -> Completion:
        """Complete a journey the policy allowed: the SSO session and the outcome.

        ``step`` is the ``FINISH`` step taken in this request (it carries the journey). A
        fresh upstream login always makes a new session (new cookie, new ``sid``) that
        already names the client, and ends the browser's earlier one (T61). A journey that
        was stored is consumed: a second ``finish`` is refused.
        """
        jid, journey = step.jid, step.journey
        if step.kind is not StepKind.FINISH or journey is None or journey.jid != jid:
            raise self._reject("not_ready", jid)
        journey = self._check_binding(journey, binding)
        if not journey.ready or journey.state in FINAL_STATES:
            raise self._reject("not_ready", jid)
        if journey.stored:
            try:
                taken = self._store.consume(
                    JOURNEY_NAMESPACE, jid, self._config.session.journey_ttl_seconds
                )
            except ReplayDetected:
                raise self._reject("journey_replayed", jid) from None
            if taken is None:  # gone meanwhile (ended by another request, or expired)
                raise self._reject("journey_unknown", jid)
        journey = journey.advance(JourneyState.COMPLETED)
        subject_id, auth = journey.subject_id, journey.auth
        if subject_id is None or auth is None:
            raise self._reject("subject_missing", jid)
        cookie: str | None = None
        if journey.fresh_login:
            old = self._sessions.end_by_cookie(session_cookie)
            carried = old.clients if old is not None and old.subject_id == subject_id else ()
            client = () if journey.client_id is None else (journey.client_id,)
            session, cookie = self._sessions.create(
                subject_id, auth, journey.upstream or "", tuple(dict.fromkeys(carried + client))
            )
        else:
            live = None if journey.sid is None else self._sessions.get(journey.sid)
            if live is None or live.subject_id != subject_id:
                log_event(log, "journey.session_lost", logging.WARNING, journey=jid)
                return Completion(
                    journey.kind,
                    journey.request,
                    journey.return_to,
                    outcome=None,
                    session=None,
                    error=LoginRequiredError(debug="session_ended"),
                )
            session = live
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
                    "subject": self._digest(subject_id),
                    "acr": auth.acr,
                    "fresh_login": journey.fresh_login,
                },
            )
            uow.commit()
        outcome = JourneyOutcome(
            subject_id=subject_id,
            sid=session.sid,
            auth=auth,
            granted_scopes=() if req is None else req.scopes,
        )
        return Completion(
            journey.kind, req, journey.return_to, outcome, session, session_cookie=cookie
        )

    # ------------------------------------------------------------------ decisions

    def _decide(self, journey: Journey, subject: Subject | None = None) -> Step:
        """The policy's decision on ``journey`` as the next step (``subject``: the journey's
        subject when the caller just read it)."""
        decision = self._policy.evaluate(self._context(journey, subject))
        req = journey.request
        prompt_none = req is not None and "none" in req.prompt
        if decision.action is Action.ALLOW:
            journey = replace(journey, ready=True)
            return replace(self._step(StepKind.FINISH, journey), journey=journey)
        if decision.action is Action.REQUIRE_CONSENT:
            if prompt_none:
                return self._fail(journey, decision.reason, ConsentRequiredError())
            if journey.state is not JourneyState.CONSENT_PENDING:
                journey = journey.advance(JourneyState.CONSENT_PENDING)
            self._save(journey)
            return self._step(StepKind.CONSENT, journey, reason=decision.reason)
        if decision.action is Action.REQUIRE_FACTOR:
            # No second factor can raise the acr yet: refuse, never downgrade (T60).
            error: ProtocolError = (
                InteractionRequiredError(debug=decision.reason)
                if prompt_none
                else AccessDeniedError(debug=decision.reason)
            )
            return self._fail(journey, decision.reason, error)
        if decision.action is Action.CHOOSE_CHILD:
            error = InteractionRequiredError() if prompt_none else AccessDeniedError()
            return self._fail(journey, "child_choice_unavailable", error)
        return self._deny(journey, decision, prompt_none)

    def _deny(self, journey: Journey, decision: Decision, prompt_none: bool) -> Step:
        if decision.reason in PERSON_PAGES and not prompt_none:
            failed = replace(journey.advance(JourneyState.FAILED), failure=decision.reason)
            self._audit_failure(failed, decision.reason)
            self._save(failed)
            return self._step(StepKind.PAGE, failed, reason=decision.reason)
        error_cls = _ERRORS.get(decision.error or "", AccessDeniedError)
        return self._fail(journey, decision.reason, error_cls(debug=decision.reason))

    def _context(self, journey: Journey, subject: Subject | None) -> PolicyContext:
        subject_id, auth = journey.subject_id, journey.auth
        if subject_id is None or auth is None:
            raise self._reject("subject_missing", journey.jid)
        if subject is not None and subject.subject_id != subject_id:
            raise self._reject("subject_mismatch", journey.jid)
        req = journey.request
        now = self._clock.now()
        with self._uow(read_only=True) as uow:
            client = None if req is None else uow.clients.get(req.client_id)
            consent = (
                None
                if req is None or journey.consent_given
                else uow.consents.active(subject_id, req.client_id)
            )
            if subject is None:
                subject = uow.subjects.get(subject_id)
        if subject is None:
            raise self._reject("subject_missing", journey.jid)
        if journey.identity is not None:
            level = journey.identity.account_level
            birthdate = journey.identity.attributes.get("birthdate")
        else:
            level = subject.account_level
            birthdate = open_profile(self._sealer, subject).get("birthdate")
        return PolicyContext(
            kind=journey.kind,
            client=client,
            scopes=() if req is None else req.scopes,
            catalogue=self._config.scopes,
            account_level=level,
            auth=auth,
            now=now,
            subject_id=subject_id,
            age=age_on(birthdate if isinstance(birthdate, str) else None, today(now)),
            roles=subject.roles,
            acr_values=() if req is None else req.acr_values,
            max_age=None if req is None else req.max_age,
            prompt=() if req is None else req.prompt,
            hint_subject=None if req is None else req.id_token_hint_subject,
            consented_scopes=None if consent is None else consent.scopes,
            consent_given_now=journey.consent_given,
        )

    # ------------------------------------------------------------------ plumbing

    def _fail(self, journey: Journey, reason: str, error: ProtocolError) -> Step:
        """End the journey with an error for the client (the journey is deleted)."""
        failed = replace(journey.advance(JourneyState.FAILED), failure=reason)
        self._store.delete(JOURNEY_NAMESPACE, journey.jid)
        if error.debug is None:
            error.debug = reason
        self._audit_failure(failed, reason)
        return self._step(StepKind.ERROR, failed, error=error, reason=reason)

    def _audit_failure(self, journey: Journey, reason: str) -> None:
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
                    "subject": self._digest(journey.subject_id),
                },
            )
            uow.commit()

    def _step(
        self,
        kind: StepKind,
        journey: Journey,
        *,
        error: ProtocolError | None = None,
        reason: str | None = None,
    ) -> Step:
        return Step(kind, journey.jid, journey.kind, journey.request, error, reason)

    def _consent_version(self) -> str:
        """The consent text's version and the rule documents' version in force
        (``consent-2025-1+rules-3``), recorded with each consent."""
        rules = self._policy.rules_version
        return CONSENT_TEXT_VERSION if rules is None else f"{CONSENT_TEXT_VERSION}+rules-{rules}"

    def _bind(self, binding: str) -> str:
        return keyed_digest(self._pepper, "journey_binding", binding)

    def _digest(self, subject_id: str) -> str:
        return subject_digest(self._pepper, subject_id)

    def _ttl_left(self, journey: Journey) -> int:
        left = journey.created_at + self._config.session.journey_ttl_seconds - self._clock.now()
        if left <= 0:
            raise self._reject("journey_expired", journey.jid)
        return max(1, math.ceil(left))

    def _save(self, journey: Journey) -> Journey:
        """Store ``journey``; the same journey, marked as stored."""
        self._store.put(
            JOURNEY_NAMESPACE,
            journey.jid,
            codec.encode(journey, self._sealer),
            self._ttl_left(journey),
        )
        return replace(journey, stored=True)

    def _load(self, jid: str, binding: str) -> Journey:
        if not jid or len(jid) > 64:
            raise self._reject("journey_unknown")
        raw = self._store.get(JOURNEY_NAMESPACE, jid)
        if raw is None:
            raise self._reject("journey_unknown", jid)
        try:
            journey = replace(codec.decode(raw, jid, self._sealer), stored=True)
        except codec.JourneyDecodeError:
            raise self._reject("journey_invalid", jid) from None
        return self._check_binding(journey, binding)

    def _check_binding(self, journey: Journey, binding: str) -> Journey:
        """``journey`` if ``binding`` is its browser's and it has not expired."""
        if not binding or not constant_time_equals(journey.binding, self._bind(binding)):
            raise self._reject("binding_mismatch", journey.jid)
        self._ttl_left(journey)
        return journey

    def _offer_step(self, journey: Journey) -> str:
        token = new_code()
        self._store.put(
            STEP_NAMESPACE, self._step_key(journey.jid, token), b"1", self._ttl_left(journey)
        )
        return token

    def _use_step(self, journey: Journey, token: str) -> None:
        if not token or len(token) > 128:
            raise self._reject("step_unknown", journey.jid)
        try:
            used = self._store.consume(
                STEP_NAMESPACE,
                self._step_key(journey.jid, token),
                self._config.session.journey_ttl_seconds,
            )
        except ReplayDetected:
            raise self._reject("step_replayed", journey.jid) from None
        if used is None:
            raise self._reject("step_unknown", journey.jid)

    def _step_key(self, jid: str, token: str) -> str:
        return keyed_digest(self._pepper, "journey_step", f"{jid}:{token}")

    def _reject(self, reason: str, jid: str | None = None) -> JourneyRejected:
        log_event(log, "journey.rejected", logging.WARNING, reason=reason, journey=jid)
        return JourneyRejected(reason)
