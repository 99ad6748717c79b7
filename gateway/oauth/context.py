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

from gateway.config.schema import GatewayConfig
from gateway.config.schema import OAuthSettings
from gateway.core.logs import log_event
from gateway.core.ports import ClaimsSource
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import KeySource
from gateway.core.ports import RestoreEpoch
from gateway.core.ports import UnitOfWorkFactory
from gateway.oauth.jose import Jose
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


def build_oauth_context(
    *,
    config: GatewayConfig,
    clock: Clock,
    uow: UnitOfWorkFactory,
    ephemeral: EphemeralStore,
    keys: KeySource,
    pepper: bytes,
    claims: ClaimsSource | None = None,
    restore_epoch: RestoreEpoch | None = None,
) -> OAuthContext:
    """The one way to assemble the OAuth context (token service included), shared by the
    serving provider and the stand-alone back-channel worker."""
    tokens = TokenService(
        issuer=config.server.issuer,
        settings=config.oauth,
        clock=clock,
        ephemeral=ephemeral,
        jose=Jose(keys),
        pepper=pepper,
        restore_epoch=restore_epoch,
    )
    return OAuthContext(
        config=config, clock=clock, uow=uow, ephemeral=ephemeral, tokens=tokens, claims=claims
    )
