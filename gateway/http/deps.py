"""What the HTTP layer needs from the composition root, and per-request helpers.

``Services`` is the frozen container ``gateway.compose.build_services`` builds once per
process (every field set at construction) and ``gateway.app.create_app`` stores at
``app.extensions["vhod"]``; views reach it through :func:`services`. Use cases receive
explicit dependencies from it, never the container itself. Keys and sealing are typed as
ports (``gateway.core.ports``): the HTTP layer never sees ``keys.*`` or ``gateway.store.*``.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app
from flask import request

from gateway.admin.applications import ApplicationReview
from gateway.admin.schools import SchoolDirectory
from gateway.config.schema import GatewayConfig
from gateway.core.factors import FactorManagement
from gateway.core.ports import ClaimsSource
from gateway.core.ports import Clock
from gateway.core.ports import DataKeyRing
from gateway.core.ports import Disposable
from gateway.core.ports import EphemeralStore
from gateway.core.ports import GrantRevoker
from gateway.core.ports import KeyManagement
from gateway.core.ports import RestoreEpoch
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.ports import UpstreamProvider
from gateway.journey.account import AccountService
from gateway.journey.applications import ChildApplications
from gateway.journey.children import ChildrenAccount
from gateway.journey.lifecycle import ChildrenLifecycle
from gateway.journey.service import JourneyService
from gateway.journey.sessions import EphemeralSsoSessions
from gateway.oauth.provider import OAuthProvider
from policies.documents.source import ActiveRuleDocuments
from policies.engine import PolicyEngine


@dataclass(frozen=True)
class Services:
    """Everything built once per process by ``gateway.compose.build_services``."""

    config: GatewayConfig
    clock: Clock
    engine: Disposable
    """The durable store's connection pool; dispose it at exit (or before forking)."""
    uow: UnitOfWorkFactory
    ephemeral: EphemeralStore
    sealer: Sealer
    data_keys: DataKeyRing
    """The sealer's key ring, for ``vhod keys rotate-data-key`` / ``reseal``."""
    keys: KeyManagement
    pepper: bytes
    session_secret: bytes
    readiness_checks: Mapping[str, Callable[[], None]]
    """What ``/readyz`` pings, by name (``ephemeral``, ``database``)."""
    upstreams: Mapping[str, UpstreamProvider]
    """Enabled upstream identity providers by name (``providers.registry``)."""
    policy_documents: ActiveRuleDocuments
    """The admin rule document in force (``policies.documents``), shared by the engine and
    the admin pages (which invalidate it after an apply)."""
    policy: PolicyEngine
    sso_sessions: EphemeralSsoSessions
    journeys: JourneyService
    accounts: AccountService
    claims: ClaimsSource
    """Userinfo / ID-token claims of a subject (``gateway.journey.claims``)."""
    grant_revoker: GrantRevoker
    """Makes revoked grants' access tokens fail at once (consent withdrawal, T97)."""
    oauth: OAuthProvider
    """The OAuth / OpenID Connect provider."""
    factors: FactorManagement
    """The person's enrolled second factors (``/account``, admin reset)."""
    children: ChildrenAccount
    """«Мои дети» on ``/account``: linked children, unlinking, guardian consents."""
    schools: SchoolDirectory
    """The school registry and rosters (search, imports, school systems' pushes)."""
    applications: ChildApplications
    """Link applications, the parent's side (``/account/children/apply``, «Мои заявки»)."""
    reviews: ApplicationReview
    """Link applications, the review (admin pages and API, ``vhod applications``)."""
    lifecycle: ChildrenLifecycle
    """Links ending at 18, notices before, documents purged (``vhod worker``)."""
    restore_epoch: RestoreEpoch
    """The not-before epoch of a database restore (``vhod db restored``; R15)."""


def services() -> Services:
    svc = current_app.extensions["vhod"]
    if not isinstance(svc, Services):
        raise RuntimeError("the app was not built by gateway.app.create_app")
    return svc


def client_ip(trusted_proxy_hops: int) -> str:
    """The client's address (:func:`client_address` of this request)."""
    return client_address(
        request.remote_addr, request.headers.get("X-Forwarded-For", ""), trusted_proxy_hops
    )


def client_address(remote_addr: str | None, forwarded_for: str, trusted_proxy_hops: int) -> str:
    """The client's address: ``X-Forwarded-For`` is trusted only for the configured number
    of proxy hops (RFC 9700 §4.13: never derive security decisions from spoofable headers).
    """
    remote = remote_addr or "unknown"
    if trusted_proxy_hops <= 0:
        return remote
    forwarded = [p.strip() for p in forwarded_for.split(",")]
    forwarded = [p for p in forwarded if p]
    chain = [*forwarded, remote]
    index = max(0, len(chain) - 1 - trusted_proxy_hops)
    return chain[index]
