"""The composition root: build every service once, then the Flask app around them.

Nothing imports this module except the entry points (``gateway.wsgi``, ``gateway.cli``,
``gateway.dev``) and tests. Order, as in the Flask app-factory pattern: load config →
build services (stores — migrated first where the caller asks —, sealer, keys) → register
security hooks, blueprints, error handlers → log warnings.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from flask import Response
from flask import render_template

from gateway import __version__
from gateway.config.devsecrets import secret_bytes
from gateway.config.devsecrets import with_dev_secrets
from gateway.config.loader import ENV_CONFIG
from gateway.config.loader import data_dir
from gateway.config.loader import database_url
from gateway.config.loader import load_config
from gateway.config.schema import GatewayConfig
from gateway.config.warnings import startup_warnings
from gateway.core.clock import SystemClock
from gateway.core.errors import ConfigError
from gateway.core.logs import configure_logging
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from gateway.http import account
from gateway.http import admin
from gateway.http import consent
from gateway.http import factors
from gateway.http import login
from gateway.http import ops
from gateway.http.deps import Services
from gateway.http.errors import register_error_handlers
from gateway.http.i18n import current_language
from gateway.http.i18n import register_messages
from gateway.http.i18n import t
from gateway.http.oauth import init_oauth
from gateway.http.security import init_security
from gateway.journey.build import build_login
from gateway.oauth.tokens import GrantRevocationMarks
from gateway.store.factory import build_engine
from gateway.store.factory import ephemeral_store_from_url
from gateway.store.sql.migrate import is_up_to_date
from gateway.store.sql.migrate import upgrade
from gateway.store.sql.uow import SqlUnitOfWorkFactory
from keys.manager import KeyManager
from keys.sealing import AesGcmSealer
from policies.documents.source import ActiveRuleDocuments
from providers.upstream.esia.errors import messages as esia_messages

log = logging.getLogger(__name__)


def build_services(
    config: GatewayConfig, clock: Clock | None = None, *, prepare_stores: bool = False
) -> Services:
    """Build stores, sealer and key manager from a validated config (no HTTP).

    :param prepare_stores: bring the schema up to date and create the first signing keys.
        Run once per deployment step (``vhod db upgrade``, ``vhod serve`` before forking
        workers, ``vhod dev``, tests), not in every worker; without it an outdated schema is
        a clear error.
    """
    config = with_dev_secrets(config)
    clock = clock or SystemClock()
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
    sealer = AesGcmSealer.load(
        uow,
        secret_bytes(config.secrets.key_encryption_key, "key_encryption_key"),
        secret_bytes(config.secrets.blind_index_key, "blind_index_key"),
        clock,
    )
    key_manager = KeyManager(uow, sealer, clock, config.keys)
    svc = Services(
        config=config,
        clock=clock,
        uow=uow,
        ephemeral=ephemeral,
        sealer=sealer,
        keys=key_manager,
        pepper=secret_bytes(config.secrets.pepper, "pepper"),
        session_secret=secret_bytes(config.secrets.session_secret, "session_secret"),
    )
    svc.readiness_checks["ephemeral"] = ephemeral.ping
    svc.readiness_checks["database"] = lambda: _ping_database(svc)
    svc.extras["engine"] = engine
    svc.policy_documents = ActiveRuleDocuments(
        uow, config.scopes, clock, config.admin.policy_reload_seconds
    )
    login = build_login(
        config=config,
        store=ephemeral,
        uow=uow,
        sealer=sealer,
        clock=clock,
        pepper=svc.pepper,
        policy_documents=svc.policy_documents,
    )
    svc.upstreams = login.upstreams
    svc.sso_sessions = login.sessions
    svc.journeys = login.journeys
    svc.accounts = login.accounts
    svc.claims = login.claims
    svc.grant_revoker = GrantRevocationMarks(ephemeral, config.oauth)
    if prepare_stores:
        key_manager.ensure_keys()
    return svc


def _ping_database(svc: Services) -> None:
    with svc.uow() as uow:
        uow.clients.get("\x00readiness")


def create_app(
    config: GatewayConfig | None = None,
    *,
    services: Services | None = None,
) -> Flask:
    """Build the WSGI app.

    :param config: validated config; loaded from ``VHOD_CONFIG`` (or defaults) if absent.
    :param services: prebuilt services (tests inject a fixed clock this way).
    """
    import os

    if services is None:
        if config is None:
            config = load_config(os.environ.get(ENV_CONFIG))
        configure_logging(config.logging.level, config.logging.format)
        services = build_services(config)
    config = services.config

    app = Flask(
        "gateway",
        template_folder=str(Path(__file__).parent / "http" / "templates"),
        static_folder=str(Path(__file__).parent / "http" / "static"),
    )
    app.config.update(
        SECRET_KEY=services.session_secret,
        MAX_CONTENT_LENGTH=256 * 1024,
        JSON_SORT_KEYS=False,
        TRAP_HTTP_EXCEPTIONS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["vhod"] = services
    app.jinja_env.globals.update(t=t, version=__version__)
    app.context_processor(lambda: {"lang": current_language()})

    register_messages(esia_messages())  # ESIA failure pages (providers/upstream/esia)
    init_security(app)
    ops.init_metrics(app)
    app.register_blueprint(ops.bp)
    init_oauth(app)
    app.register_blueprint(login.bp)
    app.register_blueprint(consent.bp)
    app.register_blueprint(factors.bp)
    app.register_blueprint(account.bp)
    admin.init_admin(app)

    @app.get("/")
    def home() -> Response:
        return Response(render_template("home.html"), mimetype="text/html")

    register_error_handlers(app)
    for warning in startup_warnings(config):
        log_event(log, "config.warning", logging.WARNING, warning=warning)
    log_event(log, "app.started", version=__version__, mode=str(config.mode))
    return app
