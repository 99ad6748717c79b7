"""Build the stores from URLs: the one place that picks a backend.

The composition root (``gateway.compose``) calls, typically::

    engine, uow = build_durable(database_url(config), config.store)
    ephemeral = ephemeral_store_from_url(
        config.store.ephemeral_url,
        engine=engine,
        prefix=config.store.redis_prefix,
        timeout_seconds=config.store.operation_timeout_seconds,
        clock=clock,
    )

Backends by URL: ``redis://``, ``rediss://``, ``unix://`` → Redis (production);
``sql`` → the ``ephemeral`` table of the durable database (embedded default);
``memory://`` → process memory (unit tests only; production mode refuses it in config
validation). Durable URLs: ``sqlite:///path`` or ``postgresql[+psycopg]://…``.
"""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import Engine

from gateway.config.schema import StoreSettings
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.store.memory import MemoryEphemeralStore
from gateway.store.redis import RedisEphemeralStore
from gateway.store.sql.engine import create_engine
from gateway.store.sql.uow import SqlUnitOfWorkFactory
from gateway.store.sql_ephemeral import SqlEphemeralStore

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def build_engine(url: str, *, pool_size: int = 10, timeout_seconds: float = 2.0) -> Engine:
    """The durable store's engine for serving requests.

    Waiting for a pooled connection, connecting (PostgreSQL) and each statement
    (PostgreSQL ``statement_timeout``) are bounded by ``timeout_seconds``, so an outage or
    an overload gives fast 503s instead of hung workers. SQLite waits up to 5 s for its
    write lock (``busy_timeout``).
    """
    return create_engine(
        url,
        pool_size=pool_size,
        timeout_seconds=timeout_seconds,
        statement_timeout_seconds=timeout_seconds,
    )


def build_durable(url: str, settings: StoreSettings) -> tuple[Engine, SqlUnitOfWorkFactory]:
    """The durable engine and the unit-of-work factory over it.

    The schema is not created here: run the migrations first (``vhod db upgrade``, i.e.
    ``gateway.store.sql.migrate.upgrade(url)``), and check ``is_up_to_date`` at startup.
    """
    engine = build_engine(
        url, pool_size=settings.pool_size, timeout_seconds=settings.operation_timeout_seconds
    )
    return engine, SqlUnitOfWorkFactory(engine)


def redis_client(url: str, *, timeout_seconds: float) -> redis.Redis:
    """A Redis client with bounded socket timeouts and no automatic retries (see
    ``gateway.store.redis`` for why a retried ``consume`` would be wrong)."""
    client: redis.Redis = redis.Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 0),
        decode_responses=False,
    )
    return client


def ephemeral_store_from_url(
    url: str,
    *,
    engine: Engine | None = None,
    prefix: str = "vhod",
    timeout_seconds: float = 2.0,
    clock: Clock,
) -> EphemeralStore:
    """The ephemeral store named by ``url``.

    :param engine: the durable engine; required for ``sql``.
    :param prefix: Redis key prefix.
    :param timeout_seconds: Redis connect and socket timeout.
    :raises ValueError: for an unknown URL, or ``sql`` without an engine.
    """
    if url.startswith(REDIS_SCHEMES):
        return RedisEphemeralStore(redis_client(url, timeout_seconds=timeout_seconds), prefix)
    if url == "sql":
        if engine is None:
            raise ValueError("the 'sql' ephemeral store needs the durable store's engine")
        return SqlEphemeralStore(engine, clock)
    if url.startswith("memory://"):
        return MemoryEphemeralStore(clock)
    raise ValueError("ephemeral store URL must be 'sql', 'memory://' or a redis:// URL")
