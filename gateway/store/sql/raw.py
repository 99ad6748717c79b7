"""Statements compiled once and run on a raw DBAPI cursor: for the hottest statements.

SQLAlchemy's ``Connection``/execution machinery costs ~160 µs of CPU a statement (result
metadata, the driver's column descriptions, events); the same statement on the DBAPI
cursor ~40 µs (``gateway.store.sql_ephemeral`` measured it). The statements are still
written with SQLAlchemy Core (one source of truth, SQL correct for each dialect) and
compiled once per dialect.

:func:`first_row` (a tuple), :func:`first_record` and :func:`records` (named tuples, as the
repositories read SQLAlchemy's rows) and :func:`execute` (a write without rows) run one on
a unit of work's connection: inside the unit's transaction
(it begins the transaction as SQLAlchemy would — ``BEGIN IMMEDIATE`` on SQLite — so the
unit's ``commit()`` commits it), or alone on an autocommit unit. A driver error is
:class:`~gateway.core.errors.StoreUnavailable` and the connection is dropped, never put
back into the pool in an unknown state.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any
from typing import cast

from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import Connection
from sqlalchemy import Float
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from gateway.store.sql.errors import dbapi_unavailable
from gateway.store.sql.errors import sql_errors

__all__ = ["CompiledStatement", "execute", "first_record", "first_row", "records"]


_PLAIN_TYPES = (String, Float, Integer, BigInteger, LargeBinary)
"""Column types whose values both drivers return as Python wants them (``Text`` is a
``String``); a ``Boolean`` is made a ``bool`` (SQLite returns 0/1). A statement with a
column of any other type is refused when its first row is made a record: it needs
SQLAlchemy's result processing."""


class CompiledStatement:
    """A statement compiled once for a dialect, run on a DBAPI cursor.

    The literal values the statement carries (``counter=None``, ``consumed=False``) are
    compiled as bound parameters; they are merged with the caller's parameters and
    passed in the dialect's parameter style: a tuple in ``positiontup`` order (SQLite's
    ``qmark``) or a dict (psycopg's ``pyformat``). No type processing is applied: the
    values are ``str``, ``bytes``, ``int``, ``float`` and ``bool``, which the drivers
    take as they are.
    """

    __slots__ = ("_columns", "_literals", "_names", "_positional", "_record", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        if compiled.escaped_bind_names or compiled.post_compile_params:
            raise ValueError("the statement needs SQLAlchemy's parameter processing")
        self.sql = str(compiled)
        self._literals = {
            name: value
            for name, value in compiled.params.items()
            if not compiled.binds[name].required
        }
        self._positional = dialect.positional
        self._names = tuple((compiled.positiontup or ()) if dialect.positional else compiled.params)
        self._columns = tuple((c.keyname, c.type) for c in compiled._result_columns)
        self._record: Callable[[Any], Any] | None = None

    def record(self, row: Any) -> Any:
        """``row`` as a named tuple of the statement's result columns (``row.client_id``),
        a ``Boolean`` column's value as a ``bool``."""
        if self._record is None:
            self._record = _record_maker(self._columns)
        return self._record(row)

    def parameters(self, params: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The DBAPI parameters for ``params`` (the statement's required parameters)."""
        values = {**params, **self._literals}
        if self._positional:
            return tuple([values[name] for name in self._names])
        return {name: values[name] for name in self._names}

    def run(self, cursor: DBAPICursor, params: Mapping[str, Any]) -> None:
        cursor.execute(self.sql, self.parameters(params))

    def first(self, cursor: DBAPICursor, params: Mapping[str, Any]) -> Any:
        """Run the statement, fetch every row (a write completes only then); the first."""
        rows = self.rows(cursor, params)
        return rows[0] if rows else None

    def rows(self, cursor: DBAPICursor, params: Mapping[str, Any]) -> list[Any]:
        """Run the statement and fetch every row."""
        cursor.execute(self.sql, self.parameters(params))
        return list(cursor.fetchall())


def _record_maker(columns: tuple[tuple[str, Any], ...]) -> Callable[[Any], Any]:
    for name, type_ in columns:
        if not isinstance(type_, (Boolean, *_PLAIN_TYPES)):
            raise ValueError(f"column {name}: {type(type_).__name__} needs result processing")
    record = namedtuple("Record", [name for name, _ in columns])  # type: ignore[misc]
    flags = [i for i, (_, type_) in enumerate(columns) if isinstance(type_, Boolean)]
    if not flags:
        return lambda row: record._make(row)

    def make(row: Any) -> Any:
        values = list(row)
        for i in flags:
            if values[i] is not None:
                values[i] = bool(values[i])
        return record._make(values)

    return make


_compiled: dict[tuple[int, str], CompiledStatement] = {}


def _compiled_for(statement: ClauseElement, dialect: Dialect) -> CompiledStatement:
    key = (id(statement), dialect.name)
    compiled = _compiled.get(key)
    if compiled is None:
        compiled = _compiled.setdefault(key, CompiledStatement(statement, dialect))
    return compiled


_NOTHING, _FIRST, _ALL = range(3)


def _on_cursor(
    connection: Connection,
    statement: ClauseElement,
    params: Mapping[str, Any],
    fetch: int,
) -> tuple[CompiledStatement, Any]:
    """Run ``statement`` on ``connection``'s DBAPI connection (see the module docstring);
    fetch nothing, its first row or all its rows (every row is fetched either way: a
    write completes only then)."""
    dialect = connection.dialect
    compiled = _compiled_for(statement, dialect)
    try:
        with sql_errors():
            if not connection.in_transaction():
                connection.begin()  # SQLite's BEGIN (IMMEDIATE) runs here, on the DBAPI
            dbapi = cast(Any, connection.connection.dbapi_connection)
        cursor = dbapi.cursor()
        try:
            if fetch == _FIRST:
                return compiled, compiled.first(cursor, params)
            if fetch == _ALL:
                return compiled, compiled.rows(cursor, params)
            compiled.run(cursor, params)
            return compiled, None
        finally:
            cursor.close()
    except dialect.loaded_dbapi.Error as error:
        connection.invalidate()
        raise dbapi_unavailable(error, dialect) from error


def first_row(
    connection: Connection, statement: ClauseElement, params: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    """The first row (a tuple, in the statement's column order) of ``statement`` run with
    ``params`` on ``connection``'s DBAPI connection, every row fetched (a write completes
    only then). ``statement`` is a module-level constant: it is compiled once per dialect."""
    _, row = _on_cursor(connection, statement, params, _FIRST)
    return None if row is None else tuple(row)


def first_record(
    connection: Connection, statement: ClauseElement, params: Mapping[str, Any]
) -> Any | None:
    """As :func:`first_row`, the row as a named tuple (``row.client_id``), as the
    repositories read SQLAlchemy's rows (:meth:`CompiledStatement.record`)."""
    compiled, row = _on_cursor(connection, statement, params, _FIRST)
    return None if row is None else compiled.record(row)


def records(
    connection: Connection, statement: ClauseElement, params: Mapping[str, Any]
) -> list[Any]:
    """Every row of ``statement``, as :func:`first_record` gives the first."""
    compiled, rows = _on_cursor(connection, statement, params, _ALL)
    return [compiled.record(row) for row in rows]


def execute(connection: Connection, statement: ClauseElement, params: Mapping[str, Any]) -> None:
    """Run ``statement``, a write without result rows, as :func:`first_row` runs one."""
    _on_cursor(connection, statement, params, _NOTHING)
