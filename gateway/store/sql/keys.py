"""``SqlKeyRepository``: signing keys in the ``signing_keys`` table.

The private JWK arrives sealed (``keys.sealing``) and is stored as is; this repository
never sees a plain private key. The sealed column is registered in ``sealed.py`` so that a
data-key rotation re-seals it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Row
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from gateway.core.errors import NotFound
from gateway.core.ports import KeyRepository
from gateway.core.types import KeyState
from gateway.core.types import SigningKey
from gateway.store.sql._results import rowcount
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.tables import signing_keys_table as _table


class SqlKeyRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def list(self, states: tuple[KeyState, ...] | None = None) -> list[SigningKey]:
        """Keys in the given states (all when ``None``), oldest first."""
        stmt = select(_table).order_by(_table.c.created_at, _table.c.kid)
        if states is not None:
            stmt = stmt.where(_table.c.state.in_([s.value for s in states]))
        with sql_errors():
            rows = self._connection.execute(stmt).all()
        return [_to_key(row) for row in rows]

    def add(self, key: SigningKey) -> None:
        """Insert; :raises Conflict: when the kid exists."""
        with sql_errors(), self._connection.begin_nested():
            self._connection.execute(insert(_table).values(**_columns(key)))

    def update(self, key: SigningKey) -> None:
        """Replace every field of the key ``kid``; :raises NotFound: when it does not exist."""
        values = _columns(key)
        kid = values.pop("kid")
        with sql_errors():
            result = self._connection.execute(
                update(_table).where(_table.c.kid == kid).values(**values)
            )
        if rowcount(result) == 0:
            raise NotFound("signing key not found")


def _columns(key: SigningKey) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "alg": key.alg,
        "state": key.state.value,
        "public_jwk": key.public_jwk,
        "sealed_private_jwk": bytes(key.sealed_private_jwk),
        "created_at": key.created_at,
        "activated_at": key.activated_at,
        "retired_at": key.retired_at,
    }


def _to_key(row: Row[Any]) -> SigningKey:
    return SigningKey(
        kid=row.kid,
        alg=row.alg,
        state=KeyState(row.state),
        public_jwk=row.public_jwk,
        sealed_private_jwk=bytes(row.sealed_private_jwk),
        created_at=row.created_at,
        activated_at=row.activated_at,
        retired_at=row.retired_at,
    )


_: type[KeyRepository] = SqlKeyRepository
