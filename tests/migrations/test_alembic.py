"""The Alembic migrations on SQLite and PostgreSQL: upgrade an empty database to head,
round-trip down to base and up again, step through every revision, and check that the
migrated schema is exactly what ``gateway.store.sql.tables`` declares.

PostgreSQL runs in a fresh schema per test (``tests.contract.databases``), dropped after.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from gateway.store.sql import migrate
from gateway.store.sql import uow as _uow_module  # noqa: F401  (maps every table)
from gateway.store.sql.engine import create_engine
from gateway.store.sql.tables import Base
from tests.contract import databases
from tests.helpers.backends import require

# The tables of revision 0001; later revisions may add more.
TABLES = {"clients", "signing_keys", "data_keys", "audit_events", "admin_invites", "ephemeral"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        sqlite_engine = create_engine(f"sqlite:///{tmp_path / 'nested' / 'vhod.db'}")
        yield sqlite_engine
        sqlite_engine.dispose()
        return
    problem = databases.postgres_problem()
    require("postgresql", problem is None, problem or "")
    with databases.postgres_schema() as pg_engine:
        yield pg_engine


def table_names(engine: Engine) -> set[str]:
    return set(sqlalchemy.inspect(engine).get_table_names())


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_upgrade_head_on_an_empty_database(engine: Engine) -> None:
    assert migrate.current(engine) is None
    assert not migrate.is_up_to_date(engine)
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    assert migrate.is_up_to_date(engine)
    assert table_names(engine) >= TABLES | {"alembic_version"}
    assert table_names(engine) == set(Base.metadata.tables) | {"alembic_version"}


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert schema_differences(engine) == []


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            sqlalchemy.text(
                "INSERT INTO data_keys (key_id, wrapped, created_at) VALUES ('k', :w, 1.0)"
            ),
            {"w": b"\x00\x01"},
        )
    migrate.downgrade(engine, "base")
    assert migrate.current(engine) is None
    assert table_names(engine) == {"alembic_version"}
    migrate.upgrade(engine)
    assert migrate.is_up_to_date(engine)
    assert table_names(engine) >= TABLES
    assert schema_differences(engine) == []


def test_every_revision_steps_up_and_down(engine: Engine) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    for revision in revisions:
        migrate.upgrade(engine, revision)
        assert migrate.current(engine) == revision
    for revision in reversed(revisions):
        migrate.downgrade(engine, "-1")
        down = script.get_revision(revision).down_revision
        assert migrate.current(engine) == down


def test_history_is_linear_with_one_head() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(script.get_heads()) == 1
    assert migrate.head() == script.get_current_head()
    assert all(not isinstance(r.down_revision, tuple) for r in script.walk_revisions())


def test_upgrade_by_url_creates_the_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "data" / "var" / "vhod.db"
    url = f"sqlite:///{path}"
    assert migrate.current(url) is None
    migrate.upgrade(url)
    assert path.exists()
    assert migrate.is_up_to_date(url)
