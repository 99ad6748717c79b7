"""HTTP benchmark: vhod beside node-oidc-provider, measured in the same run (issue 13).

``python -m bench http`` (``make bench``; never part of ``make test``) starts two servers
and drives both with ``wrk`` (one thread, keep-alive) on loopback:

* **reference** — ``bench/reference/server.js``: node-oidc-provider (version pinned in
  ``bench/reference/package-lock.json``, installed with ``npm ci`` at run time into
  ``bench/reference/node_modules``), ``node:cluster`` with 2 workers, tokens in Redis
  through a small adapter (so a token issued by one worker introspects on the other, as
  vhod's do). Its keys (RS256 and ES256, two of each, like vhod's active + next) and
  clients are generated here.
* **vhod** — ``vhod serve --workers 2`` (gunicorn gthread, access log on) on PostgreSQL +
  Redis (``GATEWAY_TEST_DATABASE_URL`` / ``GATEWAY_TEST_REDIS_URL``, else the local
  defaults; a schema and key prefix of its own, dropped afterwards), or the embedded
  SQLite default when they are not reachable (then the reference is skipped: it needs
  Redis). ``BENCH_SERVER=granian`` runs the same app under granian (WSGI) instead.

The same clients on both sides: ``client_credentials`` with a secret (HTTP Basic), scope
``diary``; one client gets RS256 JWT access tokens, the other opaque ones and introspects
its own tokens. Scenarios: discovery, JWKS, token (JWT RS256), token (opaque),
introspection (of an opaque token). Every answer is checked for real before it is timed
(status and JSON shape); non-2xx answers during the timing count as errors.

The order is interleaved — for each round, scenario and connection count: reference, then
vhod — so that both see the same machine. Printed per scenario: req/s (median of the
rounds, and the range), p50 and p99 latency, errors, server CPU µs per request (all the
server's processes, from ``/proc``) and vhod/reference from this run only; then the
floor: a no-op WSGI app under vhod's server with the same load. Everything started here is
stopped by PID.

Knobs: ``BENCH_DURATION`` (default ``10s``), ``BENCH_WARMUP`` (``3s``),
``BENCH_CONNECTIONS`` (``16``; e.g. ``16,64``), ``BENCH_ROUNDS`` (``2``),
``BENCH_SERVER`` (``gunicorn`` or ``granian``: not a project dependency, ``pip install
granian`` first; vhod then runs as ``gateway.wsgi:app`` under granian's WSGI interface, its
access log on, after the same preparation as ``vhod serve``).
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import statistics
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
from urllib.parse import urlsplit

from bench.processes import free_port
from bench.processes import process
from bench.processes import tree_cpu

DURATION = os.environ.get("BENCH_DURATION", "10s")
WARMUP = os.environ.get("BENCH_WARMUP", "3s")
CONNECTIONS = tuple(int(c) for c in os.environ.get("BENCH_CONNECTIONS", "16").split(","))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
SERVER = os.environ.get("BENCH_SERVER", "gunicorn")
WRK_THREADS = 1
WORKERS = 2
THREADS = 4
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_DEFAULT = "redis://127.0.0.1:6379/15"
REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
SCOPE = "diary"
TOKEN_BODY = f"grant_type=client_credentials&scope={SCOPE}"


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


# ------------------------------------------------------------------------------ model


Check = Callable[[int, bytes], str | None]


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    check: Check
    method: str = "GET"
    body: str = ""
    authorization: str = ""


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us: float


@dataclass
class Target:
    """One server under test: where it answers, its root PID, how to reach its clients."""

    name: str
    base: str
    pid: int
    jwt_auth: str
    opaque_auth: str
    opaque_client: str


class BenchError(RuntimeError):
    pass


# ------------------------------------------------------------------------------ checks


def _json(status: int, body: bytes) -> dict[str, Any]:
    if status != 200:
        raise BenchError(f"status {status}: {body[:200]!r}")
    doc = json.loads(body)
    if not isinstance(doc, dict):
        raise BenchError(f"not a JSON object: {body[:200]!r}")
    return doc


def _checked(check: Callable[[dict[str, Any]], str | None]) -> Check:
    def run(status: int, body: bytes) -> str | None:
        try:
            return check(_json(status, body))
        except (BenchError, ValueError) as exc:
            return str(exc)

    return run


def _discovery_check(issuer: str) -> Check:
    def check(doc: dict[str, Any]) -> str | None:
        if doc.get("issuer") != issuer:
            return f"issuer {doc.get('issuer')!r}"
        missing = [
            k for k in ("jwks_uri", "token_endpoint", "introspection_endpoint") if k not in doc
        ]
        return f"missing {missing}" if missing else None

    return _checked(check)


def _jwks_check(doc: dict[str, Any]) -> str | None:
    keys = doc.get("keys")
    if not isinstance(keys, list) or not keys:
        return "no keys"
    for key in keys:
        if "kid" not in key or key.get("kty") not in ("RSA", "EC") or "d" in key:
            return f"bad key {sorted(key)}"
    return None


def _token_check(jwt: bool) -> Check:
    def check(doc: dict[str, Any]) -> str | None:
        token = doc.get("access_token")
        if not isinstance(token, str) or str(doc.get("token_type", "")).lower() != "bearer":
            return f"not a bearer token response: {sorted(doc)}"
        if not isinstance(doc.get("expires_in"), int):
            return "no expires_in"
        parts = token.split(".")
        if not jwt:
            return "a JWT where an opaque token was expected" if len(parts) == 3 else None
        if len(parts) != 3:
            return "not a JWT"
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
        return None if header.get("alg") == "RS256" else f"alg {header.get('alg')!r}"

    return _checked(check)


def _introspection_check(client_id: str) -> Check:
    def check(doc: dict[str, Any]) -> str | None:
        if doc.get("active") is not True:
            return "inactive"
        return None if doc.get("client_id") == client_id else f"client_id {doc.get('client_id')!r}"

    return _checked(check)


# ------------------------------------------------------------------------------ HTTP


def _request(url: str, body: str = "", authorization: str = "") -> tuple[int, bytes]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    if authorization:
        headers["Authorization"] = authorization
    request = urllib.request.Request(url, data=body.encode() if body else None, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


def _wait(url: str, pid: int, log: Path, deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            if _state(pid) in ("Z", "X") or time.monotonic() > end:
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise BenchError(f"{url} did not come up; {log}:\n{tail}") from None
            time.sleep(0.2)


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _scenarios(target: Target) -> list[Scenario]:
    """The scenarios, paths taken from the target's discovery document; a fresh token to
    introspect each time (one round may outlast a token's lifetime)."""
    status, raw = _request(f"{target.base}/.well-known/openid-configuration")
    doc = _json(status, raw)

    def path(url: str) -> str:
        return urlsplit(url).path

    token, introspect = path(doc["token_endpoint"]), path(doc["introspection_endpoint"])
    status, raw = _request(target.base + token, TOKEN_BODY, target.opaque_auth)
    opaque = _json(status, raw)["access_token"]
    return [
        Scenario("discovery", "/.well-known/openid-configuration", _discovery_check(doc["issuer"])),
        Scenario("jwks", path(doc["jwks_uri"]), _checked(_jwks_check)),
        Scenario("token JWT RS256", token, _token_check(True), "POST", TOKEN_BODY, target.jwt_auth),
        Scenario(
            "token opaque", token, _token_check(False), "POST", TOKEN_BODY, target.opaque_auth
        ),
        Scenario(
            "introspection",
            introspect,
            _introspection_check(target.opaque_client),
            "POST",
            f"token={opaque}&token_type_hint=access_token",
            target.opaque_auth,
        ),
    ]


def _verify(target: Target, scenario: Scenario) -> None:
    """One real request, its answer checked, before the scenario is timed."""
    status, body = _request(target.base + scenario.path, scenario.body, scenario.authorization)
    problem = scenario.check(status, body)
    if problem is not None:
        raise BenchError(f"{target.name} {scenario.name}: {problem}")


# ------------------------------------------------------------------------------ wrk


def _lua(scenario: Scenario, workdir: Path) -> Path | None:
    if scenario.method == "GET":
        return None
    script = workdir / f"{secrets.token_hex(6)}.lua"
    lines = [
        f'wrk.method = "{scenario.method}"',
        f"wrk.body = {json.dumps(scenario.body)}",
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"',
    ]
    if scenario.authorization:
        lines.append(f'wrk.headers["Authorization"] = "{scenario.authorization}"')
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return script


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    if not match:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _wrk(url: str, script: Path | None, connections: int, duration: str, pid: int) -> Result:
    argv = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{connections}",
        f"-d{duration}",
        "--timeout",
        "5s",
        "--latency",
    ]
    if script is not None:
        argv += ["-s", str(script)]
    cpu_before = tree_cpu(pid)[0]
    out = subprocess.run(
        [*argv, url], capture_output=True, text=True, timeout=300, check=True
    ).stdout
    cpu = tree_cpu(pid)[0] - cpu_before

    def find(pattern: str) -> str:
        match = re.search(pattern, out)
        if match is None:
            raise BenchError(f"unexpected wrk output:\n{out}")
        return match.group(1)

    requests = int(find(r"(\d+) requests in"))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors:.*timeout (\d+)", out)
    count = int(errors.group(1)) if errors else 0
    count += int(socket_errors.group(1)) if socket_errors else 0
    return Result(
        rps=float(find(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(find(r"\s50%\s+(\S+)")),
        p99_ms=_ms(find(r"\s99%\s+(\S+)")),
        errors=count,
        cpu_us=cpu * 1e6 / requests if requests else float("nan"),
    )


def _measure(target: Target, scenario: Scenario, connections: int, workdir: Path) -> Result:
    url = target.base + scenario.path
    script = _lua(scenario, workdir)
    _wrk(url, script, connections, WARMUP, target.pid)
    return _wrk(url, script, connections, DURATION, target.pid)


# ------------------------------------------------------------------------------ processes


def _server_argv(app: str, port: int) -> list[str]:
    """vhod's production server for ``app`` (``BENCH_SERVER``)."""
    if SERVER == "granian":
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
            "--blocking-threads",
            str(THREADS),
            "--no-ws",
            "--access-log",  # as gunicorn's: on
            app,
        ]
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--threads",
        str(THREADS),
        "--worker-class",
        "gthread",
        "--access-logfile",
        "-",
        "--logger-class",
        "gateway.access_log.AccessLogger",
        app,
    ]


# ------------------------------------------------------------------------------ vhod


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


@dataclass
class Backends:
    store: dict[str, Any]
    label: str
    redis_url: str | None
    tag: str


@contextmanager
def _backends() -> Iterator[Backends]:
    """Store settings for the run; drops the schema and keys it created (the reference's
    keys, under ``<tag>_ref:``, too)."""
    pg = os.environ.get("GATEWAY_TEST_DATABASE_URL") or PG_DEFAULT
    rd = os.environ.get("GATEWAY_TEST_REDIS_URL") or REDIS_DEFAULT
    tag = f"vhod_bench_{secrets.token_hex(4)}"
    if not (_reachable("postgresql", pg) and _reachable("redis", rd)):
        yield Backends(
            {"ephemeral_url": "sql"}, "SQLite + SQL store (PostgreSQL/Redis unreachable)", None, tag
        )
        return
    from sqlalchemy import text

    from gateway.store.sql.engine import create_engine

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
        yield Backends(store, "PostgreSQL + Redis", rd, tag)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{tag}" CASCADE'))
        admin.dispose()
        import redis

        client = redis.Redis.from_url(rd)
        keys = list(client.scan_iter(f"{tag}*", count=1000))
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
        f"threads = {THREADS}",
        # The admission limit (R14) would shed a 64-connection run (32 per worker); the bench
        # measures throughput, so every connection is admitted (the reference sheds none).
        "max_in_flight = 64",
        f'data_dir = "{data_dir}"',
        "[store]",
        *(f"{k} = {json.dumps(v)}" for k, v in store.items()),
        "[logging]",
        'level = "INFO"',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _prepare(config_path: Path) -> dict[str, str]:
    """Migrate, create keys and the two clients (in this process); their Basic headers."""
    from gateway.admin.clients import register_client
    from gateway.app import build_services
    from gateway.config.loader import load_config
    from gateway.core.types import Client
    from gateway.core.types import TokenFormat

    svc = build_services(load_config(str(config_path)), prepare_stores=True)
    headers: dict[str, str] = {}
    variants: dict[str, dict[str, Any]] = {
        "jwt": {"access_token_alg": "RS256"},
        "opaque": {"token_format": TokenFormat.OPAQUE, "introspection_allowed": True},
    }
    for name, fields in variants.items():
        client = Client(
            client_id=f"bench-{name}",
            redirect_uris=("https://bench.example/cb",),
            scopes=("openid", "diary", "schedule"),
            grant_types=("client_credentials",),
            **fields,
        )
        _, secret = register_client(svc.uow, svc.clock, svc.pepper, svc.config.scopes, client, None)
        headers[name] = _basic(f"bench-{name}", secret)
    svc.engine.dispose()
    return headers


@contextmanager
def _vhod(workdir: Path, backends: Backends) -> Iterator[Target]:
    port = free_port()
    config = workdir / "vhod.toml"
    _write_config(config, port, backends.store, workdir / "var")
    auth = _prepare(config)
    env = {**os.environ, "VHOD_CONFIG": str(config), "PYTHONPATH": str(Path.cwd())}
    if SERVER == "granian":  # migrations and keys were prepared above, as `vhod serve` does
        argv = _server_argv("gateway.wsgi:app", port)
    else:
        vhod = str(Path(sys.executable).with_name("vhod"))
        argv = [vhod, "serve", "--workers", str(WORKERS)]
    log = workdir / "vhod.log"
    with process(argv, env, Path.cwd(), log) as proc:
        pid = proc.pid
        base = f"http://127.0.0.1:{port}"
        _wait(f"{base}/healthz", pid, log)
        yield Target("vhod", base, pid, auth["jwt"], auth["opaque"], "bench-opaque")


def _state(pid: int) -> str:
    with contextlib.suppress(OSError):
        text = Path(f"/proc/{pid}/stat").read_text()
        return text[text.rindex(")") + 2 :].split()[0]
    return "X"


# ------------------------------------------------------------------------------ reference


def _reference_unavailable() -> str | None:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install nodejs npm)"
    return None


@contextmanager
def _reference(workdir: Path, backends: Backends) -> Iterator[Target]:
    """node-oidc-provider, ``npm ci`` first; keys and clients generated for this run."""
    from keys.generate import generate_private_jwk

    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=REFERENCE_DIR,
        check=True,
        timeout=600,
        stdout=subprocess.DEVNULL,
    )
    port = free_port()
    jwks = workdir / "reference-jwks.json"
    jwks.write_text(
        json.dumps(
            {"keys": [generate_private_jwk(a) for a in ("RS256", "RS256", "ES256", "ES256")]}
        ),
        encoding="utf-8",
    )
    secrets_by_client = {name: secrets.token_urlsafe(32) for name in ("jwt", "opaque")}
    clients = workdir / "reference-clients.json"
    clients.write_text(
        json.dumps(
            [
                {
                    "client_id": f"bench-{name}",
                    "client_secret": secret,
                    "grant_types": ["client_credentials"],
                    "response_types": [],
                    "redirect_uris": [],
                    "token_endpoint_auth_method": "client_secret_basic",
                    "scope": "openid diary schedule",
                    "bench_resource": f"urn:bench:{name}",
                }
                for name, secret in secrets_by_client.items()
            ]
        ),
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "NODE_ENV": "production",
        "REF_PORT": str(port),
        "REF_ISSUER": f"http://127.0.0.1:{port}",
        "REF_WORKERS": str(WORKERS),
        "REF_JWKS": str(jwks),
        "REF_CLIENTS": str(clients),
        "REF_REDIS_URL": backends.redis_url or REDIS_DEFAULT,
        "REF_REDIS_PREFIX": f"{backends.tag}_ref:",
    }
    log = workdir / "reference.log"
    with process(["node", "server.js"], env, REFERENCE_DIR, log) as proc:
        pid = proc.pid
        base = f"http://127.0.0.1:{port}"
        _wait(f"{base}/.well-known/openid-configuration", pid, log)
        yield Target(
            "reference",
            base,
            pid,
            _basic("bench-jwt", secrets_by_client["jwt"]),
            _basic("bench-opaque", secrets_by_client["opaque"]),
            "bench-opaque",
        )


# ------------------------------------------------------------------------------ run


Key = tuple[str, int]


def main() -> None:
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)")
        return
    if SERVER not in ("gunicorn", "granian"):
        print(f"BENCH_SERVER={SERVER!r}: choose gunicorn or granian")
        return
    if SERVER == "granian" and importlib.util.find_spec("granian") is None:
        print("BENCH_SERVER=granian: granian is not installed (pip install granian)")
        return
    started = time.monotonic()
    results: dict[str, dict[Key, list[Result]]] = {"reference": {}, "vhod": {}}
    note = ""
    with tempfile.TemporaryDirectory(prefix="vhod-bench-") as tmp, _backends() as backends:
        workdir = Path(tmp)
        with contextlib.ExitStack() as stack:
            targets: list[Target] = []
            missing = _reference_unavailable()
            if missing is None and backends.redis_url is None:
                missing = "Redis is not reachable (the reference keeps its tokens there)"
            if missing is None:
                try:
                    targets.append(stack.enter_context(_reference(workdir, backends)))
                except (subprocess.SubprocessError, OSError, BenchError) as exc:
                    missing = f"the reference did not start: {exc}"
            if missing is not None:
                note = f"reference skipped: {missing}; vhod alone"
                print(note)
            targets.append(stack.enter_context(_vhod(workdir, backends)))
            for _ in range(ROUNDS):
                plans = {t.name: _scenarios(t) for t in targets}
                for index in range(len(plans["vhod"])):
                    for connections in CONNECTIONS:
                        for target in targets:  # interleaved: reference, vhod
                            scenario = plans[target.name][index]
                            _verify(target, scenario)
                            result = _measure(target, scenario, connections, workdir)
                            key = (scenario.name, connections)
                            results[target.name].setdefault(key, []).append(result)
        floor = _floor(workdir, {**os.environ, "PYTHONPATH": str(Path.cwd())})
    _print(results, floor, backends.label, note, time.monotonic() - started)


def _floor(workdir: Path, env: dict[str, str]) -> dict[Key, Result]:
    """The no-op app under vhod's server, same load: what the server alone costs."""
    port = free_port()
    log = workdir / "floor.log"
    found: dict[Key, Result] = {}
    ok = _checked(lambda doc: None if doc.get("ok") is True else "not the no-op app")
    get = Scenario("floor GET", "/", ok)
    post = Scenario("floor POST", "/", ok, "POST", TOKEN_BODY, "Basic Zm9vOmJhcg==")
    with process(_server_argv("bench.http:noop_app", port), env, Path.cwd(), log) as proc:
        pid = proc.pid
        target = Target("floor", f"http://127.0.0.1:{port}", pid, "", "", "")
        _wait(target.base + "/", pid, log)
        for scenario in (get, post):
            _verify(target, scenario)
            for connections in CONNECTIONS:
                found[(scenario.name, connections)] = _measure(
                    target, scenario, connections, workdir
                )
    return found


def _median(results: list[Result]) -> Result:
    return Result(
        rps=statistics.median(r.rps for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        errors=sum(r.errors for r in results),
        cpu_us=statistics.median(r.cpu_us for r in results),
    )


def _cells(results: list[Result] | None) -> str:
    if not results:
        return f"{'-':>14} {'-':>6} {'-':>6} {'-':>4} {'-':>6}"
    m = _median(results)
    low, high = min(r.rps for r in results), max(r.rps for r in results)
    spread = f"{low:.0f}-{high:.0f}" if len(results) > 1 else f"{m.rps:.0f}"
    return f"{spread:>14} {m.p50_ms:>6.2f} {m.p99_ms:>6.2f} {m.errors:>4} {m.cpu_us:>6.0f}"


def _print(
    results: dict[str, dict[Key, list[Result]]],
    floor: dict[Key, Result],
    label: str,
    note: str,
    elapsed: float,
) -> None:
    server = (
        f"granian WSGI ({WORKERS} workers x {THREADS} blocking threads)"
        if SERVER == "granian"
        else f"vhod serve: gunicorn gthread ({WORKERS} workers x {THREADS} threads)"
    )
    print(
        f"reference: node-oidc-provider (bench/reference), node:cluster {WORKERS} workers, Redis"
        f" adapter; vhod: {server}, {label}"
    )
    print(
        f"wrk -t{WRK_THREADS}, warm-up {WARMUP} then {DURATION} per point, {ROUNDS} round(s), "
        "interleaved (reference, vhod); req/s as the range over rounds, the rest medians; "
        "cpu = server CPU µs per request"
    )
    if note:
        print(note)
    half = f"{'req/s':>14} {'p50ms':>6} {'p99ms':>6} {'err':>4} {'cpu':>6}"
    header = f"{'scenario':<16} {'c':>3} | {half} | {half} | {'v/ref':>5}"
    print(f"{'':<20} | {'reference':<37} | {'vhod':<37} |")
    print(header)
    print("-" * len(header))
    for key, vhod in results["vhod"].items():
        reference = results["reference"].get(key)
        ratio = f"{_median(vhod).rps / _median(reference).rps:>5.2f}" if reference else f"{'-':>5}"
        print(f"{key[0]:<16} {key[1]:>3} | {_cells(reference)} | {_cells(vhod)} | {ratio}")
    for key, result in floor.items():
        print(f"{key[0]:<16} {key[1]:>3} | {_cells(None)} | {_cells([result])} |")
    print(f"(whole run {elapsed:.0f} s; floor = no-op WSGI app under vhod's server, same load)")
