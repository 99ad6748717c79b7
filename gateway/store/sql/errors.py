"""Translate SQLAlchemy failures into the project's error tree.

The use cases never see a driver exception: an outage (refused connection, timeout, pool
exhausted, lost connection, locked SQLite file) becomes
:class:`gateway.core.errors.StoreUnavailable`, which the HTTP layer answers with a 503 and
``Retry-After``; a unique-key violation becomes :class:`gateway.core.errors.Conflict`.

Driver messages can quote the SQL parameters (PostgreSQL's ``Key (x)=(…) already exists``,
``invalid input syntax … "…"``), and parameters may be personal data or secrets. So
``debug`` carries the exception *class names* only, plus the driver message for the
connection-level errors (``OperationalError``/``InterfaceError``: "connection refused",
"database is locked", "canceling statement due to statement timeout"), which never quote
row data. Engines are also built with ``hide_parameters=True`` (see ``engine.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect

from gateway.core.errors import Conflict
from gateway.core.errors import StoreUnavailable

STORE_NAME = "sql"
_DEBUG_LIMIT = 300


def describe(error: BaseException) -> str:
    """A log-safe one-line description of a SQLAlchemy/driver error (no parameters)."""
    orig = getattr(error, "orig", None)
    names = type(error).__name__
    if orig is not None:
        names = f"{names}({type(orig).__name__})"
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError) and orig is not None:
        first_line = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
        return f"{names}: {first_line}"[:_DEBUG_LIMIT]
    if isinstance(error, sa_exc.TimeoutError):
        return f"{names}: connection pool timeout"
    return names


def unavailable(error: BaseException) -> StoreUnavailable:
    """The :class:`StoreUnavailable` that stands for ``error``."""
    return StoreUnavailable(store=STORE_NAME, debug=describe(error))


def dbapi_unavailable(error: Exception, dialect: Dialect) -> StoreUnavailable:
    """The :class:`StoreUnavailable` for a DBAPI error raised outside SQLAlchemy.

    For store code that runs statements on a raw DBAPI connection: the error is wrapped
    as SQLAlchemy would wrap it (``OperationalError``, ``ProgrammingError``, …; without the
    statement or its parameters), so :func:`describe` treats it exactly as the same error
    seen through SQLAlchemy.
    """
    wrapped = sa_exc.DBAPIError.instance(
        None, None, error, dialect.loaded_dbapi.Error, hide_parameters=True, dialect=dialect
    )
    return unavailable(wrapped)


@contextmanager
def sql_errors() -> Iterator[None]:
    """Run a block of store code, translating driver errors.

    * unique / foreign-key violations → :class:`Conflict` (no detail: it may quote values);
    * everything else the database or the pool raises → :class:`StoreUnavailable`.
    """
    try:
        yield
    except sa_exc.IntegrityError as error:
        raise Conflict("a record with the same identity already exists") from error
    except (sa_exc.DBAPIError, sa_exc.TimeoutError, sa_exc.DisconnectionError) as error:
        raise unavailable(error) from error
