"""The SSO step: reuse the browser's session at the start of a journey, and settle the
session a finished journey ends in.

Reuse (OIDC Core §3.1.2.1): a session serves a request unless ``prompt=login`` (or
``select_account``), ``max_age`` is exceeded, or an ``id_token_hint`` names someone else
(:func:`session_problem`); without a usable session, ``prompt=none`` ends at once with
``login_required`` (SECURITY.md T57, T58).

Settling (:meth:`SsoStep.settle`): a fresh upstream login always makes a new session (new
cookie, new ``sid``) that already names the client, and ends the browser's earlier one,
whose clients it carries on for back-channel logout when it was the same person's (T61).
A reused session must still be alive and the same person's; a second factor passed in
it (step-up) raises its acr and amr (:meth:`EphemeralSsoSessions.raise_auth`).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from gateway.core.ids import constant_time_equals
from gateway.core.logs import log_event
from gateway.core.types import AuthContext
from gateway.core.types import AuthorizationRequest
from gateway.core.types import SsoSession
from gateway.journey.sessions import EphemeralSsoSessions
from gateway.journey.state import Journey
from gateway.journey.steps.records import LOGGER

log = logging.getLogger(LOGGER)


def session_problem(
    req: AuthorizationRequest, session: SsoSession | None, now: float
) -> str | None:
    """Why ``session`` cannot serve ``req`` (a reason code), or ``None``."""
    if session is None:
        return "no_session"
    if "login" in req.prompt or "select_account" in req.prompt:
        return "prompt_login"
    if req.max_age is not None and (req.max_age == 0 or now - session.auth.auth_time > req.max_age):
        return "max_age_exceeded"
    if req.id_token_hint_subject is not None and not constant_time_equals(
        req.id_token_hint_subject, session.subject_id
    ):
        return "hint_subject_mismatch"
    return None


class SsoStep:
    def __init__(self, sessions: EphemeralSsoSessions) -> None:
        self.sessions = sessions

    @staticmethod
    def resume(journey: Journey, session: SsoSession) -> Journey:
        """``journey`` signed in by ``session`` (no upstream round trip)."""
        return replace(journey, subject_id=session.subject_id, auth=session.auth, sid=session.sid)

    def settle(
        self, journey: Journey, subject_id: str, auth: AuthContext, session_cookie: str | None
    ) -> tuple[SsoSession, str | None] | None:
        """The session ``journey`` (of ``subject_id``, signed in as ``auth``) finishes in
        and, for a new one, its cookie value; or ``None`` when the reused session ended
        meanwhile.

        :param session_cookie: the browser's SSO cookie value, if any.
        """
        if journey.fresh_login:
            old = self.sessions.end_by_cookie(session_cookie)
            carried = old.clients if old is not None and old.subject_id == subject_id else ()
            client = () if journey.client_id is None else (journey.client_id,)
            return self.sessions.create(
                subject_id, auth, journey.upstream or "", tuple(dict.fromkeys(carried + client))
            )
        live = None if journey.sid is None else self.sessions.get(journey.sid)
        if live is not None and live.subject_id == subject_id and live.auth != auth:
            live = self.sessions.raise_auth(live.sid, auth)
        if live is None or live.subject_id != subject_id:
            log_event(log, "journey.session_lost", logging.WARNING, journey=journey.jid)
            return None
        return live, None
