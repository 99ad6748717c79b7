"""Backend selection by URL, engine options, and the SQL store's key and purge policies."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import Engine

from gateway.config.schema import StoreSettings
from gateway.core.clock import FixedClock
from gateway.store.factory import build_durable
from gateway.store.factory import build_engine
from gateway.store.factory import ephemeral_store_from_url
from gateway.store.memory import MemoryEphemeralStore
from gateway.store.redis import RedisEphemeralStore
from gateway.store.sql import migrate
from gateway.store.sql.engine import create_engine
from gateway.store.sql.engine import normalise_url
from gateway.store.sql.uow import SqlUnitOfWorkFactory
from gateway.store.sql_ephemeral import SqlEphemeralStore
from gateway.store.sql_ephemeral import storage_key


def test_ephemeral_backend_is_chosen_by_url(tmp_path: Path) -> None:
    clock = FixedClock()
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        assert isinstance(ephemeral_store_from_url("memory://", clock=clock), MemoryEphemeralStore)
        assert isinstance(
            ephemeral_store_from_url("sql", engine=engine, clock=clock), SqlEphemeralStore
        )
        for url in ("redis://127.0.0.1:1/0", "rediss://h:6380/1", "unix:///run/redis.sock"):
            store = ephemeral_store_from_url(url, prefix="p", clock=clock)
            assert isinstance(store, RedisEphemeralStore)  # built lazily: no connection yet
        with pytest.raises(ValueError, match="engine"):
            ephemeral_store_from_url("sql", clock=clock)
        with pytest.raises(ValueError, match="URL"):
            ephemeral_store_from_url("memcached://x", clock=clock)
    finally:
        engine.dispose()


def test_redis_client_has_bounded_timeouts_and_no_retries() -> None:
    store = ephemeral_store_from_url(
        "redis://127.0.0.1:1/0", prefix="p", timeout_seconds=0.7, clock=FixedClock()
    )
    assert isinstance(store, RedisEphemeralStore)
    kwargs = store.client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == 0.7
    assert kwargs["socket_connect_timeout"] == 0.7


def test_database_urls_are_normalised() -> None:
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("sqlite:///x.db").drivername == "sqlite"
    with pytest.raises(ValueError, match="unsupported"):
        normalise_url("mysql://u@h/db")


@pytest.mark.postgres
def test_postgresql_session_settings_are_applied(postgres_engine: Engine) -> None:
    url = postgres_engine.url.set(drivername="postgresql").update_query_dict(
        {"options": "-c work_mem=4MB"}
    )
    schema = postgres_engine.dialect.default_schema_name
    engine = create_engine(url, statement_timeout_seconds=1.5, search_path=schema)
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "1500ms"
            assert conn.exec_driver_sql("SHOW work_mem").scalar() == "4MB"
            assert conn.exec_driver_sql("SELECT current_schema()").scalar() == schema
    finally:
        engine.dispose()


def test_sqlite_engine_creates_the_directory_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "vhod.db"
    engine = build_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            pragma = conn.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA busy_timeout").scalar() == 5000
            assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert path.parent.is_dir()
    finally:
        engine.dispose()


def test_build_durable_returns_engine_and_unit_of_work(tmp_path: Path) -> None:
    settings = StoreSettings(pool_size=3, operation_timeout_seconds=1.0)
    engine, uow = build_durable(f"sqlite:///{tmp_path / 'd.db'}", settings)
    try:
        assert isinstance(uow, SqlUnitOfWorkFactory)
        assert uow.engine is engine
        assert engine.pool.size() == 3  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_long_keys_are_hashed_to_fit_the_column() -> None:
    short = "k" * 128
    assert storage_key(short) == short
    hashed = storage_key("k" * 129)
    assert hashed.startswith("#sha256:")
    assert len(hashed) <= 128
    assert storage_key("k" * 129) == hashed
    assert storage_key("k" * 130) != hashed


def test_sql_store_purges_expired_rows(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    migrate.upgrade(engine)
    clock = FixedClock()
    store = SqlEphemeralStore(engine, clock, purge_interval_seconds=60)
    count = sqlalchemy.text("SELECT count(*) FROM ephemeral")
    try:
        store.put("ns", "short", b"v", 10)
        store.put("ns", "long", b"v", 1000)
        store.incr("ns", "c", 10)
        clock.advance(30)
        with engine.connect() as conn:
            assert conn.execute(count).scalar_one() == 3  # expired but not purged yet
        assert store.purge_expired() == 2
        clock.advance(31)  # past the purge interval: the next write purges lazily
        store.put("ns", "brief", b"v", 1)
        clock.advance(100)
        store.put("ns", "other", b"v", 1000)
        with engine.connect() as conn:
            assert conn.execute(count).scalar_one() == 2  # "long" and "other"
    finally:
        engine.dispose()
