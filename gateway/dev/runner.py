"""``vhod dev`` / ``make run``: the whole dev stack on the embedded default.

Today: the gateway on http://127.0.0.1:8080 (SQLite + SQL ephemeral store in ``var/``).
The ESIA sandbox and the demo school join it as they land. Dev mode only: production
mode refuses to start it.
"""

from __future__ import annotations

import logging

import click
from werkzeug.serving import run_simple

from gateway.app import build_services
from gateway.app import create_app
from gateway.config.schema import GatewayConfig
from gateway.core.errors import ConfigError
from gateway.core.logs import configure_logging

log = logging.getLogger(__name__)


def run_dev_stack(config: GatewayConfig, host: str | None, port: int | None) -> None:
    if config.is_production:
        raise ConfigError(["[dev] the dev stack is refused in production mode"])
    configure_logging(config.logging.level, "text")
    services = build_services(config, prepare_stores=True)
    app = create_app(services=services)
    bind_host = host or config.server.host
    bind_port = port or config.server.port
    base = f"http://{bind_host}:{bind_port}"
    click.echo("vhod dev stack (dev mode: not for real personal data)")
    click.echo(f"  gateway    {base}/")
    click.echo(f"  discovery  {base}/.well-known/openid-configuration")
    click.echo(f"  health     {base}/healthz")
    click.echo(f"  ready      {base}/readyz")
    click.echo(f"  metrics    {base}/metrics")
    click.echo(f"  data       {services.config.server.data_dir}")
    click.echo("Ctrl-C stops everything.")
    run_simple(bind_host, bind_port, app, threaded=True, use_reloader=False)
