"""SECURITY.md T75 under concurrency, on every ephemeral backend: 200 parallel wrong
guesses never run more verifications than the limit (reserve, then verify), for the
account regulation (``Lockout``) and for the per-code attempt limit (``OneTimeCodes``).

Backends: memory, SQL on SQLite, and real Redis (``GATEWAY_TEST_REDIS_URL``; skipped
locally when unreachable, a failure under ``CI=true``).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from gateway.config.factors import LockoutSettings
from gateway.core.clock import FixedClock
from gateway.core.errors import FactorFailed
from gateway.core.errors import RateLimited
from gateway.core.ports import EphemeralStore
from gateway.store.memory import MemoryEphemeralStore
from gateway.store.redis import RedisEphemeralStore
from gateway.store.sql import migrate
from gateway.store.sql.engine import create_engine
from gateway.store.sql_ephemeral import SqlEphemeralStore
from providers.factors.base import Lockout
from providers.factors.codes import OneTimeCodes
from tests.contract import databases

THREADS = 200
PEPPER = b"race-pepper" * 3


@pytest.fixture(params=["memory", "sql-sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EphemeralStore]:
    clock = FixedClock()
    if request.param == "memory":
        yield MemoryEphemeralStore(clock)
    elif request.param == "sql-sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'eph.db'}", pool_size=25, timeout_seconds=30)
        migrate.upgrade(engine)
        yield SqlEphemeralStore(engine, clock)
        engine.dispose()
    else:
        request.getfixturevalue("redis_connection")  # skip locally / fail in CI when down
        # Own client: 200 threads wait for one of 50 connections instead of failing.
        pool = redis.BlockingConnectionPool.from_url(
            databases.redis_url(), max_connections=50, timeout=30
        )
        connection = redis.Redis(connection_pool=pool)
        prefix = f"vhodtest{secrets.token_hex(6)}"
        yield RedisEphemeralStore(connection, prefix)
        keys = list(connection.scan_iter(match=f"{prefix}:*"))
        if keys:
            connection.delete(*keys)
        connection.close()
        pool.disconnect()


def _in_parallel(work: object) -> None:
    assert callable(work)
    start = threading.Barrier(THREADS)

    def run() -> None:
        start.wait()
        work()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_t75_lockout_200_parallel_wrong_guesses(store: EphemeralStore) -> None:
    clock = FixedClock()
    lockout = Lockout(store, clock, LockoutSettings(), PEPPER)
    verified: list[int] = []
    refused: list[int] = []
    lock = threading.Lock()

    def wrong() -> bool:
        with lock:
            verified.append(1)
        return False

    def guess() -> None:
        try:
            lockout.attempt("acct-race", "sms", wrong)
        except RateLimited:
            with lock:
                refused.append(1)

    _in_parallel(guess)
    assert len(verified) <= LockoutSettings().max_failures
    assert len(verified) + len(refused) == THREADS
    with pytest.raises(RateLimited):
        lockout.check("acct-race", "sms")


class _Reasons(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.reasons: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "vhod_fields", None) or {}
        if record.getMessage() == "factor.failed":
            self.reasons.append(str(fields.get("reason")))


def test_t75_code_200_parallel_wrong_guesses(store: EphemeralStore) -> None:
    clock = FixedClock()
    codes = OneTimeCodes(store, clock, PEPPER, channel="sms")
    issued = codes.issue("journey-race")
    wrong = "000000" if issued.code != "000000" else "111111"
    handler = _Reasons()
    logger = logging.getLogger("vhod.factors")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        _in_parallel(lambda: _expect_failure(codes, wrong))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert handler.reasons.count("code_mismatch") <= 5
    assert len(handler.reasons) == THREADS
    with pytest.raises(FactorFailed):
        codes.verify("journey-race", issued.code)  # the code is dead


def _expect_failure(codes: OneTimeCodes, code: str) -> None:
    with pytest.raises(FactorFailed):
        codes.verify("journey-race", code)
