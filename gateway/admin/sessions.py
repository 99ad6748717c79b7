"""Admin sessions: the rules, without the web (SECURITY.md T69).

An admin session is separate from the SSO session and short. The browser holds a random
cookie; the ephemeral store holds, under the cookie's keyed digest (namespace
``admin_session``), the subject, the SSO session it was made in and when, with a TTL of
``session.admin_idle_seconds`` that every admin request renews (idle timeout).

A session starts only after a fresh sign-in (an SSO session younger than the idle timeout)
by a subject with the admin role, and it holds only while all of this stays true: the
browser's live SSO session is the one it was made in, the subject still has the role, and
— with ``[admin] require_second_factor`` — the SSO session's acr is
``urn:vhod:acr:esia-mfa``. A session that no longer holds is deleted.

How the sign-in gets there (:meth:`AdminSessions.sign_in_needed`): without a fresh SSO
session, a new sign-in at the upstream that asks for :attr:`AdminSessions.min_acr` (the
journey's factor step follows ESIA); with a fresh one whose acr is too weak, a step-up in
that session (only the second factor, no upstream again). A person with no enrolled
factor passes the SMS code to the ESIA-verified mobile, which enrols that number.

The HTTP layer (:mod:`gateway.http.admin`) reads the cookies and calls
:class:`AdminSessions`; the cookie's attributes and the pages are its business.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from gateway.admin.admins import is_admin
from gateway.admin.subjects import subject_digest
from gateway.config.schema import ACR_ESIA_MFA
from gateway.core.audit import audit
from gateway.core.ids import constant_time_equals
from gateway.core.ids import keyed_digest
from gateway.core.ids import new_code
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.types import SsoSession

SESSION_NAMESPACE = "admin_session"
COOKIE_MIN_LENGTH, COOKIE_MAX_LENGTH = 32, 64
"""Cookie values outside these lengths are not looked up (``new_code`` makes 43)."""

Refusal = Literal["not_admin", "second_factor_required"]
"""Why a freshly signed-in person gets no admin session (a log reason and a page)."""

SignIn = Literal["sign_in", "step_up"]
"""What a browser must do before an admin session: a new sign-in (upstream, then the
factor), or a step-up in its fresh SSO session (the factor only)."""


@dataclass(frozen=True)
class AdminSession:
    key: str
    subject_id: str
    sid: str
    created_at: float

    def csrf_binding(self) -> str:
        """What this session's CSRF tokens are bound to (``security.check_csrf``)."""
        return f"admin\x00{self.key}"


@dataclass(frozen=True)
class AdminSessions:
    """Start, load (and renew) and end admin sessions.

    :param idle_seconds: ``session.admin_idle_seconds`` — the record's TTL, and how old a
        sign-in may be to start a session.
    :param require_second_factor: ``[admin] require_second_factor``.
    """

    store: EphemeralStore
    uow: UnitOfWorkFactory
    clock: Clock
    pepper: bytes
    idle_seconds: int
    require_second_factor: bool

    def acr_ok(self, acr: str) -> bool:
        """Whether a sign-in with ``acr`` is strong enough for the admin side."""
        return not self.require_second_factor or acr == ACR_ESIA_MFA

    @property
    def min_acr(self) -> str | None:
        """The acr an admin sign-in journey asks for (``None``: whatever the upstream gives)."""
        return ACR_ESIA_MFA if self.require_second_factor else None

    def sign_in_needed(self, sso: SsoSession | None) -> SignIn | None:
        """What the browser with ``sso`` must do before :meth:`refusal` and :meth:`start`:
        ``sign_in`` (no SSO session, or not fresh), ``step_up`` (fresh, acr too weak), or
        ``None`` (ready)."""
        if sso is None or not self.fresh(sso.auth.auth_time):
            return "sign_in"
        if not self.acr_ok(sso.auth.acr):
            return "step_up"
        return None

    def fresh(self, auth_time: int) -> bool:
        """Whether a sign-in at ``auth_time`` is recent enough to act on as an admin."""
        return self.clock.now() - auth_time <= self.idle_seconds

    def refusal(self, sso: SsoSession) -> Refusal | None:
        """Why the person signed in with ``sso`` gets no admin session, or ``None``."""
        if not is_admin(self.uow, sso.subject_id):
            return "not_admin"
        if not self.acr_ok(sso.auth.acr):
            return "second_factor_required"
        return None

    def start(self, sso: SsoSession) -> tuple[AdminSession, str]:
        """A new admin session in ``sso`` (audited ``admin.signed_in``) and the cookie value
        that names it. Check :meth:`fresh` and :meth:`refusal` first."""
        cookie = new_code()
        session = AdminSession(self._key(cookie), sso.subject_id, sso.sid, self.clock.now())
        self._save(session)
        with self.uow() as tx:
            who = subject_digest(self.pepper, sso.subject_id)
            audit(tx, self.clock.now(), "admin.signed_in", actor=who, acr=sso.auth.acr)
            tx.commit()
        return session, cookie

    def load(
        self, cookie: str, current_sso: Callable[[], SsoSession | None]
    ) -> AdminSession | None:
        """The admin session ``cookie`` names, renewed; ``None`` when there is none or it no
        longer holds (SSO session ended or changed, role removed, acr too weak).

        :param current_sso: the browser's live SSO session; called only when the record
            exists (reading it touches the SSO session's idle timer).
        """
        if not self._plausible(cookie):
            return None
        key = self._key(cookie)
        raw = self.store.get(SESSION_NAMESPACE, key)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            session = AdminSession(
                key, str(data["subject_id"]), str(data["sid"]), float(data["created_at"])
            )
        except (ValueError, KeyError, TypeError):
            return None
        sso = current_sso()
        if (
            sso is None
            or not constant_time_equals(sso.sid, session.sid)
            or sso.subject_id != session.subject_id
            or not self.acr_ok(sso.auth.acr)
            or not is_admin(self.uow, session.subject_id)
        ):
            self.store.delete(SESSION_NAMESPACE, key)
            return None
        self._save(session)
        return session

    def end(self, cookie: str) -> None:
        """Forget the session ``cookie`` names (the SSO session stays)."""
        if self._plausible(cookie):
            self.store.delete(SESSION_NAMESPACE, self._key(cookie))

    @staticmethod
    def _plausible(cookie: str) -> bool:
        return COOKIE_MIN_LENGTH <= len(cookie) <= COOKIE_MAX_LENGTH

    def _key(self, cookie: str) -> str:
        return keyed_digest(self.pepper, "admin_session", cookie)

    def _save(self, session: AdminSession) -> None:
        body = {
            "subject_id": session.subject_id,
            "sid": session.sid,
            "created_at": session.created_at,
        }
        self.store.put(SESSION_NAMESPACE, session.key, json.dumps(body).encode(), self.idle_seconds)
