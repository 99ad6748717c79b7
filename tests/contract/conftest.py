"""Session-wide real backends for the contract suites.

``postgres_engine``: one schema for the whole session, migrated to head once; tests that
use it start from empty tables. ``redis_connection``: one client; tests use their own key
prefixes. Both skip locally and fail under ``CI=true`` when the backend is unreachable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine

from gateway.store.sql import migrate
from gateway.store.sql.engine import create_engine
from gateway.store.sql.uow import SqlUnitOfWorkFactory
from tests.contract import databases
from tests.helpers.backends import require


@pytest.fixture(scope="session")
def _postgres_session_engine() -> Iterator[Engine | None]:
    if databases.postgres_problem() is not None:
        yield None
        return
    with databases.postgres_schema(pool_size=25) as engine:
        migrate.upgrade(engine)
        yield engine


@pytest.fixture
def postgres_engine(_postgres_session_engine: Engine | None) -> Engine:
    """The session's PostgreSQL engine (own schema, migrated), with every table empty."""
    problem = databases.postgres_problem()
    require("postgresql", problem is None, problem or "")
    assert _postgres_session_engine is not None
    databases.delete_all_rows(_postgres_session_engine)
    return _postgres_session_engine


@pytest.fixture(scope="session")
def _redis_session_connection() -> Iterator[redis.Redis | None]:
    if databases.redis_problem() is not None:
        yield None
        return
    connection = redis.Redis.from_url(
        databases.redis_url(), socket_timeout=5, socket_connect_timeout=5
    )
    yield connection
    connection.close()


@pytest.fixture
def redis_connection(_redis_session_connection: redis.Redis | None) -> redis.Redis:
    problem = databases.redis_problem()
    require("redis", problem is None, problem or "")
    assert _redis_session_connection is not None
    return _redis_session_connection


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated durable store: a SQLite file, and PostgreSQL in its own schema."""
    if request.param == "sqlite":
        sqlite_engine = create_engine(f"sqlite:///{tmp_path / 'vhod.db'}", pool_size=10)
        migrate.upgrade(sqlite_engine)
        yield sqlite_engine
        sqlite_engine.dispose()
    else:
        yield request.getfixturevalue("postgres_engine")


@pytest.fixture
def uow(engine: Engine) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(engine)
