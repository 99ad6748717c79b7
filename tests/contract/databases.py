"""Where the real backends of the contract and migration tests are, and how to isolate.

* PostgreSQL: ``GATEWAY_TEST_DATABASE_URL``, else the local default. The ``test`` database
  is shared, so each test session (or migration test) works in its own schema
  ``vhod_test_<random>`` reached through ``search_path`` and dropped (CASCADE) afterwards;
  no other schema or database is ever touched.
* Redis: ``GATEWAY_TEST_REDIS_URL``, else the local default (db 15); each test uses its own
  random key prefix and deletes its keys afterwards.

Reachability is probed once per session; the fixtures then call
``tests.helpers.backends.require`` (skip locally, fail under ``CI=true``).
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import redis
import sqlalchemy
from sqlalchemy import Engine

from gateway.store.sql.engine import create_engine

POSTGRES_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_DEFAULT = "redis://127.0.0.1:6379/15"


def postgres_url() -> str:
    return os.environ.get("GATEWAY_TEST_DATABASE_URL") or POSTGRES_DEFAULT


def redis_url() -> str:
    return os.environ.get("GATEWAY_TEST_REDIS_URL") or REDIS_DEFAULT


@functools.cache
def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or ``None`` when it answers."""
    engine = create_engine(postgres_url(), pool_size=1, timeout_seconds=2)
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT 1"))
    except Exception as error:
        return f"{postgres_url()} unreachable ({type(error).__name__})"
    finally:
        engine.dispose()
    return None


@functools.cache
def redis_problem() -> str | None:
    """Why Redis cannot be used, or ``None`` when it answers."""
    client = redis.Redis.from_url(redis_url(), socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as error:
        return f"{redis_url()} unreachable ({type(error).__name__})"
    finally:
        client.close()
    return None


def new_name(kind: str) -> str:
    return f"vhod_test_{kind}_{secrets.token_hex(5)}"


@contextmanager
def postgres_schema(*, pool_size: int = 5, timeout_seconds: float = 10.0) -> Iterator[Engine]:
    """An engine whose ``search_path`` is a new, empty schema; the schema is dropped after."""
    schema = new_name("s")
    admin = create_engine(postgres_url(), pool_size=1, timeout_seconds=timeout_seconds)
    try:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
        engine = create_engine(
            postgres_url(),
            pool_size=pool_size,
            timeout_seconds=timeout_seconds,
            statement_timeout_seconds=30,
            search_path=schema,
        )
        try:
            yield engine
        finally:
            engine.dispose()
            with admin.begin() as conn:
                conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


def delete_all_rows(engine: Engine) -> None:
    """Empty every table of the schema but ``alembic_version``: a clean slate per test.

    The tables are reflected from the database, so tables added by later migrations are
    emptied too.
    """
    metadata = sqlalchemy.MetaData()
    metadata.reflect(engine)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name != "alembic_version":
                conn.execute(table.delete())
