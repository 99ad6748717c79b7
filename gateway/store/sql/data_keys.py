"""``SqlDataKeyRepository``: the sealing key ring's data keys (wrapped) in ``data_keys``.

Keys are only ever added (a rotation adds a newer key; old keys stay so that old values
still open until they are re-sealed).
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy import insert
from sqlalchemy import select

from gateway.core.ports import DataKeyRepository
from gateway.core.types import DataKey
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.tables import data_keys_table as _table


class SqlDataKeyRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def list(self) -> list[DataKey]:
        """Every data key, oldest first (ties broken by id, so the order is stable)."""
        stmt = select(_table).order_by(_table.c.created_at, _table.c.key_id)
        with sql_errors():
            rows = self._connection.execute(stmt).all()
        return [
            DataKey(key_id=r.key_id, wrapped=bytes(r.wrapped), created_at=r.created_at)
            for r in rows
        ]

    def add(self, key: DataKey) -> None:
        """Insert; :raises Conflict: when the key id exists."""
        values = {"key_id": key.key_id, "wrapped": bytes(key.wrapped), "created_at": key.created_at}
        with sql_errors(), self._connection.begin_nested():
            self._connection.execute(insert(_table).values(**values))


_: type[DataKeyRepository] = SqlDataKeyRepository
