"""``SqlAdminInviteRepository``: one-time admin invitations in ``admin_invites``.

An invite is stored by the digest of its link's secret. ``mark_used`` is one conditional
``UPDATE … WHERE used_at IS NULL``: of two concurrent sign-ins through the same link, the
database lets exactly one match, so the link makes at most one admin.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Row
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from gateway.core.ports import AdminInviteRepository
from gateway.core.types import AdminInvite
from gateway.store.sql._results import rowcount
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.tables import admin_invites_table as _table


class SqlAdminInviteRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, invite: AdminInvite) -> None:
        """Insert; :raises Conflict: when the digest exists."""
        values = {
            "digest": invite.digest,
            "created_at": invite.created_at,
            "expires_at": invite.expires_at,
            "note": invite.note,
            "used_at": invite.used_at,
            "used_by": invite.used_by,
        }
        with sql_errors(), self._connection.begin_nested():
            self._connection.execute(insert(_table).values(**values))

    def get(self, digest: str) -> AdminInvite | None:
        with sql_errors():
            row = self._connection.execute(select(_table).where(_table.c.digest == digest)).first()
        return None if row is None else _to_invite(row)

    def mark_used(self, digest: str, at: float, used_by: str) -> bool:
        """Mark the invite used unless it already is; ``True`` for the one caller that did."""
        stmt = (
            update(_table)
            .where(_table.c.digest == digest, _table.c.used_at.is_(None))
            .values(used_at=at, used_by=used_by)
        )
        with sql_errors():
            result = self._connection.execute(stmt)
        return rowcount(result) == 1


def _to_invite(row: Row[Any]) -> AdminInvite:
    return AdminInvite(
        digest=row.digest,
        created_at=row.created_at,
        expires_at=row.expires_at,
        note=row.note,
        used_at=row.used_at,
        used_by=row.used_by,
    )


_: type[AdminInviteRepository] = SqlAdminInviteRepository
