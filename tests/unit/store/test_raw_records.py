"""Records read on the DBAPI cursor (``gateway/store/sql/raw.py``): named like
SQLAlchemy's rows, flags as bools, and no column type that needs SQLAlchemy's result
processing taken silently."""

from __future__ import annotations

import pytest
from sqlalchemy import Boolean
from sqlalchemy import Column
from sqlalchemy import DateTime
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from gateway.store.sql.raw import CompiledStatement

_table = Table(
    "t",
    MetaData(),
    Column("name", String(10)),
    Column("flag", Boolean),
    Column("when", DateTime),
)


def test_a_record_is_named_and_its_flags_are_bools() -> None:
    statement = CompiledStatement(select(_table.c.name, _table.c.flag), sqlite.dialect())
    record = statement.record(("a", 1))
    assert (record.name, record.flag) == ("a", True)
    assert type(record.flag) is bool
    assert statement.record(("b", None)).flag is None


def test_a_type_needing_result_processing_is_refused() -> None:
    statement = CompiledStatement(select(_table.c.name, _table.c.when), sqlite.dialect())
    with pytest.raises(ValueError, match="when"):
        statement.record(("a", "2026-12-07 20:00:00"))
