"""HTTP benchmark: vhod beside node-oidc-provider, measured in the same run (issue 13).

``python -m bench http`` (``make bench BENCH_ARGS=http``; never part of ``make test``)
starts the servers and drives them with ``wrk`` (one thread, keep-alive) on loopback:

* **reference** — ``bench/reference/server.js``: node-oidc-provider (version pinned in
  ``bench/reference/package-lock.json``, installed with ``npm ci`` at run time into
  ``bench/reference/node_modules``), ``node:cluster`` with 2 workers, tokens in Redis
  through a small adapter (so a token issued by one worker introspects on the other, as
  vhod's do). Its keys (RS256 and ES256, two of each, like vhod's active + next) and
  clients are generated here; its login and consent are an interaction in server.js that
  signs the bench's person in without a page.
* **vhod** — ``vhod serve --server granian --workers 2`` (its default server; access log
  on) on PostgreSQL + Redis (``GATEWAY_TEST_DATABASE_URL`` / ``GATEWAY_TEST_REDIS_URL``,
  else the local defaults; a schema and key prefix of its own, dropped afterwards), or the
  embedded SQLite default when they are not reachable (then the reference is skipped: it
  needs Redis). ``BENCH_SERVER=gunicorn`` runs it under gunicorn gthread instead. The
  config is dev mode, so the ``fake`` upstream signs the bench's person in. One ``vhod
  serve`` per connection count, its ``max_in_flight`` set to that count (nothing shed, no
  more threads than the load needs); all on the same schema, prefix and keys.

The same clients on both sides: ``client_credentials`` with a secret (HTTP Basic), scope
``diary``: one client gets RS256 JWT access tokens, one ES256 JWT access tokens, one opaque
ones and introspects its own tokens; and an ``authorization_code`` + ``refresh_token``
client whose refresh tokens rotate on every use on both sides. Scenarios: discovery, JWKS,
token (JWT RS256), token (JWT ES256), token (opaque), introspection (of an opaque token),
refresh (rotation). Every answer is checked for real before it is timed (status and JSON
shape; for refresh also that the used refresh token is refused afterwards, i.e. it really
rotated); non-2xx answers during the timing count as errors.

Refresh: after one authorization-code login per side (vhod: /authorize → the fake
upstream's page → consent; the reference: its interaction), more grants come through the
SSO session (/authorize → code → /token, no page), one per ``wrk`` connection, issued
before each ``wrk`` run. The Lua script keeps a stack of unused refresh tokens: each
request takes one, each answer is checked (200, an access and a new refresh token) and
gives the new one back, so no refresh token is sent twice; a wrong answer counts as an
error (as does a request that found no token left).

The order is interleaved — for each round, scenario and connection count: reference, then
vhod — so that both see the same machine. Printed per scenario: req/s (median of the
rounds, and the range: the run-to-run spread, also as ±% of the median), p50 and p99
latency, errors, server CPU µs per request (all the server's processes, from ``/proc``) and
vhod/reference from this run only. Then:

* the floor: a no-op WSGI app under granian and under gunicorn with the same load (what
  the server alone costs);
* two instances: a second ``vhod serve`` (its own process and port, the same PostgreSQL
  schema and Redis), both driven at once (two ``wrk``, half the connections each, same
  duration) for token (opaque) and introspection: combined req/s beside one instance's
  (measured right before, same duration) and the growth factor, with CPU per request.

Everything started here is stopped by PID. ``wrk``, ``node`` and ``npm`` are installed
from the Debian packages when missing and this runs as root (else the run says what is
missing: without ``wrk`` nothing is measured, without Node vhod is measured alone).

Knobs: ``BENCH_DURATION`` (default ``10s``), ``BENCH_WARMUP`` (``3s``),
``BENCH_CONNECTIONS`` (``16,64``), ``BENCH_ROUNDS`` (``2``), ``BENCH_SERVER``
(``granian`` or ``gunicorn``), ``BENCH_SCENARIOS`` (some of the scenarios by name, comma
separated, e.g. ``refresh rotation,jwks``: a subset run, still interleaved with the
reference, without the no-op floors and the two-instance part).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
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
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests

from bench.processes import free_port
from bench.processes import process
from bench.processes import tree_cpu

DURATION = os.environ.get("BENCH_DURATION", "10s")
WARMUP = os.environ.get("BENCH_WARMUP", "3s")
CONNECTIONS = tuple(int(c) for c in os.environ.get("BENCH_CONNECTIONS", "16,64").split(","))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
SERVERS = ("granian", "gunicorn")
SERVER = os.environ.get("BENCH_SERVER", "granian")
CHOSEN = tuple(n.strip() for n in os.environ.get("BENCH_SCENARIOS", "").split(",") if n.strip())
SCENARIO_NAMES = (
    "discovery",
    "jwks",
    "token JWT RS256",
    "token JWT ES256",
    "token opaque",
    "introspection",
    "refresh rotation",
)
WRK_THREADS = 1
WORKERS = 2
THREADS = 4
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_DEFAULT = "redis://127.0.0.1:6379/15"
REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
SCOPE = "diary"
TOKEN_BODY = f"grant_type=client_credentials&scope={SCOPE}"
REDIRECT_URI = "https://bench.example/cb"
REFRESH_CLIENT = "bench-refresh"
CC_VARIANTS = ("jwt", "jwt-es256", "opaque")
"""The client_credentials clients, on both sides: ``bench-<variant>``."""
TWO_INSTANCE_SCENARIOS = ("token opaque", "introspection")


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


def noop_logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The floor under granian: the no-op app with vhod's access line (as ``gateway.wsgi``
    writes it there; gunicorn writes its own)."""
    return _NOOP_LOGGED(environ, start_response)


def _noop_logged() -> Callable[..., Iterable[bytes]]:
    from gateway.access_log import AccessLog
    from gateway.access_log import stdout_writer

    return AccessLog(noop_app, stdout_writer())


_NOOP_LOGGED = _noop_logged()


# ------------------------------------------------------------------------------ model


Check = Callable[[int, bytes], str | None]


Issue = Callable[[int], list[str]]
"""``n`` fresh refresh tokens, each of a grant of its own."""


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    check: Check
    method: str = "GET"
    body: str = ""
    authorization: str = ""
    refresh: Issue | None = None
    """Refresh-token rotation: the body carries a fresh token each time (Lua)."""


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
    auth: dict[str, str]
    """Basic headers of the client_credentials clients, by variant (:data:`CC_VARIANTS`)."""
    opaque_client: str
    refresh_auth: str = ""
    refresh: Issue | None = None
    config: Path | None = None
    """vhod's config file (a second instance runs on it)."""


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


def _token_check(alg: str | None) -> Check:
    """A bearer token response; a JWT signed ``alg``, or opaque when ``alg`` is None."""

    def check(doc: dict[str, Any]) -> str | None:
        token = doc.get("access_token")
        if not isinstance(token, str) or str(doc.get("token_type", "")).lower() != "bearer":
            return f"not a bearer token response: {sorted(doc)}"
        if not isinstance(doc.get("expires_in"), int):
            return "no expires_in"
        parts = token.split(".")
        if alg is None:
            return "a JWT where an opaque token was expected" if len(parts) == 3 else None
        if len(parts) != 3:
            return "not a JWT"
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
        return None if header.get("alg") == alg else f"alg {header.get('alg')!r}"

    return _checked(check)


def _refresh_check(doc: dict[str, Any]) -> str | None:
    if not isinstance(doc.get("access_token"), str):
        return f"no access token: {sorted(doc)}"
    if str(doc.get("token_type", "")).lower() != "bearer":
        return f"token_type {doc.get('token_type')!r}"
    return None if isinstance(doc.get("refresh_token"), str) else "no new refresh token"


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


def _chosen(scenarios: list[Scenario]) -> list[Scenario]:
    """``BENCH_SCENARIOS``' scenarios (all when it is not set)."""
    return [s for s in scenarios if not CHOSEN or s.name in CHOSEN]


def _scenarios(target: Target) -> list[Scenario]:
    """The scenarios, paths taken from the target's discovery document; a fresh token to
    introspect each time (one round may outlast a token's lifetime)."""
    status, raw = _request(f"{target.base}/.well-known/openid-configuration")
    doc = _json(status, raw)

    def path(url: str) -> str:
        return urlsplit(url).path

    token, introspect = path(doc["token_endpoint"]), path(doc["introspection_endpoint"])
    status, raw = _request(target.base + token, TOKEN_BODY, target.auth["opaque"])
    opaque = _json(status, raw)["access_token"]
    found = [
        Scenario("discovery", "/.well-known/openid-configuration", _discovery_check(doc["issuer"])),
        Scenario("jwks", path(doc["jwks_uri"]), _checked(_jwks_check)),
        Scenario(
            "token JWT RS256", token, _token_check("RS256"), "POST", TOKEN_BODY, target.auth["jwt"]
        ),
        Scenario(
            "token JWT ES256",
            token,
            _token_check("ES256"),
            "POST",
            TOKEN_BODY,
            target.auth["jwt-es256"],
        ),
        Scenario(
            "token opaque", token, _token_check(None), "POST", TOKEN_BODY, target.auth["opaque"]
        ),
        Scenario(
            "introspection",
            introspect,
            _introspection_check(target.opaque_client),
            "POST",
            f"token={opaque}&token_type_hint=access_token",
            target.auth["opaque"],
        ),
    ]
    if target.refresh is not None:
        found.append(
            Scenario(
                "refresh rotation",
                token,
                _checked(_refresh_check),
                "POST",
                "",
                target.refresh_auth,
                refresh=target.refresh,
            )
        )
    return found


def _refresh_body(token: str) -> str:
    return f"grant_type=refresh_token&refresh_token={token}"


def _verify(target: Target, scenario: Scenario) -> None:
    """One real request, its answer checked, before the scenario is timed; a refresh token
    must be refused once used (it rotated)."""
    body = scenario.body
    if scenario.refresh is not None:
        body = _refresh_body(scenario.refresh(1)[0])
    status, answer = _request(target.base + scenario.path, body, scenario.authorization)
    problem = scenario.check(status, answer)
    if problem is None and scenario.refresh is not None:
        status, again = _request(target.base + scenario.path, body, scenario.authorization)
        if status != 400 or b"invalid_grant" not in again:
            problem = f"a used refresh token was not refused: {status} {again[:200]!r}"
    if problem is not None:
        raise BenchError(f"{target.name} {scenario.name}: {problem}")


# ------------------------------------------------------------------------------ logins


_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


def _walk(session: requests.Session, response: requests.Response) -> str:
    """Follow ``response`` to the redirect back to the client, answering vhod's pages on
    the way (the fake upstream: the bench's person; consent: approve); the code."""
    for _ in range(16):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(REDIRECT_URI):
                query = parse_qs(urlsplit(location).query)
                if "code" not in query:
                    raise BenchError(f"login walk: no code in {location}")
                return query["code"][0]
            response = session.get(location, allow_redirects=False, timeout=30)
            continue
        page = urlsplit(response.url).path
        fields = dict(_HIDDEN.findall(response.text))
        if response.status_code == 200 and page == "/login/fake":
            data = {"state": fields.get("state", ""), "persona": "parent"}
        elif response.status_code == 200 and page.endswith("/consent"):
            data = {"step": fields.get("step", ""), "decision": "approve"}
        else:
            raise BenchError(
                f"login walk: {response.status_code} at {page}: {response.text[:300]!r}"
            )
        data["csrf_token"] = fields.get("csrf_token", "")
        response = session.post(
            urljoin(response.url, page), data=data, allow_redirects=False, timeout=30
        )
    raise BenchError("login walk: too many steps")


def _refresh_issuer(base: str, client_id: str, secret: str, scope: str) -> Issue:
    """Refresh tokens of ``client_id``: a browser logs in once (authorization code with
    PKCE); later grants come through its SSO session, one code and one /token each."""
    status, raw = _request(f"{base}/.well-known/openid-configuration")
    doc = _json(status, raw)
    browser = requests.Session()
    client = requests.Session()

    def issue(count: int) -> list[str]:
        tokens: list[str] = []
        for _ in range(count):
            verifier = secrets.token_urlsafe(48)
            digest = hashlib.sha256(verifier.encode()).digest()
            params = {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": REDIRECT_URI,
                "scope": scope,
                "state": secrets.token_urlsafe(12),
                "nonce": secrets.token_urlsafe(12),
                "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
                "code_challenge_method": "S256",
            }
            first = browser.get(
                doc["authorization_endpoint"] + "?" + urlencode(params),
                allow_redirects=False,
                timeout=30,
            )
            code = _walk(browser, first)
            answer = client.post(
                doc["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT_URI,
                    "code_verifier": verifier,
                },
                auth=(client_id, secret),
                timeout=30,
            )
            problem = _checked(_refresh_check)(answer.status_code, answer.content)
            if problem is not None:
                raise BenchError(f"{base}: code grant of {client_id}: {problem}")
            tokens.append(answer.json()["refresh_token"])
        return tokens

    return issue


# ------------------------------------------------------------------------------ wrk


_ROTATION_LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
tokens, bad, exhausted = {}, 0, 0
function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
end
function request()
  local token = table.remove(tokens)
  if token == nil then
    exhausted = exhausted + 1
    token = "none-left"
  end
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. token)
end
function response(status, headers, body)
  if status ~= 200 then return end
  local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token ~= nil and body:find('"access_token"', 1, true) then
    tokens[#tokens + 1] = token
  else
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local b, e = 0, 0
  for _, t in ipairs(threads) do
    b = b + t:get("bad")
    e = e + t:get("exhausted")
  end
  io.write(string.format("rotation: bad %d, none left %d\\n", b, e))
end
"""


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
    if scenario.refresh is not None:
        lines.append(_ROTATION_LUA)
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return script


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    if not match:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _wrk_argv(
    url: str, script: Path | None, connections: int, duration: str, tokens: Path | None
) -> list[str]:
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
    argv.append(url)
    if tokens is not None:
        argv.append(str(tokens))  # the Lua script's init(args)
    return argv


def _cpu(pids: Iterable[int]) -> float:
    return sum(tree_cpu(pid)[0] for pid in pids)


def _parse(out: str, cpu: float) -> tuple[Result, int]:
    """The figures of one wrk run, and its request count."""

    def find(pattern: str) -> str:
        match = re.search(pattern, out)
        if match is None:
            raise BenchError(f"unexpected wrk output:\n{out}")
        return match.group(1)

    requests_done = int(find(r"(\d+) requests in"))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors:.*timeout (\d+)", out)
    rotation = re.search(r"rotation: bad (\d+)", out)
    count = int(errors.group(1)) if errors else 0
    count += int(socket_errors.group(1)) if socket_errors else 0
    count += int(rotation.group(1)) if rotation else 0
    result = Result(
        rps=float(find(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(find(r"\s50%\s+(\S+)")),
        p99_ms=_ms(find(r"\s99%\s+(\S+)")),
        errors=count,
        cpu_us=cpu * 1e6 / requests_done if requests_done else float("nan"),
    )
    return result, requests_done


def _tokens(scenario: Scenario, connections: int, workdir: Path) -> Path | None:
    """A file of fresh refresh tokens for one wrk run (refresh scenarios): one a
    connection, and one that wrk takes when it checks the script's request() once before
    the run (that one is never sent). One wrk thread: each thread would read them all."""
    if scenario.refresh is None:
        return None
    assert WRK_THREADS == 1
    path = workdir / f"{secrets.token_hex(6)}.tokens"
    path.write_text("\n".join(scenario.refresh(connections + 1)) + "\n", encoding="utf-8")
    return path


def _run_wrk(
    runs: list[tuple[Target, Scenario, int]], duration: str, workdir: Path
) -> list[Result]:
    """wrk against each (target, scenario, connections) at once; CPU over all targets,
    shared out by requests (one run: its own CPU per request)."""
    argvs = []
    for target, scenario, connections in runs:
        tokens = _tokens(scenario, connections, workdir)
        script = _lua(scenario, workdir)
        argvs.append(_wrk_argv(target.base + scenario.path, script, connections, duration, tokens))
    pids = [target.pid for target, _, _ in runs]
    before = _cpu(pids)
    procs = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for argv in argvs
    ]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            raise BenchError(f"wrk failed: {err[-500:]}")
        outs.append(out)
    cpu = _cpu(pids) - before
    parsed = [_parse(out, 0.0) for out in outs]
    total = sum(count for _, count in parsed)
    per_request = cpu * 1e6 / total if total else float("nan")
    return [Result(r.rps, r.p50_ms, r.p99_ms, r.errors, per_request) for r, _ in parsed]


def _measure(target: Target, scenario: Scenario, connections: int, workdir: Path) -> Result:
    _run_wrk([(target, scenario, connections)], WARMUP, workdir)
    return _run_wrk([(target, scenario, connections)], DURATION, workdir)[0]


# ------------------------------------------------------------------------------ processes


def _server_argv(server: str, port: int) -> list[str]:
    """The no-op floor app under ``server`` as ``vhod serve`` runs vhod (its flags, access
    line included: under granian the app writes it), ``THREADS`` threads a worker."""
    from gateway.cli import server_argv
    from gateway.config.schema import GatewayConfig
    from gateway.config.schema import ServerSettings

    cfg = GatewayConfig(server=ServerSettings(threads=THREADS // 2, max_in_flight=THREADS // 2))
    app = "bench.http:noop_logged" if server == "granian" else "bench.http:noop_app"
    return server_argv(cfg, server, "127.0.0.1", port, WORKERS, app)


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


def _write_config(
    path: Path, port: int, store: dict[str, Any], data_dir: Path, connections: int
) -> None:
    lines = [
        'mode = "dev"',
        "[server]",
        f'issuer = "http://127.0.0.1:{port}"',
        'host = "127.0.0.1"',
        f"port = {port}",
        f"workers = {WORKERS}",
        f"threads = {THREADS}",
        # Sized to the load, as an operator would: each worker admits as many requests as
        # there are connections, so none is shed by the admission limit (R14; the reference
        # sheds none), and runs that many threads and a few spares (vhod serve's rule). More
        # threads than the load needs cost CPU under granian (docs/operations.md).
        f"max_in_flight = {connections}",
        f'data_dir = "{data_dir}"',
        "[store]",
        *(f"{k} = {json.dumps(v)}" for k, v in store.items()),
        "[logging]",
        'level = "INFO"',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _prepare(config_path: Path) -> tuple[dict[str, str], str]:
    """Migrate, create keys and the clients (in this process): the Basic headers of the
    client_credentials clients, and the secret of the refresh client."""
    from gateway.admin.clients import register_client
    from gateway.app import build_services
    from gateway.config.loader import load_config
    from gateway.core.types import Client
    from gateway.core.types import TokenFormat

    svc = build_services(load_config(str(config_path)), prepare_stores=True)
    headers: dict[str, str] = {}
    variants: dict[str, dict[str, Any]] = {
        "jwt": {"access_token_alg": "RS256"},
        "jwt-es256": {"access_token_alg": "ES256"},
        "opaque": {"token_format": TokenFormat.OPAQUE, "introspection_allowed": True},
    }
    for name, fields in variants.items():
        client = Client(
            client_id=f"bench-{name}",
            redirect_uris=(REDIRECT_URI,),
            scopes=("openid", "diary", "schedule"),
            grant_types=("client_credentials",),
            **fields,
        )
        _, secret = register_client(svc.uow, svc.clock, svc.pepper, svc.config.scopes, client, None)
        headers[name] = _basic(f"bench-{name}", secret)
    refresh = Client(
        client_id=REFRESH_CLIENT,
        redirect_uris=(REDIRECT_URI,),
        scopes=("openid", "offline_access", "diary"),
        grant_types=("authorization_code", "refresh_token"),
        token_format=TokenFormat.OPAQUE,
    )
    _, refresh_secret = register_client(
        svc.uow, svc.clock, svc.pepper, svc.config.scopes, refresh, None
    )
    svc.engine.dispose()
    assert refresh_secret is not None
    return headers, refresh_secret


def _vhod_env(config: Path) -> dict[str, str]:
    return {**os.environ, "VHOD_CONFIG": str(config), "PYTHONPATH": str(Path.cwd())}


@contextmanager
def _vhod_process(config: Path, port: int, log: Path) -> Iterator[int]:
    """``vhod serve`` (its preparation, then the server) on ``port``; its PID."""
    vhod = str(Path(sys.executable).with_name("vhod"))
    argv = [vhod, "serve", "--server", SERVER, "--workers", str(WORKERS), "--port", str(port)]
    with process(argv, _vhod_env(config), Path.cwd(), log) as proc:
        _wait(f"http://127.0.0.1:{port}/healthz", proc.pid, log)
        yield proc.pid


@contextmanager
def _vhods(workdir: Path, backends: Backends) -> Iterator[dict[int, Target]]:
    """One ``vhod serve`` per connection count (its config sized to it, see
    :func:`_write_config`), all on the same schema, Redis prefix and keys; only the one
    of the current connection count is loaded at a time."""
    with contextlib.ExitStack() as stack:
        found: dict[int, Target] = {}
        prepared: tuple[dict[str, str], str] | None = None
        for connections in CONNECTIONS:
            port = free_port()
            config = workdir / f"vhod-{connections}.toml"
            _write_config(config, port, backends.store, workdir / "var", connections)
            if prepared is None:
                prepared = _prepare(config)
            auth, refresh_secret = prepared
            log = workdir / f"vhod-{connections}.log"
            pid = stack.enter_context(_vhod_process(config, port, log))
            base = f"http://127.0.0.1:{port}"
            found[connections] = Target(
                "vhod",
                base,
                pid,
                auth,
                "bench-opaque",
                _basic(REFRESH_CLIENT, refresh_secret),
                _refresh_issuer(base, REFRESH_CLIENT, refresh_secret, "openid offline_access"),
                config,
            )
        yield found


@contextmanager
def _second_vhod(workdir: Path, first: Target) -> Iterator[Target]:
    """Another ``vhod serve`` on the first one's config (same schema, same Redis prefix),
    on a port of its own."""
    assert first.config is not None
    port = free_port()
    with _vhod_process(first.config, port, workdir / "vhod-2.log") as pid:
        yield Target("vhod-2", f"http://127.0.0.1:{port}", pid, first.auth, first.opaque_client)


def _state(pid: int) -> str:
    with contextlib.suppress(OSError):
        text = Path(f"/proc/{pid}/stat").read_text()
        return text[text.rindex(")") + 2 :].split()[0]
    return "X"


# ------------------------------------------------------------------------------ reference


def _installed(tool: str, packages: tuple[str, ...]) -> bool:
    """``tool`` is on the PATH, or was just installed from the Debian packages (when
    ``apt-get`` can run here: as root, with the package registry reachable)."""
    if shutil.which(tool) is not None:
        return True
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return False
    print(f"installing {' '.join(packages)} (apt-get) for {tool} ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        subprocess.run(
            ["apt-get", "install", "-y", "-q", *packages],
            env=env,
            capture_output=True,
            timeout=600,
            check=False,
        )
    return shutil.which(tool) is not None


def _reference_unavailable() -> str | None:
    for tool in ("node", "npm"):
        if not _installed(tool, ("nodejs", "npm")):
            return f"{tool} is not installed and could not be (apt-get install nodejs npm)"
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
    secrets_by_client = {name: secrets.token_urlsafe(32) for name in CC_VARIANTS}
    refresh_secret = secrets.token_urlsafe(32)
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
            + [
                {
                    "client_id": REFRESH_CLIENT,
                    "client_secret": refresh_secret,
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "redirect_uris": [REDIRECT_URI],
                    "token_endpoint_auth_method": "client_secret_basic",
                    "scope": "openid diary schedule",
                }
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
            {name: _basic(f"bench-{name}", secret) for name, secret in secrets_by_client.items()},
            "bench-opaque",
            _basic(REFRESH_CLIENT, refresh_secret),
            _refresh_issuer(base, REFRESH_CLIENT, refresh_secret, "openid"),
        )


# ------------------------------------------------------------------------------ run


Key = tuple[str, int]


@dataclass
class Pair:
    """Two instances against one: the same scenario and total connections."""

    scenario: str
    connections: int
    one: Result
    both: list[Result]


def main() -> None:
    if not _installed("wrk", ("wrk",)):
        print("wrk is not installed and could not be (apt-get install wrk)")
        return
    if SERVER not in SERVERS:
        print(f"BENCH_SERVER={SERVER!r}: choose granian or gunicorn")
        return
    unknown = [name for name in CHOSEN if name not in SCENARIO_NAMES]
    if unknown:
        print(f"BENCH_SCENARIOS: unknown {', '.join(map(repr, unknown))}; choose among")
        print(", ".join(SCENARIO_NAMES))
        return
    started = time.monotonic()
    results: dict[str, dict[Key, list[Result]]] = {"reference": {}, "vhod": {}}
    pairs: list[Pair] = []
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
            vhods = stack.enter_context(_vhods(workdir, backends))
            for _ in range(ROUNDS):
                plans = {(t.name, 0): _chosen(_scenarios(t)) for t in targets}
                plans.update({("vhod", c): _chosen(_scenarios(t)) for c, t in vhods.items()})
                for index in range(len(plans["vhod", CONNECTIONS[0]])):
                    for connections in CONNECTIONS:
                        # interleaved: reference, vhod
                        for target in [*targets, vhods[connections]]:
                            plan = plans[target.name, 0 if target.name != "vhod" else connections]
                            scenario = plan[index]
                            _verify(target, scenario)
                            result = _measure(target, scenario, connections, workdir)
                            key = (scenario.name, connections)
                            results[target.name].setdefault(key, []).append(result)
            if backends.redis_url is not None and not CHOSEN:  # two nodes share the stores
                pairs = _two_instances(workdir, vhods[max(CONNECTIONS)])
        env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
        floors = {} if CHOSEN else {server: _floor(server, workdir, env) for server in SERVERS}
    _print(results, floors, pairs, backends.label, note, time.monotonic() - started)


def _two_instances(workdir: Path, first: Target) -> list[Pair]:
    """A second vhod beside the first; per scenario and connection count: one instance
    alone, then both at once with half the connections each."""
    pairs: list[Pair] = []
    with _second_vhod(workdir, first) as second:
        plans = {t.name: _scenarios(t) for t in (first, second)}
        for name in TWO_INSTANCE_SCENARIOS:
            one, two = (next(s for s in plans[t.name] if s.name == name) for t in (first, second))
            _verify(first, one)
            _verify(second, two)
            for connections in CONNECTIONS:
                alone = _measure(first, one, connections, workdir)
                half = max(1, connections // 2)
                runs = [(first, one, half), (second, two, half)]
                _run_wrk(runs, WARMUP, workdir)
                both = _run_wrk(runs, DURATION, workdir)
                pairs.append(Pair(name, connections, alone, both))
    return pairs


def _floor(server: str, workdir: Path, env: dict[str, str]) -> dict[Key, Result]:
    """The no-op app under ``server``, same load: what the server alone costs."""
    port = free_port()
    log = workdir / f"floor-{server}.log"
    found: dict[Key, Result] = {}
    ok = _checked(lambda doc: None if doc.get("ok") is True else "not the no-op app")
    get = Scenario("floor GET", "/", ok)
    post = Scenario("floor POST", "/", ok, "POST", TOKEN_BODY, "Basic Zm9vOmJhcg==")
    with process(_server_argv(server, port), env, Path.cwd(), log) as proc:
        pid = proc.pid
        target = Target("floor", f"http://127.0.0.1:{port}", pid, {}, "")
        _wait(target.base + "/", pid, log)
        for scenario in (get, post):
            _verify(target, scenario)
            for connections in CONNECTIONS:
                found[(f"{scenario.name} {server}", connections)] = _measure(
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
        return f"{'-':>11} {'-':>4} {'-':>6} {'-':>6} {'-':>4} {'-':>5}"
    m = _median(results)
    low, high = min(r.rps for r in results), max(r.rps for r in results)
    spread = f"{low:.0f}-{high:.0f}" if len(results) > 1 else f"{m.rps:.0f}"
    plus = f"{50 * (high - low) / m.rps:.0f}" if len(results) > 1 and m.rps else "-"
    return (
        f"{spread:>11} {plus:>4} {m.p50_ms:>6.2f} {m.p99_ms:>6.2f} {m.errors:>4} {m.cpu_us:>5.0f}"
    )


def _print(
    results: dict[str, dict[Key, list[Result]]],
    floors: dict[str, dict[Key, Result]],
    pairs: list[Pair],
    label: str,
    note: str,
    elapsed: float,
) -> None:
    sizing = "max_in_flight = the connections; one vhod per count"
    server = (
        f"vhod serve --server granian (WSGI, {WORKERS} workers x max_in_flight + max(2,"
        f" max_in_flight/8) blocking threads; {sizing})"
        if SERVER == "granian"
        else f"vhod serve --server gunicorn (gthread, {WORKERS} workers x 2 x max_in_flight"
        f" threads; {sizing})"
    )
    print(
        f"reference: node-oidc-provider (bench/reference), node:cluster {WORKERS} workers, Redis"
        f" adapter; vhod: {server}, {label}"
    )
    print(
        f"wrk -t{WRK_THREADS}, warm-up {WARMUP} then {DURATION} per point, {ROUNDS} round(s), "
        "interleaved (reference, vhod); req/s as the range over rounds and ± half of it in % "
        "of the median (run-to-run spread), the rest medians; cpu = server CPU µs per request"
    )
    if note:
        print(note)
    half = f"{'req/s':>11} {'±%':>4} {'p50ms':>6} {'p99ms':>6} {'err':>4} {'cpu':>5}"
    header = f"{'scenario':<19} {'c':>3} | {half} | {half} | {'v/ref':>5}"
    print(f"{'':<23} | {'reference':<41} | {'vhod':<41} |")
    print(header)
    print("-" * len(header))
    for key, vhod in results["vhod"].items():
        reference = results["reference"].get(key)
        ratio = f"{_median(vhod).rps / _median(reference).rps:>5.2f}" if reference else f"{'-':>5}"
        print(f"{key[0]:<19} {key[1]:>3} | {_cells(reference)} | {_cells(vhod)} | {ratio}")
    for floor in floors.values():
        for key, result in floor.items():
            print(f"{key[0]:<19} {key[1]:>3} | {_cells(None)} | {_cells([result])} |")
    if floors:
        print(
            f"(floor = no-op WSGI app under granian / gunicorn, {WORKERS} workers x {THREADS} "
            "threads, same load)"
        )
    if CHOSEN:
        print(f"(subset: {', '.join(CHOSEN)}; no floors, no two-instance part)")
    if pairs:
        print()
        print(
            "two vhod instances (separate processes and ports, one PostgreSQL schema, one Redis;"
            " two wrk at once, half the connections each, same duration):"
        )
        line = (
            f"{'scenario':<19} {'c':>3} | {'one req/s':>10} {'cpu':>5} | "
            f"{'two req/s':>10} {'(a + b)':>13} {'cpu':>5} {'err':>4} | {'growth':>6}"
        )
        print(line)
        print("-" * len(line))
        for pair in pairs:
            total = sum(r.rps for r in pair.both)
            parts = " + ".join(f"{r.rps:.0f}" for r in pair.both)
            errors = sum(r.errors for r in pair.both) + pair.one.errors
            print(
                f"{pair.scenario:<19} {pair.connections:>3} | {pair.one.rps:>10.0f} "
                f"{pair.one.cpu_us:>5.0f} | {total:>10.0f} {parts:>13} "
                f"{pair.both[0].cpu_us:>5.0f} {errors:>4} | {total / pair.one.rps:>6.2f}"
            )
        print(f"(on {os.cpu_count()} cores: both instances, wrk and the stores share them)")
    print(f"(whole run {elapsed:.0f} s)")
