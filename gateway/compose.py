"""The composition root: every service of a process, built once, into one frozen container.

Only the entry points reach this module (``gateway.app`` — which re-exports
:func:`build_services` —, ``gateway.cli``, ``gateway.dev``, ``bench/``, tests). Nothing
below it builds another layer's services: the use cases receive their dependencies from
here, typed as the ports of ``gateway.core.ports`` where one exists.

Order: config (dev secrets filled in) → durable store (migrated first where the caller
asks) → ephemeral store → sealer → signing keys → policy (rule documents, engine) →
upstreams → SSO sessions → second factors → journey, account pages, claims → OAuth provider.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from types import MappingProxyType

from gateway.admin.applications import ApplicationReview
from gateway.admin.schools import SchoolDirectory
from gateway.config.devsecrets import secret_bytes
from gateway.config.devsecrets import with_dev_secrets
from gateway.config.loader import data_dir
from gateway.config.loader import database_url
from gateway.config.schema import GatewayConfig
from gateway.config.schema import production_problems
from gateway.core.clock import SystemClock
from gateway.core.errors import ConfigError
from gateway.core.faults import arm_from_environment
from gateway.core.faults import crash_point_problems
from gateway.core.ports import Clock
from gateway.core.ports import Disposable
from gateway.core.ports import EphemeralStore
from gateway.core.ports import UnitOfWorkFactory
from gateway.http import ops
from gateway.http.deps import Services
from gateway.journey.account import AccountService
from gateway.journey.applications import ChildApplications
from gateway.journey.children import ChildrenAccount
from gateway.journey.claims import SubjectClaims
from gateway.journey.guardianship import LinkProblems
from gateway.journey.lifecycle import ChildrenLifecycle
from gateway.journey.service import JourneyService
from gateway.journey.sessions import EphemeralSsoSessions
from gateway.journey.steps import build_journey_steps
from gateway.oauth.client_cache import bump_client_version
from gateway.oauth.provider import build_oauth_provider
from gateway.oauth.tokens import GrantRevocationMarks
from gateway.store.factory import build_engine
from gateway.store.factory import ephemeral_store_from_url
from gateway.store.restore_epoch import StoredRestoreEpoch
from gateway.store.sql.migrate import is_up_to_date
from gateway.store.sql.migrate import upgrade
from gateway.store.sql.uow import SqlUnitOfWorkFactory
from gateway.store.time_authority import AuthorityClock
from gateway.store.time_authority import authority_of
from keys.manager import KeyManager
from keys.sealing import AesGcmSealer
from policies.build import build_policy_engine
from policies.documents.source import ActiveRuleDocuments
from providers.documents import ContentInspector
from providers.factors.login import Notices
from providers.notices import ProfileNotices
from providers.registry import FactorDeps
from providers.registry import UpstreamDeps
from providers.registry import build_factor_management
from providers.registry import build_factors
from providers.registry import build_senders
from providers.registry import build_upstreams
from providers.registry import upstream_problems


def startup_problems(config: GatewayConfig) -> list[str]:
    """Everything start-up refuses in ``config``, all at once: the schema's production
    rules and what building the upstream would refuse (files read). ``vhod config check``
    runs this very function (through ``load_config(more_checks=...)``), and
    :func:`build_services` refuses to start while it finds anything."""
    return (
        production_problems(config)
        + upstream_problems(config)
        + crash_point_problems(config.is_production)
    )


def build_services(
    config: GatewayConfig, clock: Clock | None = None, *, prepare_stores: bool = False
) -> Services:
    """Build every service of the gateway from a validated config (no HTTP).

    :param prepare_stores: bring the schema up to date and create the first signing keys.
        Run once per deployment step (``vhod db upgrade``, ``vhod serve`` before forking
        workers, ``vhod dev``, tests), not in every worker; without it an outdated schema is
        a clear error.
    :raises ConfigError: an outdated schema, an upstream the registry lacks or the mode
        refuses.
    """
    config = with_dev_secrets(config)
    problems = startup_problems(config)
    if problems:
        raise ConfigError(problems)
    authority_clock = AuthorityClock() if clock is None else None
    clock = clock or authority_clock or SystemClock()
    engine, uow, ephemeral, sealer = _stores(config, clock, prepare_stores)
    if authority_clock is not None:  # R7: one time authority for every node
        authority_clock.bind(authority_of(engine, ephemeral))
    arm_from_environment(data_dir(config))
    key_manager = KeyManager(uow, sealer, clock, config.keys)
    pepper = secret_bytes(config.secrets.pepper, "pepper")

    policy_documents = ActiveRuleDocuments(
        uow, config.scopes, clock, config.admin.policy_reload_seconds
    )
    policy = build_policy_engine(policy_documents)
    upstreams = build_upstreams(UpstreamDeps(config, ephemeral, clock, pepper))
    sso_sessions = EphemeralSsoSessions(ephemeral, clock, config.session, pepper)
    factor_deps = FactorDeps(config, uow, ephemeral, sealer, clock, pepper)
    factors = build_factors(factor_deps)
    journeys = JourneyService(
        build_journey_steps(
            store=ephemeral,
            uow=uow,
            sealer=sealer,
            clock=clock,
            pepper=pepper,
            config=config,
            upstreams=upstreams,
            policy=policy,
            sessions=sso_sessions,
            factors=factors,
        )
    )
    accounts = AccountService(
        uow=uow, sealer=sealer, clock=clock, pepper=pepper, catalogue=config.scopes
    )
    claims = SubjectClaims(uow, sealer, config.scopes, clock)
    restore_epoch = StoredRestoreEpoch(data_dir(config), ephemeral)
    oauth = build_oauth_provider(
        restore_epoch=restore_epoch,
        config=config,
        clock=clock,
        uow=uow,
        ephemeral=ephemeral,
        keys=key_manager,
        pepper=pepper,
        sessions=sso_sessions,
        claims=claims,
        on_event=_count_event,
    )
    notices = ProfileNotices(
        uow, sealer, Notices(*build_senders(factor_deps), config.sms.service_name)
    )
    if prepare_stores:
        key_manager.ensure_keys()
    return Services(
        config=config,
        clock=clock,
        engine=engine,
        uow=uow,
        ephemeral=ephemeral,
        sealer=sealer,
        data_keys=sealer,
        keys=key_manager,
        pepper=pepper,
        session_secret=secret_bytes(config.secrets.session_secret, "session_secret"),
        readiness_checks=readiness_checks(uow, ephemeral),
        upstreams=MappingProxyType(upstreams),
        policy_documents=policy_documents,
        policy=policy,
        sso_sessions=sso_sessions,
        journeys=journeys,
        accounts=accounts,
        claims=claims,
        grant_revoker=GrantRevocationMarks(ephemeral, config.oauth),
        oauth=oauth,
        factors=build_factor_management(factor_deps),
        children=ChildrenAccount(
            uow=uow,
            sealer=sealer,
            clock=clock,
            pepper=pepper,
            problems=LinkProblems(ephemeral, sealer),
        ),
        schools=SchoolDirectory(uow, sealer, clock),
        applications=ChildApplications(
            uow=uow,
            store=ephemeral,
            sealer=sealer,
            clock=clock,
            pepper=pepper,
            settings=config.applications,
            inspector=ContentInspector(),
            notices=notices,
        ),
        reviews=ApplicationReview(
            uow=uow,
            sealer=sealer,
            clock=clock,
            pepper=pepper,
            settings=config.applications,
            notices=notices,
        ),
        lifecycle=ChildrenLifecycle(
            uow=uow,
            store=ephemeral,
            clock=clock,
            pepper=pepper,
            settings=config.applications,
            notices=notices,
        ),
        restore_epoch=restore_epoch,
    )


def _stores(
    config: GatewayConfig, clock: Clock, prepare_stores: bool
) -> tuple[Disposable, SqlUnitOfWorkFactory, EphemeralStore, AesGcmSealer]:
    """The durable store (migrated when asked, else checked current), the ephemeral store
    and the sealer over the durable store's data keys."""
    data_dir(config).mkdir(parents=True, exist_ok=True)
    engine = build_engine(
        database_url(config),
        pool_size=config.store.pool_size,
        timeout_seconds=config.store.operation_timeout_seconds,
    )
    if prepare_stores:
        upgrade(engine)
    elif not is_up_to_date(engine):
        raise ConfigError(
            ["[store] database_url: the schema is not current; run `vhod db upgrade`"]
        )
    uow = SqlUnitOfWorkFactory(engine)
    ephemeral = ephemeral_store_from_url(
        config.store.ephemeral_url,
        engine=engine,
        prefix=config.store.redis_prefix,
        timeout_seconds=config.store.operation_timeout_seconds,
        clock=clock,
    )
    uow.on_clients_changed(bump_client_version(ephemeral))
    sealer = AesGcmSealer.load(
        uow,
        secret_bytes(config.secrets.key_encryption_key, "key_encryption_key"),
        secret_bytes(config.secrets.blind_index_key, "blind_index_key"),
        clock,
    )
    return engine, uow, ephemeral, sealer


def readiness_checks(
    uow: UnitOfWorkFactory, ephemeral: EphemeralStore
) -> Mapping[str, Callable[[], None]]:
    """What ``/readyz`` pings: each raises ``StoreUnavailable`` when its store is down."""

    def database() -> None:
        with uow() as tx:
            tx.clients.get("\x00readiness")

    return MappingProxyType({"ephemeral": ephemeral.ping, "database": database})


def _count_event(event: str) -> None:
    """The OAuth provider's named events, counted for ``/metrics``."""
    ops.count_event(event)
