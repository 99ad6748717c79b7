"""The sandbox's in-memory state: pending logins, one-time codes, tokens, injected faults.

Everything lives in one process and is lost on restart (a dev and test tool). One lock
guards it all; the sandbox serves few requests.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import Any

__all__ = ["ENDPOINTS", "TOKEN_DEFECTS", "CodeGrant", "Faults", "PendingLogin", "SandboxState"]

ENDPOINTS = ("authorize", "token", "rest", "logout")
TOKEN_DEFECTS = ("signature", "iss", "expired", "aud", "client_id", "sbt", "state", "not_yet_valid")
"""What ``token_defect`` can spoil in the next token answers (SECURITY.md T91 tests)."""


@dataclass(frozen=True)
class PendingLogin:
    """A validated authorize request waiting for the login form."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str
    access_type: str
    protocol: str
    expires: float


@dataclass
class CodeGrant:
    """An authorization code (single use) or, after use, the grant behind a refresh token."""

    client_id: str
    persona_id: str
    scopes: tuple[str, ...]
    redirect_uri: str
    access_type: str
    sid: str
    auth_time: int
    expires: float
    used: bool = False
    issued_tokens: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TokenGrant:
    client_id: str
    persona_id: str
    scopes: tuple[str, ...]
    expires: float


@dataclass(frozen=True)
class Faults:
    """Injected faults (``POST /sandbox/faults``); ``remaining`` None means "until cleared".

    :param latency_ms: delay before answering, on ``endpoints``.
    :param http_status: answer this 5xx status instead, on ``endpoints``.
    :param authorize_error: an ESIA code (``"007055"``) the authorize endpoint answers with.
    :param token_error: an ESIA code the token endpoint answers with.
    :param token_defect: one of :data:`TOKEN_DEFECTS`, spoiling issued tokens.
    """

    latency_ms: int = 0
    http_status: int = 0
    endpoints: tuple[str, ...] = ENDPOINTS
    authorize_error: str | None = None
    token_error: str | None = None
    token_defect: str | None = None
    remaining: int | None = None

    @classmethod
    def from_json(cls, data: Any) -> Faults:
        """Validate the admin endpoint's JSON; ``ValueError`` names the bad field."""
        if not isinstance(data, dict):
            raise ValueError("a JSON object expected")
        unknown = set(data) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
        latency = data.get("latency_ms", 0)
        if not isinstance(latency, int) or not 0 <= latency <= 30_000:
            raise ValueError("latency_ms: 0..30000")
        status = data.get("http_status", 0)
        if not isinstance(status, int) or not (status == 0 or 500 <= status <= 599):
            raise ValueError("http_status: 0 or 500..599")
        endpoints = data.get("endpoints", list(ENDPOINTS))
        if not isinstance(endpoints, list) or any(e not in ENDPOINTS for e in endpoints):
            raise ValueError(f"endpoints: a list of {', '.join(ENDPOINTS)}")
        for name in ("authorize_error", "token_error"):
            code = data.get(name)
            if code is not None and (
                not isinstance(code, str) or len(code) != 6 or not code.isdigit()
            ):
                raise ValueError(f"{name}: a six-digit ESIA code such as '007055'")
        defect = data.get("token_defect")
        if defect is not None and defect not in TOKEN_DEFECTS:
            raise ValueError(f"token_defect: one of {', '.join(TOKEN_DEFECTS)}")
        remaining = data.get("remaining")
        if remaining is not None and (not isinstance(remaining, int) or remaining < 1):
            raise ValueError("remaining: a positive integer")
        return cls(
            latency_ms=latency,
            http_status=status,
            endpoints=tuple(endpoints),
            authorize_error=data.get("authorize_error"),
            token_error=data.get("token_error"),
            token_defect=defect,
            remaining=remaining,
        )

    def public(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "http_status": self.http_status,
            "endpoints": list(self.endpoints),
            "authorize_error": self.authorize_error,
            "token_error": self.token_error,
            "token_defect": self.token_defect,
            "remaining": self.remaining,
        }


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SandboxState:
    """Thread-safe holder of everything the sandbox remembers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, PendingLogin] = {}
        self._codes: dict[str, CodeGrant] = {}
        self._refresh: dict[str, CodeGrant] = {}
        self._tokens: dict[str, TokenGrant] = {}
        self._faults = Faults()

    # --------------------------------------------------------------- logins and codes

    def add_pending(self, txn: str, login: PendingLogin) -> None:
        with self._lock:
            self._purge()
            self._pending[txn] = login

    def take_pending(self, txn: str) -> PendingLogin | None:
        with self._lock:
            login = self._pending.pop(txn, None)
        if login is None or login.expires < time.time():
            return None
        return login

    def add_code(self, code: str, grant: CodeGrant) -> None:
        with self._lock:
            self._purge()
            self._codes[token_key(code)] = grant

    def use_code(self, code: str) -> tuple[CodeGrant | None, bool]:
        """``(grant, first_use)``; a reused code revokes what the first use issued."""
        with self._lock:
            grant = self._codes.get(token_key(code))
            if grant is None or grant.expires < time.time():
                return None, False
            if grant.used:
                for key in grant.issued_tokens:
                    self._tokens.pop(key, None)
                    self._refresh.pop(key, None)
                return grant, False
            grant.used = True
            return grant, True

    def add_tokens(
        self, grant: CodeGrant, access_token: str, refresh_token: str | None, ttl: int
    ) -> None:
        with self._lock:
            key = token_key(access_token)
            self._tokens[key] = TokenGrant(
                grant.client_id, grant.persona_id, grant.scopes, time.time() + ttl
            )
            grant.issued_tokens.append(key)
            if refresh_token is not None:
                rkey = token_key(refresh_token)
                self._refresh[rkey] = grant
                grant.issued_tokens.append(rkey)

    def use_refresh(self, refresh_token: str) -> CodeGrant | None:
        with self._lock:
            return self._refresh.pop(token_key(refresh_token), None)

    def token(self, access_token: str) -> TokenGrant | None:
        with self._lock:
            grant = self._tokens.get(token_key(access_token))
        if grant is None or grant.expires < time.time():
            return None
        return grant

    def _purge(self) -> None:
        now = time.time()
        for txn in [t for t, p in self._pending.items() if p.expires < now]:
            del self._pending[txn]
        for key in [k for k, g in self._codes.items() if g.expires + 3600 < now]:
            del self._codes[key]

    # --------------------------------------------------------------- faults

    @property
    def faults(self) -> Faults:
        with self._lock:
            return self._faults

    def set_faults(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults

    def consume_fault(self) -> Faults:
        """The active faults, counting one use when ``remaining`` is set."""
        with self._lock:
            current = self._faults
            if current.remaining is not None:
                left = current.remaining - 1
                self._faults = Faults() if left <= 0 else replace(current, remaining=left)
            return current
