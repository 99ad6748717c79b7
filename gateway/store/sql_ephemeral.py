"""``SqlEphemeralStore``: the embedded default ephemeral store, a table in the durable DB.

One row per (namespace, key) in the ``ephemeral`` table (``gateway.store.sql.tables``):
``value`` or ``counter``, ``expires_at`` (epoch seconds from the injected clock) and a
``consumed`` flag. A row whose ``expires_at`` has passed counts as absent everywhere.

Why it is safe under concurrency (several threads, several processes on one SQLite file,
several hosts on PostgreSQL) — every operation is short and *starts with its write*:

* ``consume`` is a single conditional ``UPDATE … SET consumed = true, expires_at = now +
  tombstone_ttl WHERE … AND consumed = false AND expires_at > now RETURNING value``. On
  PostgreSQL a second updater blocks on the row lock and re-checks the ``WHERE`` against
  the committed row (no match); on SQLite writers are serialised by the database lock.
  Exactly one caller gets the value; the others then read the tombstone and raise
  :class:`ReplayDetected` with the remembered value. SQLite ≥ 3.35 is needed for
  ``RETURNING``.

  The tombstone is read by a second statement, run only when the ``UPDATE`` matched
  nothing, and with no transaction around the two: on SQLite each is its own transaction
  (see below), and on PostgreSQL ``READ COMMITTED`` gives each statement of a transaction
  its own snapshot anyway. That is enough: "exactly one winner" rests on the ``UPDATE``
  alone, and the tombstone read only picks between ``None`` and :class:`ReplayDetected`.
  Another writer may run between the two statements: if it removed the tombstone (a
  ``delete``, a ``put`` that starts the key afresh, a purge of a tombstone expiring that
  very moment), ``consume`` returns ``None``, as if it had run just after that write;
  if a new value was put and consumed in between, the replay carries that value. Both
  statements compare with the same ``now``, so a tombstone does not expire in between
  on its own. Neither case changes who won.
* ``put`` and ``incr`` are one upsert (``INSERT … ON CONFLICT DO UPDATE … RETURNING``).
  A counter's TTL is set when it is created (a fixed window) and kept by later
  increments; an expired or consumed row restarts it.

**Key length.** ``key`` is ``VARCHAR(128)``. Callers mostly pass digests (64 hex) or
random ids, but nothing in the port bounds a key, so a key longer than 128 characters is
stored as ``"#sha256:" + sha256(key)`` (72 characters). The mapping is deterministic, so
lookups work unchanged; a collision would need a SHA-256 collision (a short key of that
exact form is not something a caller produces). Namespaces are code constants of at most
64 characters (``_checks.check_namespace``).

**Purge.** Expired rows are invisible but still take space, so after a write the store
deletes every expired row, at most once per ``purge_interval_seconds`` per process (one
indexed ``DELETE`` on ``expires_at``); ``purge_expired()`` does it on demand (CLI,
maintenance). A failed purge is logged and ignored: the write it followed succeeded.

**Statements are built once and run on a raw DBAPI connection.** They are built with
SQLAlchemy Core (one source of truth, dialect-correct SQL) and compiled once per store
for the engine's dialect (SQL text, parameter order, the literal values compiled as
parameters); an operation then checks a DBAPI connection out of the engine's pool
(``engine.raw_connection()``), runs the SQL on a cursor, commits and gives the connection
back. Measured: SQLAlchemy's ``Connection``/execution machinery cost ~160 µs of CPU per
operation, the same statement on a raw cursor ~40 µs, and a login does about eleven of
these operations (put/get/consume on a SQLite file went from ~130 to ~35 µs of CPU each,
on PostgreSQL from ~300 to ~180 µs of client CPU). ``get_many`` is one ``SELECT`` of all
its keys (compiled once per number of keys), and ``put_and_get_many`` runs its write and
that read on one checked-out connection.

Transactions: SQLite connections run with ``isolation_level=None`` (``engine.py``;
SQLAlchemy's ``BEGIN`` is not involved here), so every statement is its own atomic
transaction (``put_many`` begins one, ``BEGIN IMMEDIATE``, for its rows), and a
``… RETURNING`` statement is fetched to the end before anything else
(its write completes when it is exhausted). psycopg connections are not in autocommit
mode, so every operation — a read too — ends with a ``commit`` and no connection goes
back to the pool inside a transaction.

A connection that raised is never given back as it was: it is invalidated (closed; the
pool opens a new one when needed), and when the error says the connection is gone
(``dialect.is_disconnect``) every pooled connection opened before it is replaced as well,
as SQLAlchemy itself does — so after a database restart the next checkout connects
afresh. Checkout is SQLAlchemy's pool as before (timeout, recycling, pre-ping when
configured).

**On SQLite each thread keeps its connection.** The pool's checkout and check-in cost
more than a SQLite statement itself (~11 of ~14 µs an operation measured alone; ~0.4 ms of
a login's gateway CPU served), so a thread takes a connection from the pool once (made
as the pool makes them, with the engine's ``PRAGMA``s), detaches it from the pool and
keeps it; every operation still commits before it returns, so no transaction or lock is
held between operations and the file's writers are serialised as before. A connection
that raised is closed and forgotten; the thread's next operation takes a new one. The
connections are as many as the threads that used the store, and go with them (or with the
store). PostgreSQL connections stay pooled: one per thread would multiply the server's
connections.

Every database failure raises :class:`StoreUnavailable` (``store="sql"``), described as
for SQLAlchemy's errors (``gateway.store.sql.errors``; never with the SQL parameters).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any
from typing import TypeVar
from typing import cast

from sqlalchemy import ColumnElement
from sqlalchemy import Engine
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import exc as sa_exc
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.engine.interfaces import DBAPIModule
from sqlalchemy.pool import PoolProxiedConnection

from gateway.core.errors import ReplayDetected
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.store._checks import check_amount
from gateway.store._checks import check_namespace
from gateway.store._checks import check_ttl
from gateway.store.sql.errors import dbapi_unavailable
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.errors import unavailable
from gateway.store.sql.raw import CompiledStatement
from gateway.store.sql.tables import EPHEMERAL_KEY_LENGTH
from gateway.store.sql.tables import ephemeral_table as _table

log = logging.getLogger(__name__)

_c = _table.c
_HASHED_KEY_PREFIX = "#sha256:"
MAX_COMPILED_READS = 16
"""``get_many`` keeps the statement for up to this many keys (callers read two or three)."""
_T = TypeVar("_T")


def storage_key(key: str) -> str:
    """The key as stored: itself, or its SHA-256 when longer than the column allows."""
    if len(key) <= EPHEMERAL_KEY_LENGTH:
        return key
    return _HASHED_KEY_PREFIX + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class SqlEphemeralStore:
    """The ``EphemeralStore`` port over the ``ephemeral`` table of the durable database.

    :param engine: the durable store's engine (``gateway.store.sql.engine.create_engine``);
        the table comes with the migrations.
    :param clock: the time authority for expiry (``SystemClock`` in production).
    :param purge_interval_seconds: how often (at most) expired rows are deleted.
    """

    def __init__(self, engine: Engine, clock: Clock, *, purge_interval_seconds: float = 60.0):
        self._engine = engine
        self._clock = clock
        self._purge_interval = purge_interval_seconds
        self._purge_lock = threading.Lock()
        self._next_purge = clock.now() + purge_interval_seconds
        dialect = engine.dialect
        self._dbapi_error: type[Exception] = dialect.loaded_dbapi.Error
        # SQLite connections run statements as their own transactions (``engine.py``); a
        # batch begins one. psycopg is always in a transaction until the commit.
        self._begin = "BEGIN IMMEDIATE" if dialect.name == "sqlite" else None
        insert: Any = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
        put, incr = _upserts(insert)
        self._put = CompiledStatement(put, dialect)
        self._incr = CompiledStatement(incr, dialect)
        self._get = CompiledStatement(
            select(_c.value, _c.counter).where(*_row(consumed=False)), dialect
        )
        delete_ = (
            delete(_table)
            .where(_c.namespace == bindparam("ns"), _c.key == bindparam("k"))
            .returning(_c.expires_at)
        )
        self._delete = CompiledStatement(delete_, dialect)
        take = (
            update(_table)
            .where(*_row(consumed=False))
            .values(consumed=True, expires_at=bindparam("tombstone_expires"))
            .returning(_c.value, _c.counter)
        )
        self._take = CompiledStatement(take, dialect)
        tombstone = select(_c.value, _c.counter).where(*_row(consumed=True))
        self._tombstone = CompiledStatement(tombstone, dialect)
        self._get_many: dict[int, CompiledStatement] = {}
        # SQLite: each thread keeps one connection of its own to the file (see the module
        # docstring); PostgreSQL's connections stay pooled.
        self._held: threading.local | None = threading.local() if self._begin else None

    def put(self, namespace: str, key: str, value: bytes, ttl_seconds: int) -> None:
        now = self._clock.now()
        params = _put_row((namespace, key, value, ttl_seconds), now)
        self._run(lambda cursor: self._put.run(cursor, params))
        self._maybe_purge(now)

    def put_many(self, items: Sequence[tuple[str, str, bytes, int]]) -> None:
        now = self._clock.now()
        rows = [_put_row(item, now) for item in items]

        def put_all(cursor: DBAPICursor) -> None:
            if self._begin is not None:  # SQLite: one transaction for the rows, not one each
                cursor.execute(self._begin)
            for params in rows:
                self._put.run(cursor, params)

        self._run(put_all)
        self._maybe_purge(now)

    def get(self, namespace: str, key: str) -> bytes | None:
        check_namespace(namespace)
        params = {"ns": namespace, "k": storage_key(key), "now": self._clock.now()}
        row = self._run(lambda cursor: self._get.first(cursor, params))
        if row is None:
            return None
        return _value_of(row[0], row[1])

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[bytes | None]:
        if len(keys) <= 1:
            return [self.get(*key) for key in keys]
        read = self._reads(keys)
        return read(self._run(read.fetch))

    def put_and_get_many(
        self, item: tuple[str, str, bytes, int], keys: Sequence[tuple[str, str]]
    ) -> list[bytes | None]:
        if not keys:
            self.put(*item)
            return []
        params = _put_row(item, self._clock.now())
        read = self._reads(keys)

        def put_then_get(cursor: DBAPICursor) -> list[Any]:
            self._put.run(cursor, params)
            return read.fetch(cursor)

        values = read(self._run(put_then_get))
        self._maybe_purge(read.now)
        return values

    def _reads(self, keys: Sequence[tuple[str, str]]) -> _Reads:
        """The one ``SELECT`` of ``keys`` (statements compiled once per number of keys)."""
        for namespace, _ in keys:
            check_namespace(namespace)
        count = len(keys)
        statement = self._get_many.get(count)
        if statement is None:
            pairs = [
                and_(_c.namespace == bindparam(f"ns{i}"), _c.key == bindparam(f"k{i}"))
                for i in range(count)
            ]
            query = select(_c.namespace, _c.key, _c.value, _c.counter).where(
                _c.consumed.is_(False), _c.expires_at > bindparam("now"), or_(*pairs)
            )
            statement = CompiledStatement(query, self._engine.dialect)
            if count <= MAX_COMPILED_READS:
                self._get_many[count] = statement
        return _Reads(statement, [(ns, storage_key(k)) for ns, k in keys], self._clock.now())

    def delete(self, namespace: str, key: str) -> bool:
        check_namespace(namespace)
        now = self._clock.now()
        params = {"ns": namespace, "k": storage_key(key)}
        removed = self._run(lambda cursor: self._delete.first(cursor, params))
        return removed is not None and removed[0] > now

    def consume(self, namespace: str, key: str, tombstone_ttl_seconds: int) -> bytes | None:
        check_namespace(namespace)
        check_ttl(tombstone_ttl_seconds, "tombstone_ttl_seconds")
        now = self._clock.now()
        params = {
            "ns": namespace,
            "k": storage_key(key),
            "now": now,
            "tombstone_expires": now + tombstone_ttl_seconds,
        }

        def take(cursor: DBAPICursor) -> tuple[Any, Any]:
            taken = self._take.first(cursor, params)
            if taken is not None:
                return taken, None
            return None, self._tombstone.first(cursor, params)

        taken, replayed = self._run(take)
        if taken is not None:
            self._maybe_purge(now)
            return _value_of(taken[0], taken[1])
        if replayed is not None:
            raise ReplayDetected(namespace, value=_value_of(replayed[0], replayed[1]))
        return None

    def incr(self, namespace: str, key: str, ttl_seconds: int, amount: int = 1) -> int:
        check_namespace(namespace)
        check_ttl(ttl_seconds)
        check_amount(amount)
        now = self._clock.now()
        params = {
            "ns": namespace,
            "k": storage_key(key),
            "amount": amount,
            "now": now,
            "expires": now + ttl_seconds,
        }
        row = self._run(lambda cursor: self._incr.first(cursor, params))
        if row is None:  # an upsert … RETURNING always returns its row
            raise RuntimeError("the counter upsert returned no row")
        self._maybe_purge(now)
        return int(row[0])

    def ping(self) -> None:
        with sql_errors(), self._engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def purge_expired(self) -> int:
        """Delete every expired row now; return how many were deleted."""
        now = self._clock.now()
        with sql_errors(), self._engine.begin() as conn:
            result = conn.execute(delete(_table).where(_c.expires_at <= now))
        return int(result.rowcount)

    def _run(self, work: Callable[[DBAPICursor], _T]) -> _T:
        """Run ``work`` on a cursor of a DBAPI connection, commit, check it back in.

        Any failure invalidates the connection (see the module docstring); a DBAPI error
        becomes :class:`StoreUnavailable`.
        """
        held = self._held
        raw = getattr(held, "raw", None) if held is not None else None
        if raw is None:
            raw = self._checkout()
            if held is not None:
                raw.detach()  # this thread's own from now on; the pool opens another
                held.raw = raw
        try:
            cursor = raw.cursor()
            try:
                result = work(cursor)
            finally:
                cursor.close()
            raw.commit()
        except BaseException as error:
            self._discard(raw, error)
            if isinstance(error, self._dbapi_error):
                raise dbapi_unavailable(error, self._engine.dialect) from error
            raise
        if held is None:
            raw.close()
        return result

    def _checkout(self) -> PoolProxiedConnection:
        try:
            return self._engine.raw_connection()
        except self._dbapi_error as error:  # connecting failed (the pool does not wrap it)
            raise dbapi_unavailable(error, self._engine.dialect) from error
        except (sa_exc.TimeoutError, sa_exc.DisconnectionError) as error:  # pool timeout…
            raise unavailable(error) from error

    def _discard(self, raw: PoolProxiedConnection, error: BaseException) -> None:
        """Drop a connection that raised ``error``: a thread's own is closed and forgotten;
        a pooled one is invalidated (and, on a disconnect, its pool)."""
        if self._held is not None:
            self._held.raw = None
            _close_quietly(raw)
            return
        dialect = self._engine.dialect
        if isinstance(error, self._dbapi_error) and dialect.is_disconnect(
            cast(DBAPIModule.Error, error), raw.dbapi_connection, None
        ):
            # What SQLAlchemy's Connection does on a disconnect (with this same pool
            # method): every connection of the pool opened before this one is replaced
            # at its next checkout.
            self._engine.pool._invalidate(raw, error)
        else:
            raw.invalidate(error)

    def _maybe_purge(self, now: float) -> None:
        if now < self._next_purge or not self._purge_lock.acquire(blocking=False):
            return
        try:
            self._next_purge = now + self._purge_interval
            self.purge_expired()
        except Exception as error:  # the write before it succeeded; purge again later
            log.warning("ephemeral.purge_failed", extra={"error": type(error).__name__})
        finally:
            self._purge_lock.release()


def _close_quietly(raw: PoolProxiedConnection) -> None:
    """Close a thread's own (detached) connection after a failure; it is not used again."""
    try:
        raw.close()
    except Exception as error:  # already broken: nothing more to do with it
        log.debug("ephemeral.close_failed", extra={"error": type(error).__name__})


def _put_row(item: tuple[str, str, bytes, int], now: float) -> dict[str, Any]:
    """The parameters of the upsert of ``item`` (namespace, key, value, TTL), checked."""
    namespace, key, value, ttl_seconds = item
    check_namespace(namespace)
    check_ttl(ttl_seconds)
    return {
        "ns": namespace,
        "k": storage_key(key),
        "value": bytes(value),
        "expires": now + ttl_seconds,
    }


class _Reads:
    """Several keys read with one statement: its parameters, and the values in key order."""

    __slots__ = ("keys", "now", "params", "statement")

    def __init__(self, statement: CompiledStatement, keys: list[tuple[str, str]], now: float):
        self.statement = statement
        self.keys = keys
        self.now = now
        self.params: dict[str, Any] = {"now": now}
        for i, (namespace, key) in enumerate(keys):
            self.params[f"ns{i}"] = namespace
            self.params[f"k{i}"] = key

    def fetch(self, cursor: DBAPICursor) -> list[Any]:
        return self.statement.rows(cursor, self.params)

    def __call__(self, rows: list[Any]) -> list[bytes | None]:
        found = {(row[0], row[1]): _value_of(row[2], row[3]) for row in rows}
        return [found.get(key) for key in self.keys]


def _row(*, consumed: bool) -> tuple[ColumnElement[bool], ...]:
    """The unexpired row ``(ns, k)``: live (``consumed=False``) or a tombstone."""
    return (
        _c.namespace == bindparam("ns"),
        _c.key == bindparam("k"),
        _c.consumed.is_(consumed),
        _c.expires_at > bindparam("now"),
    )


def _upserts(insert: Any) -> tuple[Any, Any]:
    """The ``put`` and ``incr`` upserts of a dialect (``insert``: its ``insert``)."""
    put = insert(_table).values(
        namespace=bindparam("ns"),
        key=bindparam("k"),
        value=bindparam("value"),
        counter=None,
        expires_at=bindparam("expires"),
        consumed=False,
    )
    put = put.on_conflict_do_update(
        index_elements=[_c.namespace, _c.key],
        set_={
            "value": put.excluded.value,
            "counter": None,
            "expires_at": put.excluded.expires_at,
            "consumed": False,
        },
    )
    incr = insert(_table).values(
        namespace=bindparam("ns"),
        key=bindparam("k"),
        value=None,
        counter=bindparam("amount"),
        expires_at=bindparam("expires"),
        consumed=False,
    )
    # A live counter grows and keeps its expiry (fixed window); anything else — an
    # expired row, a tombstone, a plain value — is replaced by a new counter.
    restart = or_(_c.expires_at <= bindparam("now"), _c.consumed.is_(True), _c.counter.is_(None))
    incr = incr.on_conflict_do_update(
        index_elements=[_c.namespace, _c.key],
        set_={
            "value": None,
            "counter": case(
                (restart, incr.excluded.counter), else_=_c.counter + incr.excluded.counter
            ),
            "expires_at": case((restart, incr.excluded.expires_at), else_=_c.expires_at),
            "consumed": False,
        },
    ).returning(_c.counter)
    return put, incr


def _value_of(value: bytes | None, counter: int | None) -> bytes:
    return bytes(value) if value is not None else str(counter).encode()


_: type[EphemeralStore] = SqlEphemeralStore
