"""Second-factor races on every real backend (SECURITY.md T78, T82, recovery codes):
the TOTP replay guard and push answers on the memory, SQL (SQLite, PostgreSQL) and Redis
ephemeral stores; recovery codes through ``SqlCredentialRepository`` on SQLite and
PostgreSQL. Each race has exactly one winner."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyotp
import pytest
import redis

from gateway.config.factors import PushSettings
from gateway.config.factors import TotpSettings
from gateway.core.clock import FixedClock
from gateway.core.errors import FactorFailed
from gateway.core.ports import EphemeralStore
from gateway.core.types import Subject
from gateway.store.memory import MemoryEphemeralStore
from gateway.store.redis import RedisEphemeralStore
from gateway.store.sql import migrate
from gateway.store.sql.engine import create_engine
from gateway.store.sql.uow import SqlUnitOfWorkFactory
from gateway.store.sql_ephemeral import SqlEphemeralStore
from providers.factors.device import Device
from providers.factors.push import ANSWER_PATH
from providers.factors.push import APPROVE
from providers.factors.push import PushFactor
from providers.factors.recovery import RecoveryCodes
from providers.factors.totp import TotpFactor
from tests.unit.providers.factors.fakes import PEPPER
from tests.unit.providers.factors.fakes import FakeSealer
from tests.unit.providers.factors.fakes import MemoryCredentials
from tests.unit.providers.factors.test_push import InProcess

THREADS = 50


@pytest.fixture(
    params=[
        "memory",
        "sql-sqlite",
        pytest.param("sql-postgresql", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock
) -> Iterator[EphemeralStore]:
    kind = request.param
    if kind == "memory":
        yield MemoryEphemeralStore(clock)
    elif kind == "sql-sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'e.db'}", pool_size=25, timeout_seconds=10)
        migrate.upgrade(engine)
        yield SqlEphemeralStore(engine, clock)
        engine.dispose()
    elif kind == "sql-postgresql":
        yield SqlEphemeralStore(request.getfixturevalue("postgres_engine"), clock)
    else:
        connection: redis.Redis = request.getfixturevalue("redis_connection")
        prefix = f"vhodtest{secrets.token_hex(6)}"
        yield RedisEphemeralStore(connection, prefix)
        keys = list(connection.scan_iter(match=f"{prefix}:*"))
        if keys:
            connection.delete(*keys)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(float(int(time.time())))


def race(attempt: Callable[[], object], n: int = THREADS) -> list[str]:
    def run(_: int) -> str:
        try:
            attempt()
        except FactorFailed as failed:
            return failed.reason
        return "ok"

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_t78_totp_replay_race_50_threads_one_success(
    store: EphemeralStore, clock: FixedClock
) -> None:
    factor = TotpFactor(TotpSettings(), store, FakeSealer(), clock)
    creds = MemoryCredentials()
    enrolment = factor.begin_enrolment(creds, "s1")
    totp = pyotp.TOTP(enrolment.secret)
    factor.confirm_enrolment(
        creds, "s1", enrolment.credential.credential_id, totp.at(int(clock.now()) - 30)
    )
    code = totp.at(int(clock.now()))
    results = race(lambda: factor.verify(creds, "s1", code))
    assert results.count("ok") == 1
    assert results.count("totp_replayed") == THREADS - 1
    with pytest.raises(FactorFailed, match="totp_replayed"):
        factor.verify(creds, "s1", totp.at(int(clock.now()) - 30))


def test_t82_push_answer_race_one_success(store: EphemeralStore, clock: FixedClock) -> None:
    push = PushFactor(PushSettings(), store, FakeSealer(), clock, PEPPER)
    creds = MemoryCredentials()
    transport = InProcess(push, creds)
    device = Device(transport, clock=clock.now)
    device.enrol(push.new_enrolment_token("s1"))
    challenge = push.start(creds, "s1")
    device.pending()
    body = device.answer_body(
        challenge.challenge_id, challenge.expires_at, APPROVE, challenge.number
    )
    results = race(lambda: transport.post(ANSWER_PATH, body), 20)
    assert results.count("ok") == 1
    assert results.count("push_replayed") == 19
    finishes = race(lambda: push.finish(challenge.challenge_id, "s1"), 20)
    assert finishes.count("ok") == 1


def test_push_start_race_one_outstanding(store: EphemeralStore, clock: FixedClock) -> None:
    push = PushFactor(PushSettings(), store, FakeSealer(), clock, PEPPER)
    creds = MemoryCredentials()
    Device(InProcess(push, creds)).enrol(push.new_enrolment_token("s1"))
    started: list[bool] = []

    def start() -> None:
        try:
            push.start(creds, "s1")
        except Exception:
            started.append(False)
            return
        started.append(True)

    race(start, 20)
    assert started.count(True) == 1


def test_recovery_code_race_on_sql_one_winner(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u:
        u.subjects.add(Subject("s1", 1.0, "confirmed"), "esia", "d" * 64)
        u.commit()
    codes = RecoveryCodes(FakeSealer(), PEPPER, FixedClock(5.0))
    with uow() as u:
        code = codes.regenerate(u.credentials, "s1")[0]
        u.commit()

    def use() -> None:
        with uow() as u:
            codes.use(u.credentials, "s1", code)
            u.commit()

    results = race(use, 16)
    assert results.count("ok") == 1
    assert results.count("recovery_invalid") == 15
    with uow() as u:
        assert codes.remaining(u.credentials, "s1") == 9
