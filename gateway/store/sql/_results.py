"""Small typed helpers over SQLAlchemy results shared by the repositories."""

from __future__ import annotations

from typing import Any
from typing import cast

from sqlalchemy import CursorResult
from sqlalchemy import Result


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an ``UPDATE``/``DELETE`` run through ``Connection.execute``."""
    return int(cast(CursorResult[Any], result).rowcount)
