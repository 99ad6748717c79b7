"""HTTP benchmark of the OAuth endpoints under vhod's production server.

``python -m bench http``. vhod runs as ``vhod serve`` runs it — gunicorn, ``gthread``
workers, 2 workers × ``server.threads`` threads, access log on — against PostgreSQL and
Redis (``GATEWAY_TEST_DATABASE_URL`` / ``GATEWAY_TEST_REDIS_URL``, else the local defaults;
a dedicated schema and key prefix, dropped afterwards) or, when they are not reachable,
the embedded SQLite default. ``wrk`` (``-t2 -c32``, 5 s per scenario, small Lua scripts
for the POSTs) measures on loopback only:

* discovery and JWKS (GET);
* ``client_credentials`` tokens: JWT RS256, JWT ES256, opaque;
* introspection of a JWT access token by its own client.

Each figure is printed beside (a) the floor of the same server stack — a no-op WSGI app
(:func:`noop_app`) under the same gunicorn settings and the same load — and (b) reference
figures of a certified Node.js OP (node-oidc-provider) on this machine class. The whole
run stays under about three minutes.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.processes import free_port

DURATION = "5s"
CONNECTIONS = 32
WRK_THREADS = 2
WORKERS = 2
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_DEFAULT = "redis://127.0.0.1:6379/15"

NODE_REFERENCE = {
    "discovery": 6500.0,
    "jwks": 9600.0,
    "token RS256": 900.0,
    "token ES256": 1800.0,
    "token opaque": 2700.0,
    "introspection": 3500.0,
}


def noop_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The floor: a WSGI app that reads the body and answers a small JSON document."""
    stream = environ.get("wsgi.input")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if stream is not None and length:
        stream.read(length)
    body = b'{"ok":true}'
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    method: str = "GET"
    body: str = ""
    authorization: str = ""


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _reachable(kind: str, url: str) -> bool:
    try:
        if kind == "redis":
            import redis

            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            try:
                client.ping()
            finally:
                client.close()
            return True
        from sqlalchemy import text

        from gateway.store.sql.engine import create_engine

        engine = create_engine(url, pool_size=1, timeout_seconds=2)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
        return True
    except Exception:
        return False


@contextmanager
def _backends(workdir: Path) -> Iterator[tuple[dict[str, Any], str]]:
    """Store settings for the run and a label; cleans up what it created."""
    pg = os.environ.get("GATEWAY_TEST_DATABASE_URL") or PG_DEFAULT
    rd = os.environ.get("GATEWAY_TEST_REDIS_URL") or REDIS_DEFAULT
    if not (_reachable("postgresql", pg) and _reachable("redis", rd)):
        yield {"ephemeral_url": "sql"}, "SQLite + SQL ephemeral (PostgreSQL/Redis unreachable)"
        return
    from sqlalchemy import text

    from gateway.store.sql.engine import create_engine

    tag = f"vhod_bench_{secrets.token_hex(4)}"
    admin = create_engine(pg, pool_size=1)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{tag}"'))
    separator = "&" if "?" in pg else "?"
    store = {
        "database_url": f"{pg}{separator}options=-csearch_path%3D{tag}",
        "ephemeral_url": rd,
        "redis_prefix": tag,
    }
    try:
        yield store, "PostgreSQL + Redis"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{tag}" CASCADE'))
        admin.dispose()
        import redis

        client = redis.Redis.from_url(rd)
        keys = list(client.scan_iter(f"{tag}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        client.close()


def _write_config(path: Path, port: int, store: dict[str, Any], data_dir: Path) -> None:
    lines = [
        'mode = "dev"',
        "[server]",
        f'issuer = "http://127.0.0.1:{port}"',
        'host = "127.0.0.1"',
        f"port = {port}",
        f"workers = {WORKERS}",
        f'data_dir = "{data_dir}"',
        "[store]",
        *(f"{k} = {json.dumps(v)}" for k, v in store.items()),
        "[logging]",
        'level = "INFO"',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _prepare(config_path: Path) -> dict[str, str]:
    """Migrate, create keys and clients (in this process); return Basic headers."""
    from gateway.admin.clients import register_client
    from gateway.app import build_services
    from gateway.config.loader import load_config
    from gateway.core.types import Client
    from gateway.core.types import TokenFormat

    svc = build_services(load_config(str(config_path)), prepare_stores=True)
    headers: dict[str, str] = {}
    variants = {
        "rs": {"access_token_alg": "RS256"},
        "es": {"access_token_alg": "ES256", "introspection_allowed": True},
        "opaque": {"token_format": TokenFormat.OPAQUE},
    }
    for name, fields in variants.items():
        client = Client(
            client_id=f"bench-{name}",
            redirect_uris=("https://bench.example/cb",),
            scopes=("openid", "diary", "schedule"),
            grant_types=("client_credentials",),
            **fields,  # type: ignore[arg-type]
        )
        _, secret = register_client(svc.uow, svc.clock, svc.pepper, svc.config.scopes, client, None)
        raw = f"bench-{name}:{secret}".encode()
        headers[name] = "Basic " + base64.b64encode(raw).decode()
    svc.engine.dispose()
    return headers


@contextmanager
def _gunicorn(app: str, port: int, env: dict[str, str], log: Path) -> Iterator[None]:
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--threads",
        "4",
        "--worker-class",
        "gthread",
        "--timeout",
        "30",
        "--access-logfile",
        str(log.with_suffix(".access")),
        "--access-logformat",
        '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
        app,
    ]
    with log.open("ab") as sink:
        process = subprocess.Popen(argv, env=env, stdout=sink, stderr=sink, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start; see {log}") from None
                time.sleep(0.2)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _lua(scenario: Scenario, workdir: Path) -> Path | None:
    if scenario.method == "GET":
        return None
    script = workdir / f"{re.sub(r'[^a-z0-9]+', '_', scenario.name.lower())}.lua"
    headers = ['wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"']
    if scenario.authorization:
        headers.append(f'wrk.headers["Authorization"] = "{scenario.authorization}"')
    script.write_text(
        "\n".join(
            [
                f'wrk.method = "{scenario.method}"',
                f"wrk.body = {json.dumps(scenario.body)}",
                *headers,
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    return script


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    if not match:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _wrk(url: str, script: Path | None) -> Result:
    argv = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{DURATION}",
        "--timeout",
        "5s",
        "--latency",
    ]
    if script is not None:
        argv += ["-s", str(script)]
    out = subprocess.run(
        [*argv, url], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors:.*timeout (\d+)", out)
    count = int(errors.group(1)) if errors else 0
    count += int(socket_errors.group(1)) if socket_errors else 0
    return Result(rps, p50, p99, count)


def _introspection_body(port: int, authorization: str) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/token",
        data=b"grant_type=client_credentials&scope=diary",
        headers={
            "Authorization": authorization,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        token = json.loads(response.read())["access_token"]
    return f"token={token}&token_type_hint=access_token"


def main() -> None:
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)")
        return
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vhod-bench-") as tmp:
        workdir = Path(tmp)
        port, floor_port = free_port(), free_port()
        with _backends(workdir) as (store, label):
            config = workdir / "vhod.toml"
            _write_config(config, port, store, workdir / "var")
            auth = _prepare(config)
            env = {**os.environ, "VHOD_CONFIG": str(config), "PYTHONPATH": str(Path.cwd())}
            results: dict[str, tuple[Result, Result]] = {}
            with _gunicorn("gateway.wsgi:app", port, env, workdir / "vhod.log"):
                scenarios = [
                    Scenario("discovery", "/.well-known/openid-configuration"),
                    Scenario("jwks", "/jwks"),
                    Scenario(
                        "token RS256",
                        "/token",
                        "POST",
                        "grant_type=client_credentials&scope=diary",
                        auth["rs"],
                    ),
                    Scenario(
                        "token ES256",
                        "/token",
                        "POST",
                        "grant_type=client_credentials&scope=diary",
                        auth["es"],
                    ),
                    Scenario(
                        "token opaque",
                        "/token",
                        "POST",
                        "grant_type=client_credentials&scope=diary",
                        auth["opaque"],
                    ),
                    Scenario(
                        "introspection",
                        "/introspect",
                        "POST",
                        _introspection_body(port, auth["es"]),
                        auth["es"],
                    ),
                ]
                for scenario in scenarios:
                    results[scenario.name] = (
                        _wrk(f"http://127.0.0.1:{port}{scenario.path}", _lua(scenario, workdir)),
                        Result(0, 0, 0, 0),
                    )
            with _gunicorn("bench.http:noop_app", floor_port, env, workdir / "floor.log"):
                for scenario in scenarios:
                    floor = _wrk(
                        f"http://127.0.0.1:{floor_port}{scenario.path}", _lua(scenario, workdir)
                    )
                    results[scenario.name] = (results[scenario.name][0], floor)
    _print(results, label, time.monotonic() - started)


def _print(results: dict[str, tuple[Result, Result]], label: str, elapsed: float) -> None:
    print(
        f"vhod under gunicorn gthread ({WORKERS} workers x 4 threads), {label}; "
        f"wrk -t{WRK_THREADS} -c{CONNECTIONS} -d{DURATION}, loopback"
    )
    header = (
        f"{'scenario':<14} {'vhod rps':>9} {'p50 ms':>7} {'p99 ms':>7} {'err':>4} | "
        f"{'floor rps':>9} {'p50 ms':>7} {'p99 ms':>7} | {'node ref':>8} {'vhod/ref':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, (vhod, floor) in results.items():
        reference = NODE_REFERENCE[name]
        print(
            f"{name:<14} {vhod.rps:>9.0f} {vhod.p50_ms:>7.2f} {vhod.p99_ms:>7.2f} "
            f"{vhod.errors:>4} | {floor.rps:>9.0f} {floor.p50_ms:>7.2f} {floor.p99_ms:>7.2f} | "
            f"{reference:>8.0f} {vhod.rps / reference:>8.2f}"
        )
    print(f"(whole run {elapsed:.0f} s; floor = no-op WSGI app, same server settings and load)")
