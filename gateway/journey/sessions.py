"""vhod's SSO sessions, server side in the ephemeral store (DESIGN.md "Sessions").

* The browser holds only a random secret (the session cookie, 256 bits); the store keys
  the session by a keyed digest of it (namespace ``sso_cookie`` → sid), so a store dump
  cannot be replayed as cookies.
* ``sid`` is a separate public id (it goes into ID tokens and back-channel logout
  tokens); the session itself lives under it (namespace ``sso``).
* Idle timeout (``session.idle_seconds``, touched on every use) and absolute timeout
  (``session.absolute_seconds`` from creation) come from the injected clock; the store
  TTL is the smaller of the two remainders, so an expired session is also gone from the
  store. SECURITY.md T61: AAL2 guidance, 30 min idle / 12 h absolute.
* A login always makes a new session with a new cookie and sid (no fixation, T61); the
  browser's earlier session ends.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

from gateway.config.schema import SessionSettings
from gateway.core.ids import keyed_digest
from gateway.core.ids import new_code
from gateway.core.ids import new_id
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import SsoSessions
from gateway.core.types import AuthContext
from gateway.core.types import SsoSession

SESSION_NAMESPACE = "sso"
COOKIE_NAMESPACE = "sso_cookie"
MAX_CLIENTS = 64


class EphemeralSsoSessions:
    """:class:`~gateway.core.ports.SsoSessions` over the ephemeral store."""

    def __init__(
        self, store: EphemeralStore, clock: Clock, settings: SessionSettings, pepper: bytes
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._pepper = pepper

    def current(self, cookie_value: str | None) -> SsoSession | None:
        """The live session the cookie names, touching its idle timer; else ``None``."""
        if not cookie_value or len(cookie_value) > 128:
            return None
        raw_sid = self._store.get(COOKIE_NAMESPACE, self._cookie_key(cookie_value))
        if raw_sid is None:
            return None
        loaded = self._load(raw_sid.decode())
        if loaded is None:
            return None
        session, cookie_key = loaded
        if cookie_key != self._cookie_key(cookie_value):
            return None
        now = self._clock.now()
        if not self._alive(session, now):
            self.end(session.sid)
            return None
        touched = replace(session, last_seen=now)
        self._save(touched, cookie_key)
        return touched

    def get(self, sid: str) -> SsoSession | None:
        """The live session ``sid`` without touching it (e.g. before issuing a code)."""
        loaded = self._load(sid)
        if loaded is None or not self._alive(loaded[0], self._clock.now()):
            return None
        return loaded[0]

    def create(
        self, subject_id: str, auth: AuthContext, upstream: str, clients: tuple[str, ...] = ()
    ) -> tuple[SsoSession, str]:
        """A new session and the cookie value that names it (set it on the response)."""
        now = self._clock.now()
        cookie = new_code()
        session = SsoSession(
            sid=new_id(),
            subject_id=subject_id,
            auth=auth,
            created_at=now,
            last_seen=now,
            upstream=upstream,
            clients=clients[-MAX_CLIENTS:],
        )
        self._save(session, self._cookie_key(cookie))
        return session, cookie

    def add_client(self, sid: str, client_id: str) -> None:
        loaded = self._load(sid)
        if loaded is None:
            return
        session, cookie_key = loaded
        if client_id in session.clients:
            return
        clients = (*session.clients, client_id)[-MAX_CLIENTS:]
        self._save(replace(session, clients=clients), cookie_key, cookie_too=False)

    def raise_auth(self, sid: str, auth: AuthContext) -> SsoSession | None:
        """The session after a step-up in it (a second factor passed without a new
        upstream login): its acr, amr and auth_time become ``auth``'s. ``None`` when the
        session ended meanwhile."""
        loaded = self._load(sid)
        if loaded is None or not self._alive(loaded[0], self._clock.now()):
            return None
        session, cookie_key = loaded
        raised = replace(session, auth=auth)
        self._save(raised, cookie_key, cookie_too=False)
        return raised

    def end(self, sid: str) -> SsoSession | None:
        loaded = self._load(sid)
        self._store.delete(SESSION_NAMESPACE, sid)
        if loaded is None:
            return None
        session, cookie_key = loaded
        self._store.delete(COOKIE_NAMESPACE, cookie_key)
        return session

    def end_by_cookie(self, cookie_value: str | None) -> SsoSession | None:
        """End the session the cookie names, alive or not; what it was, if it existed."""
        if not cookie_value or len(cookie_value) > 128:
            return None
        raw_sid = self._store.get(COOKIE_NAMESPACE, self._cookie_key(cookie_value))
        if raw_sid is None:
            return None
        ended = self.end(raw_sid.decode())
        self._store.delete(COOKIE_NAMESPACE, self._cookie_key(cookie_value))
        return ended

    # ------------------------------------------------------------------ internals

    def _alive(self, session: SsoSession, now: float) -> bool:
        return (
            now - session.last_seen < self._settings.idle_seconds
            and now - session.created_at < self._settings.absolute_seconds
        )

    def _ttl(self, session: SsoSession) -> int:
        idle_left = session.last_seen + self._settings.idle_seconds - self._clock.now()
        absolute_left = session.created_at + self._settings.absolute_seconds - self._clock.now()
        return max(1, math.ceil(min(idle_left, absolute_left)))

    def _cookie_key(self, cookie_value: str) -> str:
        return keyed_digest(self._pepper, "sso_cookie", cookie_value)

    def _save(self, session: SsoSession, cookie_key: str, *, cookie_too: bool = True) -> None:
        """Store the session and (``cookie_too``) its cookie → sid entry, both with the
        session's TTL; a change that leaves ``last_seen`` alone (``add_client``) leaves
        the TTL, and so the cookie entry, as they were."""
        ttl = self._ttl(session)
        body = _dump(session)
        body["ck"] = cookie_key
        record = (SESSION_NAMESPACE, session.sid, json.dumps(body).encode(), ttl)
        if cookie_too:  # both in one round trip
            cookie = (COOKIE_NAMESPACE, cookie_key, session.sid.encode(), ttl)
            self._store.put_many([record, cookie])
        else:
            self._store.put(*record)

    def _load(self, sid: str) -> tuple[SsoSession, str] | None:
        raw = self._store.get(SESSION_NAMESPACE, sid)
        if raw is None:
            return None
        body: dict[str, Any] = json.loads(raw)
        return _load(body), str(body["ck"])


def _dump(session: SsoSession) -> dict[str, Any]:
    return {
        "sid": session.sid,
        "sub": session.subject_id,
        "acr": session.auth.acr,
        "amr": list(session.auth.amr),
        "at": session.auth.auth_time,
        "c": session.created_at,
        "l": session.last_seen,
        "up": session.upstream,
        "cl": list(session.clients),
    }


def _load(body: dict[str, Any]) -> SsoSession:
    return SsoSession(
        sid=str(body["sid"]),
        subject_id=str(body["sub"]),
        auth=AuthContext(str(body["acr"]), tuple(body["amr"]), int(body["at"])),
        created_at=float(body["c"]),
        last_seen=float(body["l"]),
        upstream=str(body.get("up", "")),
        clients=tuple(body.get("cl", ())),
    )


_: type[SsoSessions] = EphemeralSsoSessions
