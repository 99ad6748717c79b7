"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) and what ending a session
does to tokens.

**Deciding** (:meth:`LogoutService.decide`, SECURITY.md T62, T63):

* ``id_token_hint`` must be an ID token we signed with any published key; an expired one
  is accepted (§2: "the OP SHOULD accept ID Tokens … even if they are expired");
* ``client_id``, when sent, must be an audience of the hint (§2);
* ``post_logout_redirect_uri`` is followed only with a valid hint and when it exactly
  equals one of the hint's client's registered ``post_logout_redirect_uris`` (§3: "MUST
  NOT perform post-logout redirection if … does not exactly match"); ``state`` is echoed;
* without a valid hint, or when the hint belongs to another session than the browser's,
  or when anything above is wrong, the person is asked first (§2: "MUST ask the End-User
  … if an id_token_hint was not provided or if the supplied ID Token does not belong to
  the current OP session"); nothing is logged out without that confirmation, and nothing
  wrong is ever redirected to.

**Ending** (:meth:`LogoutService.end`, T64, T65; Back-Channel Logout §2.7): the SSO session
ends, the grants issued in it lose their refresh and access tokens unless they hold
``offline_access``, and one back-channel notification per client of the session with a
``backchannel_logout_uri`` is queued — all in one transaction — then the worker is woken.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from gateway.core.ids import new_code
from gateway.core.ids import new_id
from gateway.core.ports import SsoSessions
from gateway.core.types import LogoutDelivery
from gateway.core.types import SsoSession
from gateway.oauth.context import OAuthContext
from gateway.oauth.families import mark_revoked
from gateway.oauth.families import revoke_grants_where
from gateway.oauth.grants import append_query
from gateway.oauth.jose import InvalidJwt
from gateway.oauth.records import NS_LOGOUT
from gateway.oauth.records import PendingLogout
from gateway.oauth.tokens import audiences

PENDING_LOGOUT_TTL_SECONDS = 600
MAX_STATE_LENGTH = 1024


@dataclass(frozen=True)
class LogoutDecision:
    """What to do with a logout request.

    :param redirect_to: the full post-logout redirect (validated URI + ``state``), or
        ``None``: show vhod's own "signed out" page.
    :param needs_confirmation: ask the person before ending the session.
    :param problem: a reason code when something in the request was refused.
    """

    redirect_to: str | None
    needs_confirmation: bool
    client_id: str | None = None
    problem: str | None = None


class LogoutService:
    """RP-initiated logout decisions and the end of sessions."""

    def __init__(
        self,
        ctx: OAuthContext,
        sessions: SsoSessions | None,
        wake_worker: Callable[[], None] = lambda: None,
    ) -> None:
        self._ctx = ctx
        self._sessions = sessions
        self._wake_worker = wake_worker

    @property
    def sessions(self) -> SsoSessions | None:
        return self._sessions

    def decide(
        self, params: tuple[tuple[str, str], ...], current: SsoSession | None
    ) -> LogoutDecision:
        """See the module docstring."""
        params = tuple((k, v) for k, v in params if v != "")
        counts = Counter(k for k, _ in params)
        if any(c > 1 for c in counts.values()):
            return LogoutDecision(None, True, problem="duplicate_parameter")
        first = dict(params)
        state = first.get("state")
        if state is not None and len(state) > MAX_STATE_LENGTH:
            return LogoutDecision(None, True, problem="state_too_long")
        hint = first.get("id_token_hint")
        client_param = first.get("client_id")
        redirect = first.get("post_logout_redirect_uri")
        if hint is None:
            problem = "redirect_without_hint" if redirect else None
            return LogoutDecision(None, True, client_id=client_param, problem=problem)
        try:
            claims = self._ctx.tokens.verify_id_token(hint)
        except InvalidJwt:
            self._ctx.event("logout.bad_hint")
            return LogoutDecision(None, True, client_id=client_param, problem="bad_hint")
        auds = audiences(claims)
        if client_param is not None and client_param not in auds:
            return LogoutDecision(None, True, client_id=client_param, problem="client_mismatch")
        azp = claims.get("azp")
        client_id = client_param or (azp if isinstance(azp, str) and azp in auds else auds[0])
        redirect_to: str | None = None
        if redirect is not None:
            with self._ctx.uow(read_only=True) as uow:
                client = uow.clients.get(client_id)
            if (
                client is None
                or client.disabled
                or (redirect not in client.post_logout_redirect_uris)
            ):
                return LogoutDecision(None, True, client_id=client_id, problem="bad_redirect")
            redirect_to = append_query(redirect, [("state", state)] if state is not None else [])
        same_session = current is None or current.sid == claims.get("sid")
        return LogoutDecision(
            redirect_to,
            not same_session,
            client_id=client_id,
            problem=None if same_session else "other_session",
        )

    def remember(self, decision: LogoutDecision) -> str:
        """Keep a decision while the person confirms; returns the form's reference.

        Only a fully validated redirect (valid hint, exactly registered URI) is kept, so
        a doubtful request never redirects after confirmation either.
        """
        reference = new_code()
        pending = PendingLogout(
            post_logout_redirect_uri=decision.redirect_to,
            client_id=decision.client_id,
        )
        self._ctx.ephemeral.put(
            NS_LOGOUT,
            self._ctx.tokens.digest("logout", reference),
            pending.to_bytes(),
            PENDING_LOGOUT_TTL_SECONDS,
        )
        return reference

    def recall(self, reference: str) -> PendingLogout | None:
        """The remembered decision, once (``None`` if unknown, used or expired)."""
        if not reference or len(reference) > 128:
            return None
        key = self._ctx.tokens.digest("logout", reference)
        raw = self._ctx.ephemeral.get(NS_LOGOUT, key)
        if raw is None:
            return None
        self._ctx.ephemeral.delete(NS_LOGOUT, key)
        return PendingLogout.from_bytes(raw)

    def current(self, cookie_value: str | None) -> SsoSession | None:
        if self._sessions is None or not cookie_value:
            return None
        return self._sessions.current(cookie_value)

    def end(self, session: SsoSession | None) -> int:
        """End ``session`` and everything issued in it (see the module docstring);
        return how many back-channel notifications were queued."""
        if session is None:
            return 0
        ended = self._sessions.end(session.sid) if self._sessions is not None else None
        ended = ended or session
        now = self._ctx.clock.now()
        queued = 0
        with self._ctx.uow() as uow:
            revoked = revoke_grants_where(
                self._ctx, uow, "logout", sid=ended.sid, keep_offline=True
            )
            for client_id in dict.fromkeys(ended.clients):
                client = uow.clients.get(client_id)
                if client is None or client.disabled or not client.backchannel_logout_uri:
                    continue
                uow.logout_queue.enqueue(
                    LogoutDelivery(
                        delivery_id=new_id(),
                        client_id=client.client_id,
                        sid=ended.sid,
                        sub=self._ctx.tokens.subject(client, ended.subject_id),
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
                queued += 1
            uow.audit.append(now, "session.logged_out", {"notified": queued})
            uow.commit()
        mark_revoked(self._ctx, revoked)
        self._ctx.event("session.logged_out", notified=queued)
        if queued:
            self._wake_worker()
        return queued
