"""SQLAlchemy engines for the durable store: SQLite (embedded default) and PostgreSQL.

**SQLite** (one file, one node): WAL journal (readers never block the writer),
``busy_timeout=5000`` (a writer waits up to 5 s for the write lock instead of failing at
once), ``synchronous=NORMAL`` (in WAL mode: no fsync per commit, only at checkpoints; the
database stays consistent after a crash or power loss, and only the last commits before a
power loss can be lost — SQLite's recommended setting for WAL; a commit cost more in fsync
than the rest of a login's SQL together), ``foreign_keys=ON``, ``check_same_thread=False``
(the pool hands connections to worker threads). Python's ``sqlite3`` "legacy transaction
control" is switched off (``isolation_level=None``) and SQLAlchemy emits ``BEGIN`` itself,
as the SQLAlchemy SQLite documentation recommends: SELECTs then run inside the transaction
too, and SAVEPOINTs work. A connection opened with the execution option
``{SQLITE_BEGIN_OPTION: "IMMEDIATE"}`` begins with ``BEGIN IMMEDIATE`` instead: it takes the
database's write lock at the start of the transaction, so everything it reads is current
until it commits. The unit of work uses it (see ``uow.py``) — that is what serialises audit
appends on SQLite. Several processes may share one SQLite file on one host; several *hosts*
need PostgreSQL.

**PostgreSQL** through psycopg 3 (``postgresql://`` is rewritten to
``postgresql+psycopg://``): ``pool_timeout`` and libpq ``connect_timeout`` bounded by the
store's operation timeout, and an optional server-side ``statement_timeout``
(``-c statement_timeout=…`` in the libpq ``options``), so a slow or locked database turns
into a fast :class:`StoreUnavailable` rather than a hung worker.

*No ``pool_pre_ping``* — a deliberate trade-off. Pre-ping costs one round trip to the
server on every checkout, i.e. on every unit of work and every SQL ephemeral-store
operation (it was a quarter of the round trips of a token request). Without it, pooled
connections are recycled after :data:`POOL_RECYCLE_SECONDS` (so idle-connection reaping
by the server or a firewall does not bite), and a connection that died anyway (database
restart, failover) fails the statement that uses it: SQLAlchemy recognises the
disconnect, invalidates that pool's connections (the following checkouts connect
afresh) and the error reaches the caller as :class:`StoreUnavailable` — a fast 503 for
the requests in flight at that moment, like any other store outage; nothing is retried
(a retried write could apply twice). Pass ``pre_ping=True`` to trade the round trip for
hiding restarts.

Every engine is built with ``hide_parameters=True``: SQL parameters may be personal data
and must never appear in an exception message or a log line.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 5000
POOL_RECYCLE_SECONDS = 1800
"""PostgreSQL connections older than this are replaced at checkout (see the module
docstring: no pre-ping)."""
SQLITE_BEGIN_OPTION = "vhod_sqlite_begin"
"""Execution option naming the SQLite ``BEGIN`` mode (``"IMMEDIATE"``) of a connection."""


def normalise_url(url: str | URL) -> URL:
    """Parse ``url`` and pick the supported driver (psycopg 3 for PostgreSQL).

    :raises ValueError: for a database other than SQLite or PostgreSQL.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed
    raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")


def create_engine(
    url: str | URL,
    *,
    pool_size: int = 5,
    timeout_seconds: float = 5.0,
    statement_timeout_seconds: float | None = None,
    search_path: str | None = None,
    pre_ping: bool = False,
) -> Engine:
    """Build the engine for ``url`` (``sqlite:///path`` or ``postgresql[+psycopg]://…``).

    :param pool_size: connections kept open; as many again may be opened under load.
    :param timeout_seconds: bound on waiting for a pooled connection and (PostgreSQL) on
        connecting.
    :param statement_timeout_seconds: PostgreSQL ``statement_timeout``; ``None``: none
        (migrations and maintenance commands).
    :param search_path: PostgreSQL ``search_path`` (schema-per-test isolation, or a
        deployment that keeps vhod in its own schema).
    :param pre_ping: PostgreSQL: test every pooled connection at checkout (one round
        trip each; see the module docstring).
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(parsed, pool_size=pool_size, timeout_seconds=timeout_seconds)
    return _create_postgresql_engine(
        parsed,
        pool_size=pool_size,
        timeout_seconds=timeout_seconds,
        statement_timeout_seconds=statement_timeout_seconds,
        search_path=search_path,
        pre_ping=pre_ping,
    )


def _create_sqlite_engine(url: URL, *, pool_size: int, timeout_seconds: float) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file:")
    if not in_memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {
        "connect_args": {"check_same_thread": False},
        "hide_parameters": True,
    }
    if not in_memory:
        kwargs.update(
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=timeout_seconds,
        )
    engine = sqlalchemy.create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # Straight on the sqlite3 connection: the same statement as exec_driver_sql("BEGIN"),
    # without a whole SQLAlchemy execution (events, context) for every unit of work.
    mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION)
    dbapi = connection.connection.dbapi_connection
    if dbapi is None:  # pragma: no cover - a begun connection always has one
        raise RuntimeError("SQLite connection without a DBAPI connection")
    dbapi.execute("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


def _create_postgresql_engine(
    url: URL,
    *,
    pool_size: int,
    timeout_seconds: float,
    statement_timeout_seconds: float | None,
    search_path: str | None,
    pre_ping: bool,
) -> Engine:
    options: list[str] = []
    url_options = url.query.get("options")
    if url_options:
        options.append(url_options if isinstance(url_options, str) else " ".join(url_options))
        url = url.difference_update_query(["options"])
    if statement_timeout_seconds is not None:
        options.append(f"-c statement_timeout={max(1, int(statement_timeout_seconds * 1000))}")
    if search_path is not None:
        options.append(f"-c search_path={search_path}")
    connect_args: dict[str, Any] = {"connect_timeout": max(1, math.ceil(timeout_seconds))}
    if options:
        connect_args["options"] = " ".join(options)
    return sqlalchemy.create_engine(
        url,
        connect_args=connect_args,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=timeout_seconds,
        pool_pre_ping=pre_ping,
        pool_recycle=POOL_RECYCLE_SECONDS,
        hide_parameters=True,
    )
