"""``SqlEphemeralStore``: the embedded default ephemeral store, a table in the durable DB.

One row per (namespace, key) in the ``ephemeral`` table (``gateway.store.sql.tables``):
``value`` or ``counter``, ``expires_at`` (epoch seconds from the injected clock) and a
``consumed`` flag. A row whose ``expires_at`` has passed counts as absent everywhere.

Why it is safe under concurrency (several threads, several processes on one SQLite file,
several hosts on PostgreSQL) — every operation is one short transaction that *starts with
its write*:

* ``consume`` is a single conditional ``UPDATE … SET consumed = true, expires_at = now +
  tombstone_ttl WHERE … AND consumed = false AND expires_at > now RETURNING value``. On
  PostgreSQL a second updater blocks on the row lock and re-checks the ``WHERE`` against
  the committed row (no match); on SQLite writers are serialised by the database lock.
  Exactly one caller gets the value; the others then read the tombstone and raise
  :class:`ReplayDetected` with the remembered value. SQLite ≥ 3.35 is needed for
  ``RETURNING``.
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

**Statements are built once** (per store, with bound parameters) and reused: building
an upsert with SQLAlchemy Core on every call cost more CPU than running it.

Every database failure raises :class:`StoreUnavailable` (``store="sql"``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from gateway.core.errors import ReplayDetected
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.store._checks import check_amount
from gateway.store._checks import check_namespace
from gateway.store._checks import check_ttl
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.tables import EPHEMERAL_KEY_LENGTH
from gateway.store.sql.tables import ephemeral_table as _table

log = logging.getLogger(__name__)

_c = _table.c
_HASHED_KEY_PREFIX = "#sha256:"


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
        insert: Any = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._put, self._incr = _upserts(insert)
        self._get = select(_c.value, _c.counter).where(
            _c.namespace == bindparam("ns"),
            _c.key == bindparam("k"),
            _c.consumed.is_(False),
            _c.expires_at > bindparam("now"),
        )
        self._delete = (
            delete(_table)
            .where(_c.namespace == bindparam("ns"), _c.key == bindparam("k"))
            .returning(_c.expires_at)
        )
        self._take = (
            update(_table)
            .where(
                _c.namespace == bindparam("ns"),
                _c.key == bindparam("k"),
                _c.consumed.is_(False),
                _c.expires_at > bindparam("now"),
            )
            .values(consumed=True, expires_at=bindparam("tombstone_expires"))
            .returning(_c.value, _c.counter)
        )
        self._tombstone = select(_c.value, _c.counter).where(
            _c.namespace == bindparam("ns"),
            _c.key == bindparam("k"),
            _c.consumed.is_(True),
            _c.expires_at > bindparam("now"),
        )

    def put(self, namespace: str, key: str, value: bytes, ttl_seconds: int) -> None:
        check_namespace(namespace)
        check_ttl(ttl_seconds)
        now = self._clock.now()
        params = {
            "ns": namespace,
            "k": storage_key(key),
            "value": bytes(value),
            "expires": now + ttl_seconds,
        }
        with sql_errors(), self._engine.begin() as conn:
            conn.execute(self._put, params)
        self._maybe_purge(now)

    def get(self, namespace: str, key: str) -> bytes | None:
        check_namespace(namespace)
        params = {"ns": namespace, "k": storage_key(key), "now": self._clock.now()}
        with sql_errors(), self._engine.connect() as conn:
            row = conn.execute(self._get, params).first()
        if row is None:
            return None
        if row.value is not None:
            return bytes(row.value)
        return str(row.counter).encode()

    def delete(self, namespace: str, key: str) -> bool:
        check_namespace(namespace)
        now = self._clock.now()
        params = {"ns": namespace, "k": storage_key(key)}
        with sql_errors(), self._engine.begin() as conn:
            removed = conn.execute(self._delete, params).first()
        return removed is not None and removed.expires_at > now

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
        with sql_errors(), self._engine.begin() as conn:
            taken = conn.execute(self._take, params).first()
            replayed = None if taken is not None else conn.execute(self._tombstone, params).first()
        if taken is not None:
            self._maybe_purge(now)
            return _value_of(taken.value, taken.counter)
        if replayed is not None:
            raise ReplayDetected(namespace, value=_value_of(replayed.value, replayed.counter))
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
        with sql_errors(), self._engine.begin() as conn:
            total = conn.execute(self._incr, params).scalar_one()
        self._maybe_purge(now)
        return int(total)

    def ping(self) -> None:
        with sql_errors(), self._engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def purge_expired(self) -> int:
        """Delete every expired row now; return how many were deleted."""
        now = self._clock.now()
        with sql_errors(), self._engine.begin() as conn:
            result = conn.execute(delete(_table).where(_c.expires_at <= now))
        return int(result.rowcount)

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
