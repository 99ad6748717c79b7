"""Run the durable store's Alembic migrations from code (``vhod db upgrade``, tests).

No ``alembic.ini`` is needed: the configuration is built here, with the migrations
directory of this package as ``script_location``, and the database handed over through
``config.attributes``. Each function takes a URL (an engine is built for the call and
disposed of) or an existing ``Engine`` (e.g. one whose ``search_path`` points at a
dedicated PostgreSQL schema).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from gateway.store.sql.engine import create_engine
from gateway.store.sql.errors import sql_errors

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    """An Alembic configuration pointing at this package's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def head() -> str:
    """The newest revision the code knows."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:
        raise RuntimeError("no migrations found")
    return revision


def upgrade(target: str | Engine, revision: str = "head") -> None:
    """Migrate the database at ``target`` up to ``revision`` (in one transaction)."""
    with _engine(target) as engine, sql_errors(), engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(target: str | Engine, revision: str) -> None:
    """Migrate the database at ``target`` down to ``revision`` (``"base"``: empty)."""
    with _engine(target) as engine, sql_errors(), engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def current(target: str | Engine) -> str | None:
    """The database's revision; ``None`` for a database never migrated."""
    with _engine(target) as engine, sql_errors(), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_up_to_date(target: str | Engine) -> bool:
    """Whether the database is at the code's head revision (check it at startup)."""
    return current(target) == head()


@contextmanager
def _engine(target: str | Engine) -> Iterator[Engine]:
    if isinstance(target, Engine):
        yield target
        return
    engine = create_engine(target, pool_size=1)
    try:
        yield engine
    finally:
        engine.dispose()
