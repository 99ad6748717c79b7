"""The policy's ``deny``, and the denial page (a failed journey that explains itself).

For :data:`PERSON_PAGES` reasons the person sees a page that says what to do (e.g.
confirm the account at a service centre), with a button back to the service that then
answers the client ``access_denied`` (:meth:`DenialPage.abort`, one use per page token);
every other reason goes straight to the client with the check's error
(``access_denied``, ``login_required``, ``invalid_scope``), as does every reason under
``prompt=none``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from gateway.core.errors import AccessDeniedError
from gateway.core.errors import ConsentRequiredError
from gateway.core.errors import InteractionRequiredError
from gateway.core.errors import InvalidScopeError
from gateway.core.errors import LoginRequiredError
from gateway.core.errors import ProtocolError
from gateway.journey.state import Journey
from gateway.journey.state import JourneyState
from gateway.journey.steps.base import Endings
from gateway.journey.steps.base import Step
from gateway.journey.steps.base import StepKind
from gateway.journey.steps.base import step_of
from gateway.journey.steps.records import JourneyRecords
from gateway.journey.steps.tokens import StepTokens
from policies.checks import Decision

PERSON_PAGES = frozenset(
    {
        "account_not_confirmed",
        "child_account_adult",
        "parent_as_pupil",
        "child_account_parent",
        "no_children_linked",
    }
)
"""Deny reasons explained to the person on a page before the client hears
``access_denied``; every other deny goes to the client at once."""

ERRORS: Mapping[str, type[ProtocolError]] = {
    "access_denied": AccessDeniedError,
    "login_required": LoginRequiredError,
    "consent_required": ConsentRequiredError,
    "interaction_required": InteractionRequiredError,
    "invalid_scope": InvalidScopeError,
}
"""The client's error for a check's ``Decision.error`` (``access_denied`` otherwise)."""


class DenialPage:
    """The denial page: the journey waits in ``failed`` (stored) until the person leaves."""

    state = JourneyState.FAILED

    def __init__(self, records: JourneyRecords, tokens: StepTokens, endings: Endings) -> None:
        self._records = records
        self._tokens = tokens
        self._endings = endings

    def enter(self, journey: Journey, decision: Decision, prompt_none: bool) -> Step:
        """The policy denied: the page for a :data:`PERSON_PAGES` reason, else the
        client's error."""
        if decision.reason in PERSON_PAGES and not prompt_none:
            failed = replace(journey.advance(JourneyState.FAILED), failure=decision.reason)
            self._endings.audit_failure(failed, decision.reason)
            self._records.save(failed)
            return step_of(StepKind.PAGE, failed, reason=decision.reason)
        error_cls = ERRORS.get(decision.error or "", AccessDeniedError)
        return self._endings.fail(journey, decision.reason, error_cls(debug=decision.reason))

    def reason(self, jid: str, binding: str) -> str | None:
        """Why a journey on a denial page failed (a :data:`PERSON_PAGES` reason)."""
        return self._records.load(jid, binding).failure

    def token(self, jid: str, binding: str) -> str:
        """A fresh step token for the page's "back" form."""
        return self._tokens.offer(self._records.load_waiting(jid, binding, self.state))

    def abort(self, jid: str, binding: str, step_token: str) -> Step:
        """The person leaves the page: the client hears ``access_denied``."""
        journey = self._records.load_waiting(jid, binding, self.state)
        self._tokens.use(journey, step_token)
        self._records.delete(jid)
        error = AccessDeniedError(debug=journey.failure)
        return step_of(StepKind.ERROR, journey, error=error, reason=journey.failure)
