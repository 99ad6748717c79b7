"""``vhod dev`` / ``make run``: the whole dev stack in one process.

Three werkzeug servers in threads (:class:`DevStack`), on loopback by default:

* the gateway on ``[server] port`` (8080), with ``[upstream] provider = "esia"`` and
  ``[esia]`` pointing at the sandbox (``request_email = true``: e-mail codes work),
  SQLite and the SQL ephemeral store in ``var/``, and the dev outbox at ``/dev/outbox``;
* the ESIA sandbox on ``[dev] sandbox_port`` (8081), its data under
  ``var/esia-sandbox/``: on the first start it creates its signing keys and, for
  ``[esia] client_id``, the gateway's GOST key and certificate (where ``[esia]``'s empty
  ``key_path`` / ``certificate_path`` look) and registers that system with the gateway's
  callback;
* the demo school on ``[dev] school_port`` (8082): "Школа № 1" at ``/`` and the school
  library at ``/library`` — two registered clients, to show single sign-on.

Ports come from ``--port`` / ``--sandbox-port`` / ``--school-port``, else the config;
``0`` picks a free port (tests). The demo clients are registered (or brought up to date:
ports, secret) at every start, so the command is idempotent. Ctrl-C stops everything.
Production mode refuses the stack.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

import click
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from gateway.admin.clients import client_secret_digest
from gateway.admin.clients import register_client
from gateway.app import build_services
from gateway.app import create_app
from gateway.config.schema import GatewayConfig
from gateway.core.audit import audit
from gateway.core.errors import ConfigError
from gateway.core.ids import keyed_digest
from gateway.core.logs import configure_logging
from gateway.core.types import Client
from gateway.dev.outbox import DevOutbox
from gateway.dev.outbox import build_outbox
from gateway.dev.outbox import install_outbox
from gateway.dev.school import SchoolSettings
from gateway.dev.school import create_school_app
from gateway.dev.school_registry import seed_school_registry
from gateway.dev.servers import ServerThread
from gateway.http.deps import Services
from providers.upstream.esia.settings import sandbox_dir
from providers.upstream.esia_sandbox import create_sandbox_app
from providers.upstream.esia_sandbox import sandbox_config_for

__all__ = ["DemoClient", "DevStack", "dev_config", "run_dev_stack"]

log = logging.getLogger(__name__)

LIBRARY_PREFIX = "/library"


@dataclass(frozen=True)
class DemoClient:
    """A demo relying party the stack registers and serves."""

    client_id: str
    title: str
    scope: str
    prefix: str
    cookie_name: str
    child_scope: str = ""
    """The scope of «Войти за ребёнка» (``child`` and delegable scopes); empty: no button."""

    @property
    def scopes(self) -> tuple[str, ...]:
        """Every scope the client is registered for (both buttons')."""
        return tuple(dict.fromkeys((*self.scope.split(), *self.child_scope.split())))


DEMO_CLIENTS = (
    DemoClient(
        "demo-school",
        "Школа № 1 — электронный дневник",
        "openid profile children diary schedule",
        "",
        "demo_school",
        child_scope="openid child diary schedule",
    ),
    DemoClient(
        "demo-library",
        "Школьная библиотека",
        "openid profile",
        LIBRARY_PREFIX,
        "demo_library",
    ),
)


def _public_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - a name, not a bind


def dev_config(config: GatewayConfig, host: str, port: int, sandbox_url: str) -> GatewayConfig:
    """``config`` as the dev stack runs it: the issuer at ``host:port``, ESIA = the sandbox
    at ``sandbox_url`` (asked for the verified e-mail too, so e-mail codes are on offer),
    ``[dev] enabled``.

    :raises ConfigError: in production mode.
    """
    if config.is_production:
        raise ConfigError(["[dev] the dev stack is refused in production mode"])
    server = config.server.model_copy(
        update={"issuer": f"http://{_public_host(host)}:{port}", "host": host, "port": port}
    )
    esia = config.esia.model_copy(
        update={"base_url": sandbox_url, "issuer": f"{sandbox_url}/", "request_email": True}
    )
    upstream = config.upstream.model_copy(update={"provider": "esia"})
    dev = config.dev.model_copy(update={"enabled": True})
    return config.model_copy(
        update={"server": server, "esia": esia, "upstream": upstream, "dev": dev}
    )


def demo_secret(services: Services, client_id: str) -> str:
    """The demo client's secret: stable across restarts (derived from the dev secrets)."""
    return keyed_digest(services.session_secret, "demo_client_secret", client_id)


def ensure_demo_client(services: Services, demo: DemoClient, base_url: str) -> Client:
    """Register ``demo`` (or update its URIs and secret); idempotent.

    :param base_url: where the demo is served, with its prefix, no trailing slash.
    """
    settings = SchoolSettings(
        client_id=demo.client_id,
        client_secret="",
        issuer=services.config.server.issuer,
        base_url=base_url,
        title=demo.title,
        secret_key=b"",
    )
    wanted = Client(
        client_id=demo.client_id,
        redirect_uris=(settings.redirect_uri,),
        scopes=demo.scopes,
        grant_types=("authorization_code", "refresh_token"),
        name=demo.title,
        post_logout_redirect_uris=(settings.post_logout_redirect_uri,),
        backchannel_logout_uri=settings.backchannel_logout_uri,
    )
    secret = demo_secret(services, demo.client_id)
    with services.uow() as tx:
        current = tx.clients.get(demo.client_id)
    if current is None:
        stored, _ = register_client(
            services.uow,
            services.clock,
            services.pepper,
            services.config.scopes,
            wanted,
            secret,
        )
        return stored
    updated = replace(
        current,
        redirect_uris=wanted.redirect_uris,
        scopes=wanted.scopes,
        grant_types=wanted.grant_types,
        name=wanted.name,
        post_logout_redirect_uris=wanted.post_logout_redirect_uris,
        backchannel_logout_uri=wanted.backchannel_logout_uri,
        secret_digest=client_secret_digest(services.pepper, secret),
        disabled=False,
    )
    if updated != current:
        with services.uow() as tx:
            tx.clients.update(updated)
            audit(tx, services.clock.now(), "client.updated", client_id=demo.client_id, actor="dev")
            tx.commit()
    return updated


@dataclass
class DevStack:
    """The running stack (:meth:`start`); :meth:`stop` ends every server."""

    config: GatewayConfig
    services: Services
    outbox: DevOutbox
    gateway: ServerThread
    sandbox: ServerThread
    school: ServerThread
    personas: list[dict[str, Any]]
    schools: dict[str, SchoolSettings]

    @classmethod
    def start(
        cls,
        config: GatewayConfig,
        host: str | None = None,
        port: int | None = None,
        sandbox_port: int | None = None,
        school_port: int | None = None,
    ) -> DevStack:
        """Bind, build and serve the three apps (``0`` as a port: a free one).

        :raises ConfigError: production mode, or a configuration the gateway refuses.
        :raises OSError: a port is taken.
        """
        if config.is_production:
            raise ConfigError(["[dev] the dev stack is refused in production mode"])
        bind = host or config.server.host
        servers: list[ServerThread] = []
        try:
            gateway = ServerThread.bind(bind, _port(port, config.server.port), "gateway")
            servers.append(gateway)
            sandbox = ServerThread.bind(bind, _port(sandbox_port, config.dev.sandbox_port), "esia")
            servers.append(sandbox)
            school = ServerThread.bind(bind, _port(school_port, config.dev.school_port), "school")
            servers.append(school)
            cfg = dev_config(config, bind, gateway.port, sandbox.url)
            sandbox_app = _sandbox_app(cfg, sandbox)
            sandbox.serve(sandbox_app)
            services = build_services(cfg, prepare_stores=True)
            app = create_app(services=services)
            outbox = build_outbox(cfg, services.ephemeral, services.clock)
            install_outbox(app, outbox, cfg.is_production)
            gateway.serve(app)
            schools = _schools(services, school.url)
            seed_school_registry(services, sandbox_app.extensions["esia_sandbox"].personas)
            school.serve(_school_wsgi(schools))
        except BaseException:
            for server in servers:
                server.stop()
            raise
        personas = [p.public() for p in sandbox_app.extensions["esia_sandbox"].personas.values()]
        return cls(cfg, services, outbox, gateway, sandbox, school, personas, schools)

    def stop(self) -> None:
        """Stop the servers, the back-channel worker and the database pool."""
        for server in (self.school, self.gateway, self.sandbox):
            server.stop()
        self.services.oauth.backchannel.stop()
        self.services.engine.dispose()

    def describe(self) -> list[str]:
        """What ``vhod dev`` prints: URLs, demo clients, personas (made-up data only)."""
        gw = self.config.server.issuer
        lines = [
            "vhod dev stack (dev mode: made-up people only, never real personal data)",
            f"  demo school     {self.school.url}/            ← start here",
            f"  school library  {self.school.url}{LIBRARY_PREFIX}/     (second client: SSO)",
            f"  gateway         {gw}/",
            f"  discovery       {gw}/.well-known/openid-configuration",
            f"  your account    {gw}/account",
            f"  dev outbox      {gw}/dev/outbox   (SMS, e-mail and push messages, newest last)",
            f"  health          {gw}/healthz   ready {gw}/readyz   metrics {gw}/metrics",
            f"  ESIA sandbox    {self.sandbox.url}/   personas {self.sandbox.url}/sandbox/personas",
            f"  data            {self.config.server.data_dir}/ (sandbox: "
            f"{sandbox_dir(self.config.server.data_dir)}/)",
            "Demo clients (registered at every start):",
        ]
        for demo in self.schools.values():
            lines.append(f"  {demo.client_id:<14} {demo.base_url}/   scope: {demo.scope}")
        lines.append("Personas on the sandbox login page (pick one after «Войти через Госуслуги»):")
        for persona in self.personas:
            lines.append(f"  {persona['id']:<14} {persona['level']:<11} {persona['label_ru']}")
        lines.append("Ctrl-C stops everything.")
        return lines


def _port(option: int | None, configured: int) -> int:
    return configured if option is None else option


def _sandbox_app(config: GatewayConfig, server: ServerThread) -> Any:
    sandbox_config = sandbox_config_for(config, _public_host(server.host), server.port)
    if config.esia.certificate_path:
        systems = tuple(
            replace(spec, certificate_path=config.esia.certificate_path)
            for spec in sandbox_config.systems
        )
        sandbox_config = replace(sandbox_config, systems=systems)
    return create_sandbox_app(sandbox_dir(config.server.data_dir), sandbox_config)


def _schools(services: Services, school_url: str) -> dict[str, SchoolSettings]:
    urls = {demo.client_id: f"{school_url}{demo.prefix}" for demo in DEMO_CLIENTS}
    schools: dict[str, SchoolSettings] = {}
    for demo in DEMO_CLIENTS:
        base_url = urls[demo.client_id]
        ensure_demo_client(services, demo, base_url)
        schools[demo.client_id] = SchoolSettings(
            client_id=demo.client_id,
            client_secret=demo_secret(services, demo.client_id),
            issuer=services.config.server.issuer,
            base_url=base_url,
            title=demo.title,
            secret_key=keyed_digest(
                services.session_secret, "demo_school_cookie", demo.client_id
            ).encode(),
            scope=demo.scope,
            child_scope=demo.child_scope,
            cookie_name=demo.cookie_name,
            peers=tuple(
                (other.title, f"{urls[other.client_id]}/")
                for other in DEMO_CLIENTS
                if other is not demo
            ),
        )
    return schools


def _school_wsgi(schools: dict[str, SchoolSettings]) -> Any:
    apps: dict[str, Any] = {
        demo.prefix: create_school_app(schools[demo.client_id]) for demo in DEMO_CLIENTS
    }
    root = apps.pop("")
    return DispatcherMiddleware(root, apps)


def run_dev_stack(
    config: GatewayConfig,
    host: str | None,
    port: int | None,
    sandbox_port: int | None = None,
    school_port: int | None = None,
) -> None:
    """Run the stack in the foreground until Ctrl-C (``vhod dev``).

    :raises ConfigError: production mode or a refused configuration.
    """
    if config.is_production:
        raise ConfigError(["[dev] the dev stack is refused in production mode"])
    configure_logging(config.logging.level, "text")
    stack = DevStack.start(config, host, port, sandbox_port, school_port)
    for line in stack.describe():
        click.echo(line)
    stopped = threading.Event()
    try:
        while not stopped.wait(3600):
            pass
    except KeyboardInterrupt:
        click.echo("stopping…")
    finally:
        stack.stop()
