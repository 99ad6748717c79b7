"""``vhod sandbox``: run the ESIA sandbox (dev and tests only) on its own port.

The sandbox is a separate WSGI app (``providers.upstream.esia_sandbox``) that the gateway
never imports; this command and the dev runner are its only doors. It registers
``[esia] client_id`` with the gateway's callback and creates, on first start, the demo
system's GOST key and certificate and its own signing keys under
``<data_dir>/esia-sandbox`` — exactly where ``[esia]``'s empty defaults look.

Exit codes follow ``vhod``: 2 for a refused configuration (production mode).
"""

from __future__ import annotations

import os
import sys

import click

from gateway.config.loader import ENV_CONFIG
from gateway.config.loader import load_config
from gateway.core.errors import ConfigError

__all__ = ["sandbox"]


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port", default=None, type=click.IntRange(1, 65535), help="Default: [dev] sandbox_port."
)
@click.option(
    "--data-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Default: <[server] data_dir>/esia-sandbox.",
)
def sandbox(host: str, port: int | None, data_dir: str | None) -> None:
    """Run the ESIA sandbox (an ESIA emulator with test personas; dev only)."""
    from providers.upstream.esia.settings import sandbox_dir
    from providers.upstream.esia_sandbox import run_sandbox
    from providers.upstream.esia_sandbox import sandbox_config_for

    try:
        config = load_config(os.environ.get(ENV_CONFIG))
    except ConfigError as exc:
        for line in exc.problems:
            click.echo(f"vhod: {line}", err=True)
        sys.exit(2)
    if config.is_production:
        click.echo("vhod: the ESIA sandbox is refused in production mode", err=True)
        sys.exit(2)
    bind_port = port or config.dev.sandbox_port
    directory = data_dir or str(sandbox_dir(config.server.data_dir))
    sandbox_config = sandbox_config_for(config, host, bind_port)
    base = f"http://{host}:{bind_port}"
    click.echo("vhod ESIA sandbox (dev and tests only; every person in it is made up)")
    click.echo(f"  base URL   {base}        ([esia] base_url)")
    click.echo(f"  issuer     {sandbox_config.issuer}   ([esia] issuer)")
    callbacks = ", ".join(sandbox_config.systems[0].redirect_uris)
    click.echo(f"  system     {config.esia.client_id} -> {callbacks}")
    click.echo(f"  personas   {base}/sandbox/personas")
    click.echo(f"  data       {directory}")
    run_sandbox(host, bind_port, directory, sandbox_config)
