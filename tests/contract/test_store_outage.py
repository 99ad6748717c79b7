"""Store outages fail fast and closed: every operation raises ``StoreUnavailable`` within
its timeout, nothing hangs, and the store works again once the backend is back.

Redis: the tests start their OWN ``redis-server`` on a free port and stop it by its PID
(the shared Redis is never touched); "down" is a killed server, "hung" a stopped
(SIGSTOP) one. SQL: an unreachable PostgreSQL DSN (a closed port), an exhausted
connection pool, and (real PostgreSQL) a statement blocked beyond ``statement_timeout``.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import Engine

from gateway.core.clock import FixedClock
from gateway.core.errors import StoreUnavailable
from gateway.core.ports import EphemeralStore
from gateway.store.factory import build_engine
from gateway.store.factory import ephemeral_store_from_url
from gateway.store.redis import RedisEphemeralStore
from gateway.store.sql import migrate
from gateway.store.sql.audit import AUDIT_LOCK_KEY
from gateway.store.sql.engine import create_engine
from gateway.store.sql.uow import SqlUnitOfWorkFactory
from gateway.store.sql_ephemeral import SqlEphemeralStore
from tests.helpers.backends import require

TIMEOUT = 0.5
BOUND = 3.0  # seconds any failing operation may take, timeouts included


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A private ``redis-server`` process: no persistence, loopback only."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.dir = tmp_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    require("redis-server", shutil.which("redis-server") is not None, "binary not installed")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


OPERATIONS: dict[str, Callable[[EphemeralStore], object]] = {
    "put": lambda s: s.put("ns", "k", b"v", 30),
    "get": lambda s: s.get("ns", "k"),
    "delete": lambda s: s.delete("ns", "k"),
    "consume": lambda s: s.consume("ns", "k", 30),
    "incr": lambda s: s.incr("ns", "c", 30),
    "ping": lambda s: s.ping(),
}


def assert_each_operation_fails_fast(store: EphemeralStore, store_name: str) -> None:
    for name, operation in OPERATIONS.items():
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as failure:
            operation(store)
        elapsed = time.monotonic() - started
        assert failure.value.store == store_name, name
        assert elapsed < BOUND, f"{name} took {elapsed:.2f}s"


# --------------------------------------------------------------------------- Redis


@pytest.mark.redis
def test_redis_down_fails_fast_and_recovers_after_restart(redis_server: RedisServer) -> None:
    store = ephemeral_store_from_url(
        redis_server.url, prefix="outage", timeout_seconds=TIMEOUT, clock=FixedClock()
    )
    assert isinstance(store, RedisEphemeralStore)
    store.put("ns", "k", b"v", 30)
    assert store.get("ns", "k") == b"v"

    redis_server.kill()
    assert_each_operation_fails_fast(store, "redis")

    redis_server.start()  # same port, empty: the pooled connections must reconnect
    store.ping()
    store.put("ns", "k", b"again", 30)
    assert store.consume("ns", "k", 30) == b"again"
    assert store.incr("ns", "c", 30) == 1


@pytest.mark.redis
def test_redis_hung_times_out_instead_of_hanging(redis_server: RedisServer) -> None:
    store = ephemeral_store_from_url(
        redis_server.url, prefix="outage", timeout_seconds=TIMEOUT, clock=FixedClock()
    )
    store.put("ns", "k", b"v", 30)
    redis_server.pause()
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as failure:
            store.consume("ns", "k", 30)
        assert time.monotonic() - started < BOUND
        assert "Timeout" in failure.value.debug
        with pytest.raises(StoreUnavailable):
            store.get("ns", "k")
    finally:
        redis_server.resume()
    store.ping()


@pytest.mark.redis
def test_redis_refused_connection_fails_fast() -> None:
    store = ephemeral_store_from_url(
        f"redis://127.0.0.1:{free_port()}/0",
        prefix="outage",
        timeout_seconds=TIMEOUT,
        clock=FixedClock(),
    )
    assert_each_operation_fails_fast(store, "redis")


# --------------------------------------------------------------------------- SQL


def closed_postgres_url() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/test"


def test_unreachable_database_fails_the_unit_of_work_fast() -> None:
    engine = build_engine(closed_postgres_url(), pool_size=2, timeout_seconds=TIMEOUT)
    uow = SqlUnitOfWorkFactory(engine)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as failure, uow() as tx:
            tx.clients.get("school-1")
        assert time.monotonic() - started < BOUND
        assert failure.value.store == "sql"
        assert "school-1" not in failure.value.debug
        with pytest.raises(StoreUnavailable), uow() as tx:
            tx.audit.append(1.0, "x.y", {})
    finally:
        engine.dispose()


def test_unreachable_database_fails_the_sql_ephemeral_store_fast() -> None:
    engine = build_engine(closed_postgres_url(), pool_size=2, timeout_seconds=TIMEOUT)
    store = ephemeral_store_from_url("sql", engine=engine, clock=FixedClock())
    try:
        assert_each_operation_fails_fast(store, "sql")
    finally:
        engine.dispose()


def test_exhausted_pool_fails_fast(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'pool.db'}", pool_size=1, timeout_seconds=0.3)
    migrate.upgrade(engine)
    store = SqlEphemeralStore(engine, FixedClock())
    held = [engine.connect(), engine.connect()]  # pool_size + overflow
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as failure:
            store.get("ns", "k")
        assert time.monotonic() - started < BOUND
        assert "pool timeout" in failure.value.debug
    finally:
        for connection in held:
            connection.close()
        engine.dispose()
    assert store.get("ns", "k") is None  # the pool recovers


@pytest.mark.postgres
def test_statement_timeout_turns_a_blocked_append_into_store_unavailable(
    postgres_engine: Engine,
) -> None:
    """A stuck database (here: the audit lock held elsewhere) answers 503, not a hang."""
    url = postgres_engine.url
    search_path = postgres_engine.dialect.default_schema_name
    fast = create_engine(
        url,
        pool_size=1,
        timeout_seconds=TIMEOUT,
        statement_timeout_seconds=TIMEOUT,
        search_path=search_path,
    )
    uow = SqlUnitOfWorkFactory(fast)
    try:
        with postgres_engine.begin() as blocker:
            blocker.execute(
                sqlalchemy.text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY}
            )
            started = time.monotonic()
            with pytest.raises(StoreUnavailable) as failure, uow() as tx:
                tx.audit.append(1.0, "x.y", {})
            assert time.monotonic() - started < BOUND
            assert "statement timeout" in failure.value.debug
        with uow() as tx:  # the lock is gone with the blocker's transaction
            tx.audit.append(1.0, "x.y", {})
            tx.commit()
    finally:
        fast.dispose()
