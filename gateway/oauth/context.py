"""What the OAuth use cases share: settings, stores, clock, tokens; the neutral request.

``gateway.oauth`` never reads ``flask.request``: the HTTP layer hands it an
:class:`IncomingRequest` holding only what the protocol needs. Endpoint URLs are built
from the configured issuer, never from the ``Host`` header (SECURITY.md T71).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from types import TracebackType

from gateway.config.schema import GatewayConfig
from gateway.config.schema import OAuthSettings
from gateway.core.logs import log_event
from gateway.core.ports import ClaimsSource
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import UnitOfWork
from gateway.core.ports import UnitOfWorkFactory
from gateway.oauth.tokens import TokenService

log = logging.getLogger("gateway.oauth")

PATH_AUTHORIZE = "/authorize"
PATH_PAR = "/par"
PATH_TOKEN = "/token"
PATH_USERINFO = "/userinfo"
PATH_INTROSPECT = "/introspect"
PATH_REVOKE = "/revoke"
PATH_LOGOUT = "/logout"
PATH_JWKS = "/jwks"
PATH_DISCOVERY = "/.well-known/openid-configuration"


@dataclass(frozen=True)
class IncomingRequest:
    """An HTTP request as the protocol code sees it.

    :param params: the parameters of the request in order, duplicates kept: the query
        string of a GET, the form body of a POST (never both: credentials in the query
        string of a POST are not read; RFC 6749 §2.3.1).
    :param authorization: the ``Authorization`` header, if any.
    :param remote_addr: the client's address as the HTTP layer trusts it (rate limits).
    """

    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    authorization: str | None = None
    remote_addr: str = "unknown"


@dataclass
class OAuthContext:
    """Dependencies of the OAuth use cases, built once by the composition root."""

    config: GatewayConfig
    clock: Clock
    uow: UnitOfWorkFactory
    ephemeral: EphemeralStore
    tokens: TokenService
    claims: ClaimsSource | None = None
    on_event: Callable[[str], None] = field(default=lambda _event: None)
    """Counts named events (metrics); the HTTP layer wires Prometheus here."""

    @property
    def settings(self) -> OAuthSettings:
        return self.config.oauth

    @property
    def issuer(self) -> str:
        return self.config.server.issuer

    def url(self, path: str) -> str:
        return self.issuer + path

    def event(self, name: str, level: int = logging.INFO, **fields: object) -> None:
        """Log a named event with safe fields and count it."""
        log_event(log, name, level, **fields)
        self.on_event(name)


class RequestScope:
    """A lazily opened unit of work spanning one protocol request.

    Authlib runs a token request as several hooks (authenticate the refresh token, issue,
    save, revoke the old one); they share this transaction so that the exchange commits
    all at once or not at all (SECURITY.md R5). Opened on first use only: requests that
    never write hold no database lock.
    """

    def __init__(self, factory: UnitOfWorkFactory) -> None:
        self._factory = factory
        self._uow: UnitOfWork | None = None

    def uow(self) -> UnitOfWork:
        if self._uow is None:
            uow = self._factory()
            uow.__enter__()
            self._uow = uow
        return self._uow

    def commit(self) -> None:
        if self._uow is not None:
            self._uow.commit()

    def close(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        uow, self._uow = self._uow, None
        if uow is not None:
            uow.__exit__(exc_type, exc, tb)
