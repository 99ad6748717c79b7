"""The ``vhod`` command.

Run from the repository root, every command uses the same configuration and ``var/``
database as ``make run`` (``VHOD_CONFIG`` names a config file; ``VHOD_DATA_DIR`` moves the
data), so a client added here works at once in a running gateway.

Exit codes: 0 success; 1 the operation failed (e.g. the audit chain is broken, a store is
unreachable); 2 bad input or configuration (every problem printed, one per line).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys

import click

from gateway.admin.audit import verify_audit_chain
from gateway.admin.client_changes import disable_client
from gateway.admin.clients import describe_client
from gateway.admin.clients import register_client
from gateway.admin.clients import set_client_disabled
from gateway.admin.factors import reset_factors
from gateway.admin.invites import create_invite
from gateway.app import build_services
from gateway.cli_applications import applications
from gateway.cli_device import device
from gateway.cli_esia import esia
from gateway.cli_policy import policy
from gateway.cli_sandbox import sandbox
from gateway.cli_schools import roster
from gateway.cli_schools import schools
from gateway.cli_support import fail
from gateway.cli_support import handle_errors
from gateway.compose import startup_problems
from gateway.config.loader import ENV_CONFIG
from gateway.config.loader import load_config
from gateway.config.schema import GatewayConfig
from gateway.core.audit import audit
from gateway.core.errors import NotFound
from gateway.core.errors import ValidationFailed
from gateway.core.factors import ACR_VALUES
from gateway.core.logs import configure_logging
from gateway.core.types import CLIENT_AUTH_METHODS
from gateway.core.types import GRANT_TYPES
from gateway.core.types import Client
from gateway.core.types import TokenFormat
from gateway.http.deps import Services


def _config(path: str | None = None) -> GatewayConfig:
    return load_config(path or os.environ.get(ENV_CONFIG))


def _services(prepare_stores: bool | None = None) -> Services:
    """Build the services for a command. In dev mode the schema and first keys are prepared
    on the fly (so any command works on a fresh ``var/``); in production only
    ``vhod db upgrade`` and ``vhod serve`` prepare, and other commands need a current schema.
    """
    config = _config()
    configure_logging("WARNING", "text")
    if prepare_stores is None:
        prepare_stores = not config.is_production
    return build_services(config, prepare_stores=prepare_stores)


@click.group()
@click.version_option(package_name="vhod")
def main() -> None:
    """vhod: Gosuslugi (ESIA) sign-in gateway for school information systems."""


# --------------------------------------------------------------------------- config


@main.group()
def config() -> None:
    """Configuration."""


@config.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@handle_errors
def config_check(file: str | None) -> None:
    """Validate FILE (or VHOD_CONFIG, or the defaults) and report every problem that
    ``vhod serve`` would refuse, all at once (the start-up checks themselves)."""
    cfg = load_config(file or os.environ.get(ENV_CONFIG), more_checks=startup_problems)
    click.echo(f"ok: mode={cfg.mode}, issuer={cfg.server.issuer}, {len(cfg.scopes)} scopes")


# --------------------------------------------------------------------------- db


@main.group()
def db() -> None:
    """Durable store."""


@db.command("upgrade")
@handle_errors
def db_upgrade() -> None:
    """Apply database migrations up to the newest version."""
    _services(prepare_stores=True)
    click.echo("database is up to date; signing keys present")


@db.command("restored")
@handle_errors
def db_restored() -> None:
    """Declare that the database was restored from a snapshot (SECURITY.md R15): tokens,
    refresh-token chains and consents issued before now stop working, so nothing revoked
    after the snapshot comes back to life. Run it after every restore, before serving
    (docs/operations.md)."""
    svc = _services()
    now = svc.clock.now()
    epoch = svc.restore_epoch.bump(now)
    with svc.uow() as uow:
        consents = uow.consents.revoke_granted_before(epoch, now, "restore")
        audit(uow, now, "db.restored", not_before=int(epoch), consents_revoked=consents)
        uow.commit()
    click.echo(
        f"not-before epoch {int(epoch)}: tokens issued before it are dead; "
        f"{consents} consent(s) revoked"
    )


# --------------------------------------------------------------------------- keys


@main.group()
def keys() -> None:
    """Signing keys and the sealing key ring."""


@keys.command("list")
@handle_errors
def keys_list() -> None:
    """List signing keys (never private parts)."""
    svc = _services()
    for info in svc.keys.list_keys():
        row = dataclasses.asdict(info)
        row["state"] = str(info.state)
        click.echo(json.dumps(row, ensure_ascii=False))


@keys.command("rotate")
@click.option(
    "--alg",
    type=click.Choice(["RS256", "ES256"]),
    default=None,
    help="Rotate only this algorithm's keys.",
)
@handle_errors
def keys_rotate(alg: str | None) -> None:
    """next → active → retired, and a new next key; JWKS keeps the retired key."""
    svc = _services()
    changes = svc.keys.rotate(alg)
    with svc.uow() as tx:
        audit(tx, svc.clock.now(), "keys.rotated", alg=alg or "all", actor="cli")
        tx.commit()
    for line in changes.describe():
        click.echo(line)


@keys.command("rotate-data-key")
@handle_errors
def keys_rotate_data_key() -> None:
    """Add a new data-encryption key; new values are sealed under it."""
    svc = _services()
    key_id = svc.data_keys.rotate_data_key()
    with svc.uow() as tx:
        audit(tx, svc.clock.now(), "keys.data_key_rotated", actor="cli")
        tx.commit()
    click.echo(f"new data key {key_id}; run `vhod keys reseal` to re-encrypt stored values")


@keys.command("reseal")
@handle_errors
def keys_reseal() -> None:
    """Re-encrypt every sealed value under the newest data key."""
    svc = _services()
    count = svc.data_keys.reseal()
    with svc.uow() as tx:
        audit(tx, svc.clock.now(), "keys.resealed", count=count, actor="cli")
        tx.commit()
    click.echo(f"re-sealed {count} values")


# --------------------------------------------------------------------------- clients


@main.group()
def clients() -> None:
    """Registered relying parties (school systems)."""


@clients.command("add")
@click.argument("client_id")
@click.option("--secret", default=None, help="At least 32 characters; generated if omitted.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Repeatable.")
@click.option("--scope", default="openid", show_default=True, help="Space-separated.")
@click.option(
    "--grant-type",
    "grant_types",
    multiple=True,
    type=click.Choice(GRANT_TYPES),
    help="Repeatable. Default: authorization_code + refresh_token.",
)
@click.option(
    "--token-format",
    type=click.Choice([f.value for f in TokenFormat]),
    default="jwt",
    show_default=True,
)
@click.option(
    "--auth-method",
    type=click.Choice(CLIENT_AUTH_METHODS),
    default="client_secret_basic",
    show_default=True,
)
@click.option("--backchannel-logout-uri", default=None)
@click.option("--post-logout-redirect-uri", "post_logout_uris", multiple=True)
@click.option("--sector", default=None, help="Pairwise-subject sector (default: client id).")
@click.option("--name", default="", help="Display name shown on the consent page.")
@click.option("--access-token-alg", type=click.Choice(["RS256", "ES256"]), default="ES256")
@click.option("--id-token-alg", type=click.Choice(["RS256", "ES256"]), default="RS256")
@click.option("--jwks", default=None, help="Client JWKS (JSON) for private_key_jwt.")
@click.option(
    "--introspection/--no-introspection",
    default=False,
    help="May call the introspection endpoint (a resource server).",
)
@click.option("--require-par/--no-require-par", default=False)
@click.option(
    "--min-acr",
    type=click.Choice(ACR_VALUES),
    default=None,
    help="The weakest acr the client accepts: below it every sign-in asks for a second "
    "factor (default: no minimum of its own).",
)
@handle_errors
def clients_add(
    client_id: str,
    secret: str | None,
    redirect_uris: tuple[str, ...],
    scope: str,
    grant_types: tuple[str, ...],
    token_format: str,
    auth_method: str,
    backchannel_logout_uri: str | None,
    post_logout_uris: tuple[str, ...],
    sector: str | None,
    name: str,
    access_token_alg: str,
    id_token_alg: str,
    jwks: str | None,
    introspection: bool,
    require_par: bool,
    min_acr: str | None,
) -> None:
    """Register CLIENT_ID. The secret is printed once; only its keyed digest is stored."""
    if jwks is not None:
        try:
            json.loads(jwks)
        except json.JSONDecodeError:
            raise ValidationFailed(["jwks: not valid JSON"]) from None
    svc = _services()
    client = Client(
        client_id=client_id,
        redirect_uris=tuple(redirect_uris),
        scopes=tuple(scope.split()),
        grant_types=tuple(dict.fromkeys(grant_types)) or ("authorization_code", "refresh_token"),
        name=name or client_id,
        token_endpoint_auth_method=auth_method,
        token_format=TokenFormat(token_format),
        access_token_alg=access_token_alg,
        id_token_alg=id_token_alg,
        post_logout_redirect_uris=tuple(post_logout_uris),
        backchannel_logout_uri=backchannel_logout_uri,
        sector=sector,
        jwks=jwks,
        introspection_allowed=introspection,
        require_par=require_par,
        min_acr=min_acr,
    )
    stored, shown_secret = register_client(
        svc.uow, svc.clock, svc.pepper, svc.config.scopes, client, secret
    )
    click.echo(f"registered {stored.client_id}")
    if shown_secret is not None and secret is None:
        click.echo(f"client_secret: {shown_secret}")
        click.echo("(shown once; only its digest is stored)")


@clients.command("list")
@handle_errors
def clients_list() -> None:
    """One line per client: id, state, grant types, scopes."""
    svc = _services()
    with svc.uow() as tx:
        rows = tx.clients.list()
    for c in sorted(rows, key=lambda c: c.client_id):
        state = "disabled" if c.disabled else "active"
        click.echo(f"{c.client_id}\t{state}\t{','.join(c.grant_types)}\t{' '.join(c.scopes)}")


@clients.command("show")
@click.argument("client_id")
@handle_errors
def clients_show(client_id: str) -> None:
    """Show one client as JSON (never the secret)."""
    svc = _services()
    with svc.uow() as tx:
        client = tx.clients.get(client_id)
    if client is None:
        raise NotFound(f"client {client_id} not found")
    click.echo(json.dumps(describe_client(client), ensure_ascii=False, indent=2))


@clients.command("disable")
@click.argument("client_id")
@handle_errors
def clients_disable(client_id: str) -> None:
    """Disable CLIENT_ID: its tokens stop working at once."""
    svc = _services()
    _, revoked = disable_client(svc.uow, svc.clock, client_id, "cli", svc.grant_revoker)
    click.echo(f"disabled {client_id}; {revoked} grant(s) revoked")


@clients.command("enable")
@click.argument("client_id")
@handle_errors
def clients_enable(client_id: str) -> None:
    """Enable a disabled client again."""
    svc = _services()
    set_client_disabled(svc.uow, svc.clock, client_id, False)
    click.echo(f"enabled {client_id}")


# --------------------------------------------------------------------------- admins


@main.group()
def admins() -> None:
    """Administrators."""


@admins.command("invite")
@click.option("--note", default="", help="Who the invite is for (no personal data).")
@click.option("--ttl-hours", default=24, show_default=True, type=click.IntRange(1, 168))
@handle_errors
def admins_invite(note: str, ttl_hours: int) -> None:
    """Print a one-time link; whoever signs in through it becomes an admin."""
    svc = _services()
    token = create_invite(svc.uow, svc.clock, svc.pepper, ttl_hours * 3600, note)
    click.echo(f"{svc.config.server.issuer}/admin/invite?token={token}")
    click.echo(f"(one-time link, valid {ttl_hours} h)")


@admins.command("reset-factors")
@click.argument("subject_id")
@handle_errors
def admins_reset_factors(subject_id: str) -> None:
    """Remove every second factor of a person (lost phone or app; audited, actor "cli").

    SUBJECT_ID is the internal subject id or the subject digest (as the audit log and the
    admin pages show it). Exit 2 for an unknown subject. The next login that needs a
    second factor sends an SMS code to the ESIA-verified mobile, which enrols it again.
    """
    svc = _services()
    digest, removed = reset_factors(svc.uow, svc.pepper, svc.factors, subject_id, "cli")
    click.echo(f"reset second factors of subject {digest}: {removed} credential(s) removed")


# --------------------------------------------------------------------------- audit


@main.group("audit")
def audit_group() -> None:
    """The hash-chained audit trail."""


@audit_group.command("verify")
@handle_errors
def audit_verify() -> None:
    """Check the whole chain; exit 1 and list every break if a row was changed or deleted."""
    svc = _services()
    report = verify_audit_chain(svc.uow)
    if report.ok:
        click.echo(f"ok: {report.rows} events, chain intact; head {report.head}")
        return
    for problem in report.problems:
        click.echo(f"seq {problem.seq}: {problem.problem}", err=True)
    fail([f"audit chain broken: {len(report.problems)} problem(s)"], 1)


# --------------------------------------------------------------------------- serve


SERVERS = ("granian", "gunicorn")


def granian_spares(max_in_flight: int) -> int:
    """The blocking threads granian runs per worker beyond ``max_in_flight``: an eighth
    of it, at least 2 (measured by ``bench http``, JWKS at 16 connections: 143–166 µs a
    request with 18 threads a worker against 178–218 µs with 32, in one run)."""
    return max(2, max_in_flight // 8)


def server_argv(
    cfg: GatewayConfig,
    server: str,
    bind_host: str,
    port: int,
    workers: int,
    app: str = "gateway.wsgi:app",
) -> list[str]:
    """The command line of ``vhod serve``'s HTTP server for ``app`` (``bench http`` runs its
    no-op floor app with the same).

    Each worker runs ``[server] max_in_flight`` threads and spares: the admission limit
    (``gateway.http.admission``) lets ``max_in_flight`` in and the spares answer the shed —
    gunicorn as many spares again; granian :func:`granian_spares` (its idle threads take
    requests in turn and each costs CPU; a shed answer takes microseconds, so a few
    spares drain the excess). granian: WSGI interface, HTTP/1.1 only (as gunicorn), no
    websockets, failed workers respawned, ten seconds for in-flight requests on SIGTERM;
    its access log stays off (``gateway.wsgi`` writes the line). gunicorn: gthread
    workers, ``--timeout`` ``request_timeout_seconds``, the access line by
    ``gateway.access_log.AccessLogger``.
    """
    admitted = cfg.server.max_in_flight
    if server == "granian":
        threads = str(admitted + granian_spares(admitted))
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--host",
            bind_host,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--blocking-threads",
            threads,
            "--backlog",
            "2048",  # gunicorn's default
            "--http",
            "1",
            "--no-ws",
            "--no-access-log",
            "--respawn-failed-workers",
            "--respawn-interval",
            "0.5",
            "--workers-kill-timeout",
            "10",
            app,
        ]
    threads = str(2 * admitted)
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{bind_host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        threads,
        "--worker-class",
        "gthread",
        "--timeout",
        str(cfg.server.request_timeout_seconds),
        "--graceful-timeout",
        "10",
        "--access-logfile",
        "-",
        "--logger-class",
        "gateway.access_log.AccessLogger",
        app,
    ]


@main.command("serve")
@click.option("--host", default=None, help="Default: [server] host.")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Default: [server] port.")
@click.option(
    "--workers", default=None, type=click.IntRange(1, 64), help="Default: [server] workers."
)
@click.option("--server", type=click.Choice(SERVERS), help="Default: [server] server (granian).")
@handle_errors
def serve(host: str | None, port: int | None, workers: int | None, server: str | None) -> None:
    """Run vhod under granian or gunicorn (migrations and first keys are prepared before
    the server starts its workers)."""
    svc = _services(prepare_stores=True)
    cfg = svc.config
    svc.engine.dispose()
    chosen = server or cfg.server.server
    bind_host, bind_port = host or cfg.server.host, port or cfg.server.port
    argv = server_argv(cfg, chosen, bind_host, bind_port, workers or cfg.server.workers)
    # The app reads the choice from its config (granian: the access line is the app's).
    os.environ["VHOD__SERVER__SERVER"] = chosen
    bind = f"{bind_host}:{bind_port}"
    click.echo(f"vhod {cfg.mode} on http://{bind}  (issuer {cfg.server.issuer}, {chosen})")
    click.echo(f"  health  http://{bind}/healthz   ready http://{bind}/readyz")
    os.execv(sys.executable, argv)  # noqa: S606 - argv list, no shell


@main.command("worker")
@handle_errors
def worker() -> None:
    """Deliver back-channel logout notifications (serving processes also do this in a
    thread; run a dedicated worker when workers are recycled often) and run the children
    lifecycle job: links end at the child's 18th birthday, parents are told before, scans
    of decided applications are purged. Ctrl-C stops it."""
    import signal
    import threading

    from gateway.oauth.backchannel import run_worker

    svc = _services()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo("vhod worker: back-channel logout notifications and the children lifecycle job")
    lifecycle = threading.Thread(
        target=svc.lifecycle.run, args=(stop,), name="vhod-lifecycle", daemon=True
    )
    lifecycle.start()
    try:
        run_worker(svc, stop)
    except KeyboardInterrupt:
        stop.set()
    lifecycle.join(5)


@main.command("dev")
@click.option("--host", default=None, help="Default: [server] host.")
@click.option(
    "--port", default=None, type=click.IntRange(0, 65535), help="Gateway; default [server] port."
)
@click.option(
    "--sandbox-port",
    default=None,
    type=click.IntRange(0, 65535),
    help="ESIA sandbox; default [dev] sandbox_port.",
)
@click.option(
    "--school-port",
    default=None,
    type=click.IntRange(0, 65535),
    help="Demo school; default [dev] school_port.",
)
@handle_errors
def dev(
    host: str | None, port: int | None, sandbox_port: int | None, school_port: int | None
) -> None:
    """Run the dev stack (what `make run` runs): gateway + ESIA sandbox + demo school."""
    from gateway.dev.runner import run_dev_stack

    run_dev_stack(_config(), host, port, sandbox_port, school_port)


main.add_command(applications)
main.add_command(device)
main.add_command(esia)
main.add_command(policy)
main.add_command(sandbox)
main.add_command(schools)
main.add_command(roster)
