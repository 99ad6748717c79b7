"""What the HTTP layer needs from the composition root, and per-request helpers.

``Services`` is the bag the app factory builds once and stores at
``app.extensions["vhod"]``; views reach it through :func:`services`. Use cases receive
explicit dependencies from it, never the bag itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import current_app
from flask import request

from gateway.config.schema import GatewayConfig
from gateway.core.ports import ClaimsSource
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import GrantRevoker
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.ports import UpstreamProvider
from gateway.journey.account import AccountService
from gateway.journey.service import JourneyService
from gateway.journey.sessions import EphemeralSsoSessions
from gateway.oauth.provider import OAuthProvider
from keys.manager import KeyManager
from keys.sealing import AesGcmSealer
from policies.documents.source import ActiveRuleDocuments


@dataclass
class Services:
    """Everything built once per process by ``gateway.app.build_services``."""

    config: GatewayConfig
    clock: Clock
    uow: UnitOfWorkFactory
    ephemeral: EphemeralStore
    sealer: AesGcmSealer
    keys: KeyManager
    pepper: bytes
    session_secret: bytes
    upstreams: dict[str, UpstreamProvider] = field(default_factory=dict)
    """Enabled upstream identity providers by name (``providers.registry``)."""
    sso_sessions: EphemeralSsoSessions | None = None
    journeys: JourneyService | None = None
    accounts: AccountService | None = None
    claims: ClaimsSource | None = None
    """Userinfo / ID-token claims of a subject (``gateway.journey.claims``)."""
    grant_revoker: GrantRevoker | None = None
    """Makes revoked grants' access tokens fail at once (consent withdrawal, T97); when
    unset, the account pages use ``oauth`` (``OAuthProvider`` implements the port)."""
    oauth: OAuthProvider | None = None
    """The OAuth / OpenID Connect provider (``gateway.http.oauth.init_oauth`` builds it)."""
    policy_documents: ActiveRuleDocuments | None = None
    """The admin rule document in force (``policies.documents``), shared by the engine and
    the admin pages (which invalidate it after an apply)."""
    readiness_checks: dict[str, Callable[[], None]] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    """Use-case objects added by later layers (oauth server, journey service...)."""


def services() -> Services:
    svc = current_app.extensions["vhod"]
    if not isinstance(svc, Services):
        raise RuntimeError("the app was not built by gateway.app.create_app")
    return svc


def client_ip(trusted_proxy_hops: int) -> str:
    """The client's address: ``X-Forwarded-For`` is trusted only for the configured number
    of proxy hops (RFC 9700 §4.13: never derive security decisions from spoofable headers).
    """
    remote = request.remote_addr or "unknown"
    if trusted_proxy_hops <= 0:
        return remote
    forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",")]
    forwarded = [p for p in forwarded if p]
    chain = [*forwarded, remote]
    index = max(0, len(chain) - 1 - trusted_proxy_hops)
    return chain[index]
