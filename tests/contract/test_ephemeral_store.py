"""One contract for every ``EphemeralStore`` backend: memory, SQL (SQLite file and
PostgreSQL) and Redis.

Time: memory and SQL take the injected ``FixedClock``; Redis expires keys by its own
clock, so for Redis "time passes" by shortening every test key's remaining TTL
(``PEXPIRE``) or deleting the keys whose TTL would have run out — the same observable
effect without waiting. One Redis-only test waits ~1 s for a real expiry.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import sqlalchemy
from sqlalchemy import Engine

from gateway.core.clock import FixedClock
from gateway.core.errors import ReplayDetected
from gateway.core.ports import EphemeralStore
from gateway.store.memory import MemoryEphemeralStore
from gateway.store.redis import RedisEphemeralStore
from gateway.store.sql import migrate
from gateway.store.sql.engine import create_engine
from gateway.store.sql_ephemeral import SqlEphemeralStore
from gateway.store.sql_ephemeral import storage_key
from tests.contract import databases

_memory: type[EphemeralStore] = MemoryEphemeralStore
_sql: type[EphemeralStore] = SqlEphemeralStore
_redis: type[EphemeralStore] = RedisEphemeralStore


@dataclass
class Backend:
    name: str
    store: EphemeralStore
    advance: Callable[[float], None]
    """Let ``seconds`` pass for the store's expiry."""
    remaining: Callable[[str, str], float | None]
    """Seconds the (namespace, key) entry has left, live value or tombstone; ``None``."""


def _memory_backend() -> Backend:
    clock = FixedClock()
    store = MemoryEphemeralStore(clock)

    def remaining(namespace: str, key: str) -> float | None:
        entry = store._entries.get((namespace, key))
        return None if entry is None else entry.expires_at - clock.now()

    return Backend("memory", store, clock.advance, remaining)


def _sql_backend(name: str, engine: Engine) -> Backend:
    clock = FixedClock()
    store = SqlEphemeralStore(engine, clock)

    def remaining(namespace: str, key: str) -> float | None:
        with engine.connect() as conn:
            expires = conn.execute(
                sqlalchemy.text(
                    "SELECT expires_at FROM ephemeral WHERE namespace = :n AND key = :k"
                ),
                {"n": namespace, "k": storage_key(key)},
            ).scalar()
        return None if expires is None else float(expires) - clock.now()

    return Backend(name, store, clock.advance, remaining)


def _redis_backend(connection: redis.Redis, prefix: str) -> Backend:
    store = RedisEphemeralStore(connection, prefix)

    def advance(seconds: float) -> None:
        millis = int(seconds * 1000)
        for key in connection.scan_iter(match=f"{prefix}:*"):
            left = int(connection.pttl(key))
            if left < 0:
                continue
            if left - millis <= 0:
                connection.delete(key)
            else:
                connection.pexpire(key, left - millis)

    def remaining(namespace: str, key: str) -> float | None:
        left = int(connection.pttl(store.redis_key(namespace, key)))
        if left == -2:
            return None
        return left / 1000 if left >= 0 else float("inf")

    return Backend("redis", store, advance, remaining)


@pytest.fixture(
    params=[
        "memory",
        "sql-sqlite",
        pytest.param("sql-postgresql", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    kind = request.param
    if kind == "memory":
        yield _memory_backend()
    elif kind == "sql-sqlite":
        engine = create_engine(
            f"sqlite:///{tmp_path / 'ephemeral.db'}", pool_size=25, timeout_seconds=10
        )
        migrate.upgrade(engine)
        yield _sql_backend(kind, engine)
        engine.dispose()
    elif kind == "sql-postgresql":
        yield _sql_backend(kind, request.getfixturevalue("postgres_engine"))
    else:
        connection: redis.Redis = request.getfixturevalue("redis_connection")
        prefix = f"vhodtest{secrets.token_hex(6)}"
        yield _redis_backend(connection, prefix)
        keys = list(connection.scan_iter(match=f"{prefix}:*"))
        immortal = [k for k in keys if int(connection.pttl(k)) == -1]
        if keys:
            connection.delete(*keys)
        assert immortal == [], "every key the store writes must carry a TTL"


NS = "test"


# --------------------------------------------------------------------------- put / get


def test_put_then_get_returns_the_value(backend: Backend) -> None:
    backend.store.put(NS, "k", b"value", 30)
    assert backend.store.get(NS, "k") == b"value"


def test_get_many_answers_each_key_as_get_does(backend: Backend) -> None:
    store = backend.store
    store.put(NS, "value", b"v", 60)
    store.incr(NS, "counter", 60, amount=3)
    store.put(NS, "consumed", b"c", 60)
    store.consume(NS, "consumed", 60)
    store.put("other", "value", b"elsewhere", 60)
    keys = [(NS, "value"), (NS, "missing"), (NS, "counter"), (NS, "consumed"), ("other", "value")]
    assert store.get_many(keys) == [store.get(ns, key) for ns, key in keys]
    assert store.get_many(keys) == [b"v", None, b"3", None, b"elsewhere"]
    assert store.get_many([]) == []
    long_key = "k" * 300  # stored under its digest
    store.put(NS, long_key, b"long", 60)
    again = [(NS, long_key), (NS, "value"), (NS, long_key)]
    assert store.get_many(again) == [b"long", b"v", b"long"]
    with pytest.raises(ValueError, match="namespace"):
        store.get_many([("bad:ns", "k")])


def test_put_and_get_many_writes_and_reads_in_one_call(backend: Backend) -> None:
    store = backend.store
    store.put(NS, "a", b"1", 60)
    values = store.put_and_get_many((NS, "t", b"token", 60), [(NS, "a"), (NS, "missing")])
    assert values == [b"1", None]
    assert store.get(NS, "t") == b"token"
    assert store.put_and_get_many((NS, "u", b"x", 60), []) == []
    assert store.get(NS, "u") == b"x"
    with pytest.raises(ValueError, match="ttl_seconds"):
        store.put_and_get_many((NS, "v", b"x", 0), [(NS, "a")])
    assert store.get(NS, "v") is None


def test_get_of_a_missing_key_is_none(backend: Backend) -> None:
    assert backend.store.get(NS, "missing") is None


def test_put_replaces_value_and_ttl(backend: Backend) -> None:
    backend.store.put(NS, "k", b"old", 10)
    backend.store.put(NS, "k", b"new", 100)
    assert backend.store.get(NS, "k") == b"new"
    backend.advance(50)
    assert backend.store.get(NS, "k") == b"new"


def test_value_expires_after_its_ttl(backend: Backend) -> None:
    backend.store.put(NS, "k", b"v", 10)
    backend.advance(9)
    assert backend.store.get(NS, "k") == b"v"
    backend.store.put(NS, "later", b"l", 60)
    backend.advance(2)
    assert backend.store.get(NS, "k") is None
    assert backend.store.get_many([(NS, "k"), (NS, "later")]) == [None, b"l"]
    assert backend.store.consume(NS, "k", 10) is None
    assert backend.store.delete(NS, "k") is False


@pytest.mark.parametrize("ttl", [0, -1])
def test_every_write_needs_a_positive_ttl(backend: Backend, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        backend.store.put(NS, "k", b"v", ttl)
    with pytest.raises(ValueError, match="ttl"):
        backend.store.incr(NS, "c", ttl)
    backend.store.put(NS, "k", b"v", 10)
    with pytest.raises(ValueError, match="ttl"):
        backend.store.consume(NS, "k", ttl)
    assert backend.store.get(NS, "k") == b"v"


def test_every_write_sets_the_ttl_it_was_given(backend: Backend) -> None:
    backend.store.put(NS, "k", b"v", 30)
    assert backend.remaining(NS, "k") == pytest.approx(30, abs=1)
    backend.store.consume(NS, "k", 7)
    assert backend.remaining(NS, "k") == pytest.approx(7, abs=1)
    backend.store.incr(NS, "c", 20)
    assert backend.remaining(NS, "c") == pytest.approx(20, abs=1)


@pytest.mark.parametrize("namespace", ["", "a:b", "n" * 65])
def test_bad_namespaces_are_refused(backend: Backend, namespace: str) -> None:
    with pytest.raises(ValueError, match="namespace"):
        backend.store.put(namespace, "k", b"v", 10)


def test_delete_removes_and_reports(backend: Backend) -> None:
    backend.store.put(NS, "k", b"v", 30)
    assert backend.store.delete(NS, "k") is True
    assert backend.store.get(NS, "k") is None
    assert backend.store.delete(NS, "k") is False


def test_namespaces_are_isolated(backend: Backend) -> None:
    backend.store.put("one", "k", b"1", 30)
    backend.store.put("two", "k", b"2", 30)
    assert backend.store.consume("one", "k", 30) == b"1"
    assert backend.store.get("two", "k") == b"2"
    assert backend.store.incr("one", "c", 30) == 1
    assert backend.store.incr("two", "c", 30) == 1
    assert backend.store.delete("two", "k") is True
    with pytest.raises(ReplayDetected):
        backend.store.consume("one", "k", 30)


@pytest.mark.parametrize(
    "value",
    [b"", bytes(range(256)), b"v", b"t", b"tv\x00", b"12", b"\xff" * 65536],
    ids=["empty", "all-bytes", "tag-v", "tag-t", "tags-nul", "digits", "64k"],
)
def test_binary_values_round_trip(backend: Backend, value: bytes) -> None:
    backend.store.put(NS, "k", value, 30)
    assert backend.store.get(NS, "k") == value
    assert backend.store.consume(NS, "k", 30) == value
    with pytest.raises(ReplayDetected) as replay:
        backend.store.consume(NS, "k", 30)
    assert replay.value.value == value


def test_long_and_unicode_keys(backend: Backend) -> None:
    long_a, long_b = "a" * 499 + "1", "a" * 499 + "2"
    backend.store.put(NS, long_a, b"A", 30)
    backend.store.put(NS, long_b, b"B", 30)
    backend.store.put(NS, "ключ:с/символами", b"C", 30)
    assert backend.store.get(NS, long_a) == b"A"
    assert backend.store.get(NS, long_b) == b"B"
    assert backend.store.get(NS, "ключ:с/символами") == b"C"
    assert backend.store.consume(NS, long_a, 30) == b"A"
    assert backend.store.get(NS, long_b) == b"B"


# --------------------------------------------------------------------------- consume


def test_consume_returns_the_value_once_then_detects_replay(backend: Backend) -> None:
    backend.store.put(NS, "code", b"grant-1", 60)
    assert backend.store.consume(NS, "code", 300) == b"grant-1"
    assert backend.store.get(NS, "code") is None
    with pytest.raises(ReplayDetected) as replay:
        backend.store.consume(NS, "code", 300)
    assert replay.value.namespace == NS
    assert replay.value.value == b"grant-1"
    with pytest.raises(ReplayDetected):
        backend.store.consume(NS, "code", 300)


def test_consume_of_a_missing_key_is_none(backend: Backend) -> None:
    assert backend.store.consume(NS, "never", 30) is None


def test_tombstone_lives_for_its_own_ttl(backend: Backend) -> None:
    backend.store.put(NS, "code", b"g", 10)
    assert backend.store.consume(NS, "code", 100) == b"g"
    backend.advance(50)  # past the value's TTL, within the tombstone's
    with pytest.raises(ReplayDetected):
        backend.store.consume(NS, "code", 100)
    backend.advance(51)
    assert backend.store.consume(NS, "code", 100) is None


def test_delete_removes_a_tombstone(backend: Backend) -> None:
    backend.store.put(NS, "code", b"g", 30)
    backend.store.consume(NS, "code", 30)
    assert backend.store.delete(NS, "code") is True
    assert backend.store.consume(NS, "code", 30) is None


def test_put_over_a_tombstone_starts_afresh(backend: Backend) -> None:
    backend.store.put(NS, "k", b"first", 30)
    backend.store.consume(NS, "k", 30)
    backend.store.put(NS, "k", b"second", 30)
    assert backend.store.get(NS, "k") == b"second"
    assert backend.store.consume(NS, "k", 30) == b"second"


# --------------------------------------------------------------------------- put_many


def test_put_many_stores_each_item_with_its_own_ttl(backend: Backend) -> None:
    other = NS + "2"
    backend.store.put(NS, "old", b"before", 30)
    backend.store.put(NS, "gone", b"before", 30)
    backend.store.consume(NS, "gone", 30)  # a tombstone: put_many starts it afresh
    backend.store.put_many(
        [
            (NS, "a", b"1", 10),
            (other, "a", b"2", 100),
            (NS, "old", b"3", 100),
            (NS, "gone", b"4", 5),
        ]
    )
    assert backend.store.get(NS, "a") == b"1"
    assert backend.store.get(other, "a") == b"2"
    assert backend.store.get(NS, "old") == b"3"
    assert backend.store.get(NS, "gone") == b"4"
    assert backend.remaining(NS, "a") == pytest.approx(10, abs=1)
    assert backend.remaining(other, "a") == pytest.approx(100, abs=1)
    backend.advance(11)
    assert backend.store.get(NS, "a") is None
    assert backend.store.get(NS, "gone") is None
    assert backend.store.get(other, "a") == b"2"
    assert backend.store.consume(other, "a", 30) == b"2"


def test_put_many_of_nothing_does_nothing(backend: Backend) -> None:
    backend.store.put_many([])
    assert backend.store.get(NS, "k") is None


@pytest.mark.parametrize(
    "bad", [("", "k", b"v", 10), (NS, "k", b"v", 0), ("a:b", "k", b"v", 10)], ids=str
)
def test_put_many_refuses_a_bad_item_and_stores_none(
    backend: Backend, bad: tuple[str, str, bytes, int]
) -> None:
    with pytest.raises(ValueError, match=r"namespace|ttl"):
        backend.store.put_many([(NS, "first", b"v", 10), bad])
    assert backend.store.get(NS, "first") is None


# --------------------------------------------------------------------------- incr


def test_incr_counts(backend: Backend) -> None:
    assert backend.store.incr(NS, "c", 60) == 1
    assert backend.store.incr(NS, "c", 60) == 2
    assert backend.store.incr(NS, "c", 60, amount=3) == 5
    assert backend.store.get(NS, "c") == b"5"


def test_incr_window_is_fixed_at_creation(backend: Backend) -> None:
    assert backend.store.incr(NS, "c", 10) == 1
    backend.advance(6)
    assert backend.store.incr(NS, "c", 10) == 2  # does not extend the window
    assert backend.remaining(NS, "c") == pytest.approx(4, abs=1)
    backend.advance(5)
    assert backend.store.incr(NS, "c", 10) == 1  # expired: a new window
    assert backend.remaining(NS, "c") == pytest.approx(10, abs=1)


def test_incr_over_a_value_or_tombstone_restarts(backend: Backend) -> None:
    backend.store.put(NS, "k", b"not a number", 30)
    assert backend.store.incr(NS, "k", 30) == 1
    backend.store.put(NS, "t", b"x", 30)
    backend.store.consume(NS, "t", 30)
    assert backend.store.incr(NS, "t", 30) == 1


def test_ping(backend: Backend) -> None:
    backend.store.ping()


# --------------------------------------------------------------------------- races

THREADS = 20
ROUNDS = 10


def test_concurrent_consume_has_exactly_one_winner(backend: Backend) -> None:
    """20 threads released together consume one key; repeated 10 times."""
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for round_no in range(ROUNDS):
            key = f"race-{round_no}"
            value = f"grant-{round_no}".encode()
            backend.store.put(NS, key, value, 60)
            barrier = threading.Barrier(THREADS)

            def attempt(key: str = key, barrier: threading.Barrier = barrier) -> object:
                barrier.wait(timeout=10)
                try:
                    return backend.store.consume(NS, key, 60)
                except ReplayDetected as replay:
                    return replay

            outcomes = list(pool.map(lambda _: attempt(), range(THREADS)))
            winners = [o for o in outcomes if isinstance(o, bytes)]
            replays = [o for o in outcomes if isinstance(o, ReplayDetected)]
            assert winners == [value], f"round {round_no}: {outcomes!r}"
            assert len(replays) == THREADS - 1
            assert all(r.value == value for r in replays)


def test_concurrent_incr_loses_no_update(backend: Backend) -> None:
    barrier = threading.Barrier(THREADS)

    def bump(_: int) -> int:
        barrier.wait(timeout=10)
        return backend.store.incr(NS, "hits", 60)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = sorted(pool.map(bump, range(THREADS)))
    assert results == list(range(1, THREADS + 1))


# --------------------------------------------------------------------------- Redis only


@pytest.mark.redis
def test_redis_expiry_is_real(redis_connection: redis.Redis) -> None:
    """Once, with Redis's own clock: a 1 s TTL really expires (no simulated time)."""
    prefix = f"vhodtest{secrets.token_hex(6)}"
    store = RedisEphemeralStore(redis_connection, prefix)
    try:
        store.put(NS, "k", b"v", 1)
        assert store.get(NS, "k") == b"v"
        deadline = time.monotonic() + 3
        while store.get(NS, "k") is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.get(NS, "k") is None
    finally:
        store.delete(NS, "k")


@pytest.mark.redis
def test_redis_idle_connection_closed_by_the_server_is_replaced(
    redis_connection: redis.Redis,
) -> None:
    """Redis restarted, or its idle ``timeout`` closed the store's connection: the next
    operation goes out on a new connection instead of failing."""
    prefix = f"vhodtest{secrets.token_hex(6)}"
    store = RedisEphemeralStore(redis_connection, prefix)
    try:
        store.put(NS, "k", b"v", 60)
        own_id = store._lane("CLIENT", "ID")  # the idle connection the next call takes
        assert redis_connection.client_kill_filter(_id=str(own_id)) == 1
        assert store.get(NS, "k") == b"v"
        assert store._lane("CLIENT", "ID") != own_id
    finally:
        store.delete(NS, "k")


@pytest.mark.redis
def test_redis_store_outlives_more_dropped_connections_than_the_pool_allows(
    redis_connection: redis.Redis,
) -> None:
    """Connections the server closed are dropped and replaced; however many there were,
    and with more threads at once than the client pool's ``max_connections``, the store
    keeps working (the pool's own count would have ended in ``Too many connections``)."""
    client = redis.Redis(
        connection_pool=redis.ConnectionPool.from_url(databases.redis_url(), max_connections=2)
    )
    prefix = f"vhodtest{secrets.token_hex(6)}"
    store = RedisEphemeralStore(client, prefix)
    try:
        store.put(NS, "k", b"v", 60)
        for _ in range(5):  # more drops than max_connections
            own_id = store._lane("CLIENT", "ID")
            assert redis_connection.client_kill_filter(_id=str(own_id)) == 1
            assert store.get(NS, "k") == b"v"

        def read(_: int) -> bytes | None:
            return store.get(NS, "k")

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            assert list(pool.map(read, range(THREADS * 4))) == [b"v"] * THREADS * 4
    finally:
        store.delete(NS, "k")
        client.close()


@pytest.mark.redis
def test_redis_scripts_are_loaded_again_after_a_script_flush(
    redis_connection: redis.Redis,
) -> None:
    """``consume`` and ``incr`` run by their SHA; a server that forgot its scripts (a
    restart, ``SCRIPT FLUSH``, a failover) gets them again and the operation succeeds."""
    prefix = f"vhodtest{secrets.token_hex(6)}"
    store = RedisEphemeralStore(redis_connection, prefix)
    try:
        assert store.incr(NS, "n", 60) == 1
        redis_connection.script_flush()
        assert store.incr(NS, "n", 60) == 2
        store.put(NS, "k", b"v", 60)
        redis_connection.script_flush()
        assert store.consume(NS, "k", 60) == b"v"
        with pytest.raises(ReplayDetected):
            store.consume(NS, "k", 60)
    finally:
        store.delete(NS, "k")
        store.delete(NS, "n")
