"""``JourneyService``: the login journey, framework-free (DESIGN.md "One login, file by
file") — a thin façade over its steps (``gateway.journey.steps``).

The HTTP layer calls, in order::

    step = journeys.begin(request, session, binding)          # /authorize hands over
    step = journeys.complete_upstream(name, params, binding)  # GET /login/callback/<name>
    page = journeys.factor_prompt(jid, binding)               # GET /login/<jid>/factor
    page = journeys.start_factor(jid, binding, token, kind, ip)   # POST …/factor/send
    step = journeys.complete_factor(jid, binding, token, code, ip)  # POST …/factor
    step = journeys.cancel_factor(jid, binding, token)         # POST …/factor/cancel
    page = journeys.child_prompt(jid, binding)                # GET /login/<jid>/child
    step = journeys.choose_child(jid, binding, token, link_id)   # POST /login/<jid>/child
    prompt = journeys.consent_prompt(jid, binding)            # GET /login/<jid>/consent
    step = journeys.record_consent(jid, binding, token, ok)   # POST /login/<jid>/consent
    done = journeys.finish(step, binding, session_cookie)     # when a step says FINISH

Every call returns a :class:`Step` saying what the browser does next, or raises
:class:`~gateway.core.errors.JourneyRejected` when the journey cannot be resumed at all
(unknown or expired, another browser's, a missing/foreign/replayed upstream ``state`` —
SECURITY.md T90); the person then sees one generic page and nothing reaches the client.

Each step that brings news (an SSO session reused, the upstream's answer, the consent,
the second factor, the child choice) hands the journey to the policy
(``steps.decide``), whose decision is the next step: ``allow`` → ``FINISH``;
``require_consent`` → the consent page (``consent_required`` under ``prompt=none``);
``require_factor`` → the second-factor page (``steps.factor``; ``interaction_required``
under ``prompt=none``); ``choose_child`` → the child-choice page (``steps.child``; skipped
with exactly one child; ``interaction_required`` under ``prompt=none`` otherwise);
``deny`` → a page for the person (``steps.denial``) or the client's error.

One-time steps: the upstream ``state`` → journey mapping, the forms' step tokens, and the
journey itself at ``finish`` are all consumed (``EphemeralStore.consume``); a second use
is refused. Store work per login is minimal: /authorize writes the journey once (with
the upstream ``state``), and an allowed journey is finished in the request that decided
it without being stored again.

Audit: ``journey.completed``, ``journey.failed`` (only once a person is known),
``consent.granted``, ``consent.denied``, ``subject.created`` — with client_id, reason
codes, journey id and a subject digest only.
"""

from __future__ import annotations

import logging

from gateway.core.errors import LoginRequiredError
from gateway.core.logs import log_event
from gateway.core.types import AuthorizationRequest
from gateway.core.types import JourneyKind
from gateway.core.types import SsoSession
from gateway.journey.steps import JourneySteps
from gateway.journey.steps.base import Answered
from gateway.journey.steps.base import Step
from gateway.journey.steps.base import StepKind
from gateway.journey.steps.child import ChildChoicePage
from gateway.journey.steps.child import ChildChoiceStep
from gateway.journey.steps.consent import CONSENT_TEXT_VERSION
from gateway.journey.steps.consent import ConsentPrompt
from gateway.journey.steps.denial import PERSON_PAGES
from gateway.journey.steps.factor import FactorPage
from gateway.journey.steps.factor import FactorStep
from gateway.journey.steps.finish import Completion
from gateway.journey.steps.records import LOGGER
from gateway.journey.steps.records import reject
from gateway.journey.steps.sso import session_problem

__all__ = [
    "CONSENT_TEXT_VERSION",
    "PERSON_PAGES",
    "ChildChoicePage",
    "Completion",
    "ConsentPrompt",
    "FactorPage",
    "JourneyService",
    "Step",
    "StepKind",
]

log = logging.getLogger(LOGGER)


class JourneyService:
    """The journey's public calls over its steps (built by
    :func:`~gateway.journey.steps.build_journey_steps` in the composition root)."""

    def __init__(self, steps: JourneySteps) -> None:
        self.steps = steps

    def begin(self, req: AuthorizationRequest, session: SsoSession | None, binding: str) -> Step:
        """Start a login for a validated authorization request: on the browser's SSO
        session when it can serve ``req`` (``steps.sso``), else at the upstream — or,
        under ``prompt=none``, not at all (``login_required``; T57, T58)."""
        journey = self.steps.records.start(binding, request=req)
        log_event(log, "journey.started", client_id=req.client_id, journey=journey.jid)
        problem = session_problem(req, session, journey.created_at)
        if problem is None and session is not None:
            return self.steps.decisions.next(Answered(self.steps.sso.resume(journey, session)))
        if "none" in req.prompt:
            return self.steps.endings.fail(journey, problem or "no_session", LoginRequiredError())
        return self.steps.upstream.start(journey)

    def begin_account(
        self,
        binding: str,
        return_to: str,
        *,
        session: SsoSession | None = None,
        min_acr: str | None = None,
    ) -> Step:
        """Start a sign-in to vhod's own pages (no client, no code, no consent).

        :param return_to: an allow-listed local path (checked by the caller).
        :param session: the browser's SSO session, when the page accepts it as it is
            (then only what the policy still asks for — a second factor for ``min_acr``
            — is done, without the upstream again); ``None``: a fresh upstream login.
        :param min_acr: the acr the page needs (the admin side: ``esia-mfa``).
        """
        journey = self.steps.records.start(
            binding, kind=JourneyKind.ACCOUNT, return_to=return_to, min_acr=min_acr
        )
        log_event(log, "journey.started", kind=JourneyKind.ACCOUNT.value, journey=journey.jid)
        if session is not None:
            return self.steps.decisions.next(Answered(self.steps.sso.resume(journey, session)))
        return self.steps.upstream.start(journey)

    def complete_upstream(self, provider: str, params: dict[str, str], binding: str) -> Step:
        """The upstream's callback (``steps.upstream``), then the policy's decision."""
        return self._next(self.steps.upstream.complete(provider, params, binding))

    def consent_prompt(self, jid: str, binding: str) -> ConsentPrompt:
        """What the consent page shows, with a fresh one-time step token."""
        return self.steps.consent.prompt(jid, binding)

    def record_consent(self, jid: str, binding: str, step_token: str, approved: bool) -> Step:
        """The person approved or denied on the consent page (one use per token).

        Denial ends the journey with ``access_denied`` and stores nothing (T11).
        """
        return self._next(self.steps.consent.record(jid, binding, step_token, approved))

    def factor_prompt(self, jid: str, binding: str) -> FactorPage:
        """What the second-factor page shows, with a fresh one-time step token."""
        return self._factor_step(jid).prompt(jid, binding)

    def factor_status(self, jid: str, binding: str) -> str:
        """Where the started factor stands: ``pending``, ``approved``, ``denied``,
        ``expired`` (push), or ``none``."""
        return self._factor_step(jid).status(jid, binding)

    def start_factor(
        self, jid: str, binding: str, step_token: str, kind: str, client_ip: str
    ) -> FactorPage:
        """Send the code of ``kind`` (or a push challenge) to the person's own channel.

        :raises RateLimited: a send limit or a lockout.
        :raises FactorFailed: ``kind`` is not on offer.
        """
        return self._factor_step(jid).start(jid, binding, step_token, kind, client_ip)

    def complete_factor(
        self, jid: str, binding: str, step_token: str, answer: str, client_ip: str
    ) -> Step:
        """The person's answer to the factor started; on success the policy decides again.

        :raises FactorFailed: one answer for every wrong, expired or used code.
        :raises RateLimited: locked out for a while.
        """
        step = self._factor_step(jid)
        return self._next(step.verify(jid, binding, step_token, answer, client_ip))

    def cancel_factor(self, jid: str, binding: str, step_token: str) -> Step:
        """The person left the factor page for the service: ``access_denied``."""
        return self._factor_step(jid).cancel(jid, binding, step_token)

    def child_prompt(self, jid: str, binding: str) -> ChildChoicePage:
        """What the child-choice page shows, with a fresh one-time step token."""
        return self._child_step(jid).prompt(jid, binding)

    def choose_child(self, jid: str, binding: str, step_token: str, link_id: str) -> Step:
        """The person picked a child; the policy decides again.

        :raises NotFound: not one of this person's children here (T94).
        """
        return self._next(self._child_step(jid).choose(jid, binding, step_token, link_id))

    def _child_step(self, jid: str) -> ChildChoiceStep:
        if self.steps.child is None:
            raise reject("step_out_of_order", jid)
        return self.steps.child

    def _factor_step(self, jid: str) -> FactorStep:
        if self.steps.factor is None:
            raise reject("step_out_of_order", jid)
        return self.steps.factor

    def abort(self, jid: str, binding: str, step_token: str) -> Step:
        """The person leaves a denial page: the client hears ``access_denied``."""
        return self.steps.denial.abort(jid, binding, step_token)

    def page_token(self, jid: str, binding: str) -> str:
        """A fresh step token for the denial page's "back" form."""
        return self.steps.denial.token(jid, binding)

    def failure_reason(self, jid: str, binding: str) -> str | None:
        """Why a journey on a denial page failed (a :data:`PERSON_PAGES` reason)."""
        return self.steps.denial.reason(jid, binding)

    def finish(self, step: Step, binding: str, session_cookie: str | None) -> Completion:
        """Complete a journey the policy allowed (``steps.finish``): the SSO session and
        the outcome. A second ``finish`` is refused."""
        return self.steps.finish.finish(step, binding, session_cookie)

    def _next(self, result: Answered | Step) -> Step:
        """A step's answer goes back to the policy; an ending step is the answer."""
        if isinstance(result, Step):
            return result
        return self.steps.decisions.next(result)
