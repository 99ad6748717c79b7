"""``SqlCredentialRepository``: enrolled second factors (``factor_credentials``).

The repository stores what it is given: the payload arrives sealed by the caller with
``credential_context(credential_id)`` (``gateway.core.factors``), so nothing here can reveal
a TOTP seed. ``use`` is one conditional ``UPDATE``: on PostgreSQL a concurrent second
single use waits for the first transaction and then matches no row; on SQLite writers are
serialised (``BEGIN IMMEDIATE``). Like every repository it never commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Row
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from gateway.core.errors import NotFound
from gateway.core.factors import Credential
from gateway.core.factors import CredentialRepository
from gateway.core.factors import FactorKind
from gateway.store.sql._results import rowcount
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.tables_factors import factor_credentials_table as _table
from gateway.store.sql.tables_factors import factor_preferences_table as _preferences

_c = _table.c


class SqlCredentialRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, credential: Credential) -> None:
        with sql_errors(), self._connection.begin_nested():
            self._connection.execute(insert(_table).values(**_columns(credential)))

    def get(self, credential_id: str) -> Credential | None:
        stmt = select(_table).where(_c.credential_id == credential_id)
        with sql_errors():
            row = self._connection.execute(stmt).first()
        return None if row is None else _to_credential(row)

    def list_for(self, subject_id: str, kind: FactorKind | None = None) -> list[Credential]:
        stmt = select(_table).where(_c.subject_id == subject_id)
        if kind is not None:
            stmt = stmt.where(_c.kind == str(kind))
        stmt = stmt.order_by(_c.created_at, _c.credential_id)
        with sql_errors():
            rows = self._connection.execute(stmt).all()
        return [_to_credential(row) for row in rows]

    def update(self, credential: Credential) -> None:
        stmt = (
            update(_table)
            .where(_c.credential_id == credential.credential_id)
            .values(
                label=credential.label,
                sealed_payload=credential.sealed,
                active=credential.active,
                last_used_at=credential.last_used_at,
            )
        )
        with sql_errors():
            result = self._connection.execute(stmt)
        if rowcount(result) == 0:
            raise NotFound("credential not found")

    def use(self, credential_id: str, at: float, *, single_use: bool = False) -> bool:
        values: dict[str, Any] = {"last_used_at": at}
        if single_use:
            values["active"] = False
        stmt = (
            update(_table)
            .where(_c.credential_id == credential_id)
            .where(_c.active.is_(True))
            .values(values)
        )
        with sql_errors():
            result = self._connection.execute(stmt)
        return rowcount(result) == 1

    def remove(self, credential_id: str) -> bool:
        stmt = delete(_table).where(_c.credential_id == credential_id)
        with sql_errors():
            result = self._connection.execute(stmt)
        return rowcount(result) == 1

    def remove_all_for(self, subject_id: str, kind: FactorKind | None = None) -> int:
        stmt = delete(_table).where(_c.subject_id == subject_id)
        if kind is not None:
            stmt = stmt.where(_c.kind == str(kind))
        with sql_errors():
            result = self._connection.execute(stmt)
            if kind is None:
                self._forget_preference(subject_id)
        return rowcount(result)

    def preferred(self, subject_id: str) -> FactorKind | None:
        stmt = select(_preferences.c.kind).where(_preferences.c.subject_id == subject_id)
        with sql_errors():
            kind = self._connection.execute(stmt).scalar()
        return None if kind is None else FactorKind(kind)

    def set_preferred(self, subject_id: str, kind: FactorKind | None, at: float) -> None:
        with sql_errors(), self._connection.begin_nested():
            self._forget_preference(subject_id)
            if kind is not None:
                self._connection.execute(
                    insert(_preferences).values(
                        subject_id=subject_id, kind=str(kind), updated_at=at
                    )
                )

    def _forget_preference(self, subject_id: str) -> None:
        self._connection.execute(
            delete(_preferences).where(_preferences.c.subject_id == subject_id)
        )


def _columns(credential: Credential) -> dict[str, Any]:
    return {
        "credential_id": credential.credential_id,
        "subject_id": credential.subject_id,
        "kind": str(credential.kind),
        "label": credential.label,
        "sealed_payload": credential.sealed,
        "created_at": credential.created_at,
        "last_used_at": credential.last_used_at,
        "active": credential.active,
    }


def _to_credential(row: Row[Any]) -> Credential:
    return Credential(
        credential_id=row.credential_id,
        subject_id=row.subject_id,
        kind=FactorKind(row.kind),
        label=row.label,
        created_at=row.created_at,
        sealed=bytes(row.sealed_payload),
        active=bool(row.active),
        last_used_at=row.last_used_at,
    )


_: type[CredentialRepository] = SqlCredentialRepository
