"""``build_login``: the login half's services, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config.schema import GatewayConfig
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.ports import UpstreamProvider
from gateway.journey.account import AccountService
from gateway.journey.claims import SubjectClaims
from gateway.journey.service import JourneyService
from gateway.journey.sessions import EphemeralSsoSessions
from gateway.journey.steps import build_journey_steps
from policies.build import build_policy_engine
from policies.rules import RuleDocuments
from providers.registry import UpstreamDeps
from providers.registry import build_upstreams


@dataclass(frozen=True)
class LoginServices:
    upstreams: dict[str, UpstreamProvider]
    sessions: EphemeralSsoSessions
    journeys: JourneyService
    accounts: AccountService
    claims: SubjectClaims


def build_login(
    *,
    config: GatewayConfig,
    store: EphemeralStore,
    uow: UnitOfWorkFactory,
    sealer: Sealer,
    clock: Clock,
    pepper: bytes,
    policy_documents: RuleDocuments | None = None,
) -> LoginServices:
    """Upstreams (from the registry, as config selects), SSO sessions, the journey, the
    account pages' use case and the claims source.

    :param policy_documents: the admin rule documents in force (``policies.documents``).
    :raises ConfigError: an upstream the registry lacks or the mode refuses.
    """
    upstreams = build_upstreams(UpstreamDeps(config, store, clock, pepper))
    sessions = EphemeralSsoSessions(store, clock, config.session, pepper)
    journeys = JourneyService(
        build_journey_steps(
            store=store,
            uow=uow,
            sealer=sealer,
            clock=clock,
            pepper=pepper,
            config=config,
            upstreams=upstreams,
            policy=build_policy_engine(policy_documents),
            sessions=sessions,
        )
    )
    accounts = AccountService(
        uow=uow,
        sealer=sealer,
        clock=clock,
        pepper=pepper,
        catalogue=config.scopes,
    )
    claims = SubjectClaims(uow, sealer, config.scopes)
    return LoginServices(upstreams, sessions, journeys, accounts, claims)
