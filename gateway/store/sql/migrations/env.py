"""Alembic environment, driven from code (``gateway.store.sql.migrate``), not a CLI ini.

The caller passes either an open ``Connection`` (``config.attributes["connection"]``; it
owns the transaction) or a URL (``config.attributes["url"]`` or the ``sqlalchemy.url``
option), from which an engine is built with ``gateway.store.sql.engine.create_engine``
(so SQLite gets the same pragmas and directory creation as at run time). SQLite uses
Alembic's batch mode, which rebuilds a table for the ALTERs SQLite cannot do in place.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from gateway.store.sql.engine import create_engine
from gateway.store.sql.tables import Base


def _url() -> str:
    config = context.config
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass a connection or a URL to the migrations")
    return str(url)


def _run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Emit the SQL instead of running it (``alembic … --sql``)."""
    context.configure(
        url=_url(),
        target_metadata=Base.metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run_with(connection)
        return
    engine = create_engine(_url(), pool_size=1)
    try:
        with engine.connect() as conn:
            _run_with(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
