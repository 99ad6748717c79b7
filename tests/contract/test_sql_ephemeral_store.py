"""``SqlEphemeralStore`` on raw DBAPI connections: errors, pool health, races.

The shared contract (``test_ephemeral_store.py``) covers the behaviour; these tests cover
what running compiled statements on pooled DBAPI connections adds, on SQLite and on
PostgreSQL: a DBAPI error becomes ``StoreUnavailable`` described exactly as SQLAlchemy's
errors are (and without parameter values), a connection that raised never goes back to
the pool, a lost connection heals the whole pool, no connection is given back inside a
transaction, and consumers on separate pools (separate processes, in effect) still have
exactly one winner.

PostgreSQL: the tests that need their own pool build one on the session's schema; the
lost-connection test terminates only the backends of that pool (``pg_terminate_backend``
on their PIDs), never anything else on the shared server.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import Engine
from sqlalchemy import event

from gateway.core.clock import FixedClock
from gateway.core.errors import ReplayDetected
from gateway.core.errors import StoreUnavailable
from gateway.store.sql.engine import create_engine
from gateway.store.sql.errors import sql_errors
from gateway.store.sql_ephemeral import SqlEphemeralStore
from tests.contract import databases

NS = "test"
SECRET_KEY = f"key-{secrets.token_hex(8)}"
SECRET_VALUE = f"value-{secrets.token_hex(8)}".encode()

OPERATIONS: dict[str, Callable[[SqlEphemeralStore], object]] = {
    "put": lambda s: s.put(NS, SECRET_KEY, SECRET_VALUE, 30),
    "get": lambda s: s.get(NS, SECRET_KEY),
    "delete": lambda s: s.delete(NS, SECRET_KEY),
    "consume": lambda s: s.consume(NS, SECRET_KEY, 30),
    "incr": lambda s: s.incr(NS, SECRET_KEY, 30),
}


def _store(engine: Engine) -> SqlEphemeralStore:
    return SqlEphemeralStore(engine, FixedClock())


def _execute(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sqlalchemy.text(statement))


def _sibling_engine(engine: Engine, pool_size: int) -> Engine:
    """A new engine (own pool) on the same database — and schema — as ``engine``."""
    if engine.dialect.name == "sqlite":
        return create_engine(engine.url, pool_size=pool_size, timeout_seconds=10)
    return create_engine(
        engine.url,
        pool_size=pool_size,
        timeout_seconds=10,
        statement_timeout_seconds=30,
        search_path=engine.dialect.default_schema_name,
    )


@contextmanager
def _pool_events(engine: Engine, name: str) -> Iterator[list[Any]]:
    """The DBAPI connection of every pool event ``name`` while the block runs."""
    seen: list[Any] = []

    def on_event(dbapi_connection: Any, *_: Any) -> None:
        seen.append(dbapi_connection)

    event.listen(engine, name, on_event)
    try:
        yield seen
    finally:
        event.remove(engine, name, on_event)


def _invalidations(engine: Engine) -> Any:
    """Every pool connection invalidated while the block runs (one entry each)."""
    return _pool_events(engine, "invalidate")


def _checkouts(engine: Engine) -> Any:
    """Every DBAPI connection checked out of the pool while the block runs."""
    return _pool_events(engine, "checkout")


@contextmanager
def _table_away(engine: Engine) -> Iterator[None]:
    """The ``ephemeral`` table is missing while the block runs."""
    _execute(engine, "ALTER TABLE ephemeral RENAME TO ephemeral_away")
    try:
        yield
    finally:
        _execute(engine, "ALTER TABLE ephemeral_away RENAME TO ephemeral")


def _as_sqlalchemy_reports(engine: Engine, statement: str) -> StoreUnavailable:
    """The ``StoreUnavailable`` of ``statement`` run through SQLAlchemy and ``sql_errors``."""
    with pytest.raises(StoreUnavailable) as failure, sql_errors(), engine.begin() as conn:
        conn.execute(sqlalchemy.text(statement), {"k": SECRET_KEY})
    return failure.value


# --------------------------------------------------------------------------- errors


def test_a_database_error_is_store_unavailable_like_sqlalchemys(engine: Engine) -> None:
    store = _store(engine)
    with _checkouts(engine) as warm:
        store.get(NS, "warm")  # on SQLite the thread now holds a connection of its own
    with _table_away(engine):
        expected = _as_sqlalchemy_reports(engine, "SELECT value FROM ephemeral WHERE key = :k")
        with _invalidations(engine) as invalidated, _checkouts(engine) as taken:
            for name, operation in OPERATIONS.items():
                with pytest.raises(StoreUnavailable) as failure:
                    operation(store)
                error = failure.value
                assert error.store == "sql", name
                assert error.debug == expected.debug, name
                text = f"{error} {error.debug}"
                assert SECRET_KEY not in text, name
                assert SECRET_VALUE.decode() not in text, name
        if engine.dialect.name == "sqlite":
            # The thread's own connection is closed after each failure, never used again:
            # the first operation failed on the warm one, each later one took a new one.
            assert len(warm) == 1
            assert len(taken) == len(OPERATIONS) - 1
            for dbapi_connection in warm + taken:
                with pytest.raises(sqlite3.ProgrammingError, match="closed"):
                    dbapi_connection.execute("SELECT 1")
        else:
            assert len(invalidated) == len(OPERATIONS)  # none went back to the pool
        assert engine.pool.checkedout() == 0
    store.put(NS, "k", b"v", 30)  # the table is back: the pool works again
    assert store.consume(NS, "k", 30) == b"v"


_REFUSE_WRITES = {
    # SQLite's RAISE takes a literal message; it arrives as sqlite3.IntegrityError.
    "sqlite": [
        "CREATE TRIGGER ephemeral_refuse BEFORE INSERT ON ephemeral "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
    ],
    # PostgreSQL's message quotes the key, as driver messages may quote parameters.
    "postgresql": [
        "CREATE FUNCTION ephemeral_refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'refused key %', NEW.key; END $$",
        "CREATE TRIGGER ephemeral_refuse BEFORE INSERT ON ephemeral "
        "FOR EACH ROW EXECUTE FUNCTION ephemeral_refuse()",
    ],
}
_ALLOW_WRITES = {
    "sqlite": ["DROP TRIGGER ephemeral_refuse"],
    "postgresql": [
        "DROP TRIGGER ephemeral_refuse ON ephemeral",
        "DROP FUNCTION ephemeral_refuse()",
    ],
}


def test_any_dbapi_error_is_store_unavailable_and_never_quotes_parameters(
    engine: Engine,
) -> None:
    """Even an integrity-class error (not ``Conflict``: the port promises
    ``StoreUnavailable`` for every backend failure), even when the driver's message
    quotes the parameter."""
    store = _store(engine)
    dialect = engine.dialect.name
    _execute(engine, *_REFUSE_WRITES[dialect])
    try:
        for operation in ("put", "incr"):
            with pytest.raises(StoreUnavailable) as failure:
                OPERATIONS[operation](store)
            error = failure.value
            assert error.store == "sql"
            assert SECRET_KEY not in f"{error} {error.debug}"
            assert SECRET_VALUE.decode() not in f"{error} {error.debug}"
        if dialect == "postgresql":  # the driver's own message did carry the key
            assert SECRET_KEY in str(failure.value.__cause__)
            assert failure.value.debug == "ProgrammingError(RaiseException)"
        else:
            assert failure.value.debug == "IntegrityError(IntegrityError)"
    finally:
        _execute(engine, *_ALLOW_WRITES[dialect])
    store.put(NS, SECRET_KEY, SECRET_VALUE, 30)
    assert store.get(NS, SECRET_KEY) == SECRET_VALUE


# --------------------------------------------------------------------------- pool health

POOL = 3


def _fill_pool(engine: Engine) -> list[Any]:
    """Open ``POOL`` connections at once and check them back in; their DBAPI connections."""
    raws = [engine.raw_connection() for _ in range(POOL)]
    drivers = [raw.driver_connection for raw in raws]
    for raw in raws:
        raw.close()
    assert engine.pool.checkedin() == POOL
    return drivers


def _sever(engine: Engine, admin: Engine, drivers: list[Any]) -> None:
    """Cut ``drivers`` from the database, as a database restart would."""
    if engine.dialect.name == "sqlite":
        for driver in drivers:
            driver.close()  # "Cannot operate on a closed database": a disconnect
        return
    pids = [driver.info.backend_pid for driver in drivers]
    query = "SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid"
    count = "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(CAST(:pids AS int[]))"
    with admin.begin() as conn:
        assert all(conn.execute(sqlalchemy.text(query), {"pids": pids}).scalars())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with admin.begin() as conn:
            if conn.execute(sqlalchemy.text(count), {"pids": pids}).scalar() == 0:
                return
        time.sleep(0.05)
    raise AssertionError("the terminated backends did not exit")


def test_a_lost_connection_heals_the_whole_pool(engine: Engine) -> None:
    """After a restart-like loss of every pooled connection, one operation fails and the
    next checkout connects afresh (not one failure per pooled connection). On SQLite a
    thread keeps its own connection: losing it costs one operation too."""
    if engine.dialect.name == "sqlite":
        _a_lost_own_connection_heals(engine)
        return
    own = _sibling_engine(engine, POOL)
    try:
        store = _store(own)
        store.put(NS, "k", b"v", 30)
        drivers = _fill_pool(own)
        _sever(own, engine, drivers)
        with _invalidations(own) as invalidated:
            with pytest.raises(StoreUnavailable) as failure:
                store.get(NS, "k")
            assert failure.value.store == "sql"
            assert failure.value.debug.startswith(("OperationalError", "ProgrammingError"))
            assert len(invalidated) == 1
            for _ in range(2 * POOL):  # every pooled connection is replaced on checkout
                assert store.get(NS, "k") == b"v"
        assert own.pool.checkedout() == 0
        assert store.consume(NS, "k", 30) == b"v"
        survivors = {id(driver) for driver in _fill_pool(own)}
        assert survivors.isdisjoint(id(driver) for driver in drivers)
    finally:
        own.dispose()


def _a_lost_own_connection_heals(engine: Engine) -> None:
    store = _store(engine)
    with _checkouts(engine) as taken:
        store.put(NS, "k", b"v", 30)
        assert store.get(NS, "k") == b"v"
    assert len(taken) == 1, "one connection for the thread's operations"
    taken[0].close()  # "Cannot operate on a closed database"
    with pytest.raises(StoreUnavailable) as failure:
        store.get(NS, "k")
    assert failure.value.store == "sql"
    assert failure.value.debug.startswith("ProgrammingError")
    with _checkouts(engine) as again:
        for _ in range(2 * POOL):
            assert store.get(NS, "k") == b"v"
    assert len(again) == 1, "a new connection, kept again"
    assert engine.pool.checkedout() == 0
    errors: list[BaseException] = []

    def other_thread() -> None:  # another thread has a connection of its own
        try:
            assert store.consume(NS, "k", 30) == b"v"
        except BaseException as error:
            errors.append(error)

    with _checkouts(engine) as theirs:
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
    assert errors == []
    assert len(theirs) == 1
    assert theirs[0] is not again[0]


def _in_transaction(dbapi_connection: Any) -> bool:
    if hasattr(dbapi_connection, "in_transaction"):  # sqlite3
        return bool(dbapi_connection.in_transaction)
    return str(dbapi_connection.info.transaction_status.name) != "IDLE"  # psycopg


def _every_operation(store: SqlEphemeralStore) -> None:
    store.put(NS, "k", b"v", 30)
    assert store.get(NS, "k") == b"v"
    assert store.get(NS, "missing") is None
    assert store.consume(NS, "k", 30) == b"v"
    with pytest.raises(ReplayDetected):
        store.consume(NS, "k", 30)
    assert store.consume(NS, "missing", 30) is None
    assert store.incr(NS, "c", 30) == 1
    assert store.delete(NS, "c") is True


def test_no_connection_goes_back_to_the_pool_inside_a_transaction(engine: Engine) -> None:
    """Every operation ends its transaction: a pooled connection goes back outside one,
    and on SQLite the thread's own connection is outside one after each operation."""
    store = _store(engine)
    states: list[bool] = []
    if engine.dialect.name == "sqlite":
        with _checkouts(engine) as taken:
            store.put(NS, "warm", b"v", 30)
        (own,) = taken

        class Watched:  # the store, with the connection's state after each operation
            def __getattr__(self, name: str) -> Any:
                def call(*args: Any) -> Any:
                    try:
                        return getattr(store, name)(*args)
                    finally:
                        states.append(_in_transaction(own))

                return call

        with _checkouts(engine) as more:
            _every_operation(Watched())  # type: ignore[arg-type]
        assert more == [], "the thread's one connection did it all"
        assert len(states) == 8
        assert not any(states)
        return

    def on_reset(dbapi_connection: Any, _record: Any, _state: Any) -> None:
        states.append(_in_transaction(dbapi_connection))

    event.listen(engine, "reset", on_reset)
    try:
        _every_operation(store)
    finally:
        event.remove(engine, "reset", on_reset)
    assert len(states) == 8
    assert not any(states)


# --------------------------------------------------------------------------- statements


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_statements_compiled_before_the_first_connection_are_final(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The store compiles at construction, before the dialect has seen the server."""
    if backend == "sqlite":
        url: Any = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        request.getfixturevalue("postgres_engine")  # skips (or fails in CI) without it
        url = databases.postgres_url()
    fresh = create_engine(url, pool_size=1)
    try:
        before = _store(fresh)
        fresh.connect().close()  # the dialect initialises on the first connection
        after = _store(fresh)
        for name in ("_put", "_incr", "_get", "_delete", "_take", "_tombstone"):
            assert getattr(before, name).sql == getattr(after, name).sql, name
    finally:
        fresh.dispose()


# --------------------------------------------------------------------------- races

POOLS = 4
THREADS_PER_POOL = 5
ROUNDS = 10


@pytest.fixture
def pools(engine: Engine) -> Iterator[list[SqlEphemeralStore]]:
    """``POOLS`` stores, each on its own engine (like separate processes), one database."""
    engines = [_sibling_engine(engine, THREADS_PER_POOL) for _ in range(POOLS)]
    try:
        yield [_store(each) for each in engines]
    finally:
        for each in engines:
            each.dispose()


def test_consumers_on_separate_pools_have_exactly_one_winner(
    pools: list[SqlEphemeralStore],
) -> None:
    consumers = [store for store in pools for _ in range(THREADS_PER_POOL)]
    with ThreadPoolExecutor(max_workers=len(consumers)) as executor:
        for round_no in range(ROUNDS):
            key, value = f"race-{round_no}", f"grant-{round_no}".encode()
            pools[round_no % POOLS].put(NS, key, value, 60)
            barrier = threading.Barrier(len(consumers))

            def attempt(
                store: SqlEphemeralStore, key: str = key, barrier: threading.Barrier = barrier
            ) -> object:
                barrier.wait(timeout=10)
                try:
                    return store.consume(NS, key, 60)
                except ReplayDetected as replay:
                    return replay

            outcomes = list(executor.map(attempt, consumers))
            winners = [o for o in outcomes if isinstance(o, bytes)]
            replays = [o for o in outcomes if isinstance(o, ReplayDetected)]
            assert winners == [value], f"round {round_no}: {outcomes!r}"
            assert len(replays) == len(consumers) - 1
            assert all(r.value == value for r in replays)


def test_counters_on_separate_pools_lose_no_update(pools: list[SqlEphemeralStore]) -> None:
    counters = [store for store in pools for _ in range(THREADS_PER_POOL)]
    barrier = threading.Barrier(len(counters))

    def bump(store: SqlEphemeralStore) -> list[int]:
        barrier.wait(timeout=10)
        return [store.incr(NS, "hits", 60) for _ in range(5)]

    with ThreadPoolExecutor(max_workers=len(counters)) as executor:
        results = sorted(n for seen in executor.map(bump, counters) for n in seen)
    assert results == list(range(1, 5 * len(counters) + 1))
