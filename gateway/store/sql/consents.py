"""``SqlConsentRepository``: remembered consents (``consents``).

At most one live record per (subject, client, acting_for): :meth:`save` closes an earlier
live one as ``superseded`` in the same transaction, so the rows also keep the history of
every grant and revocation. Never commits.

Two approvals at once (two nodes, SECURITY.md §5 R6) would both find nothing to supersede
and both insert; :meth:`save` therefore first locks the subject's row (``SELECT … FOR
UPDATE`` on PostgreSQL; SQLite has one writer at a time), so the second sees the first's
record once it commits and supersedes it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Connection
from sqlalchemy import Row
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from gateway.core.ports import ConsentRepository
from gateway.core.types import Consent
from gateway.store.sql._results import rowcount
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.raw import first_record
from gateway.store.sql.tables_identity import consents_table as _table
from gateway.store.sql.tables_identity import subjects_table

SUPERSEDED = "superseded"


def _active(acting: ColumnElement[bool]) -> Select[Any]:
    """The live consent of (subject, client) with ``acting``, newest first, one row."""
    return (
        select(_table)
        .where(_table.c.subject_id == bindparam("subject_id"))
        .where(_table.c.client_id == bindparam("client_id"))
        .where(acting, _table.c.revoked_at.is_(None))
        .order_by(_table.c.granted_at.desc())
        .limit(1)
    )


# Built once: read on every login (the policy's consent check).
_ACTIVE_OWN = _active(_table.c.acting_for.is_(None))
_ACTIVE_FOR = _active(_table.c.acting_for == bindparam("acting_for"))


class SqlConsentRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def active(
        self, subject_id: str, client_id: str, acting_for: str | None = None
    ) -> Consent | None:
        params = {"subject_id": subject_id, "client_id": client_id}
        stmt = _ACTIVE_OWN
        if acting_for is not None:
            stmt, params["acting_for"] = _ACTIVE_FOR, acting_for
        row = first_record(self._connection, stmt, params)
        return None if row is None else consent_from_row(row)

    def list_active(self, subject_id: str) -> list[Consent]:
        stmt = (
            select(_table)
            .where(_table.c.subject_id == subject_id)
            .where(_table.c.revoked_at.is_(None))
            .order_by(_table.c.client_id, _table.c.granted_at)
        )
        with sql_errors():
            rows = self._connection.execute(stmt).all()
        return [consent_from_row(row) for row in rows]

    def save(self, consent: Consent) -> None:
        with sql_errors():
            self._connection.execute(
                select(subjects_table.c.subject_id)
                .where(subjects_table.c.subject_id == consent.subject_id)
                .with_for_update()
            )
            self._connection.execute(
                update(_table)
                .where(_live(consent.subject_id, consent.client_id, consent.acting_for))
                .values(revoked_at=consent.granted_at, revoked_reason=SUPERSEDED)
            )
            self._connection.execute(
                insert(_table).values(
                    consent_id=consent.consent_id,
                    subject_id=consent.subject_id,
                    client_id=consent.client_id,
                    acting_for=consent.acting_for,
                    scopes=json.dumps(list(consent.scopes)),
                    granted_at=consent.granted_at,
                    policy_version=consent.policy_version,
                    revoked_at=consent.revoked_at,
                    revoked_reason=consent.revoked_reason,
                )
            )

    def revoke(self, subject_id: str, client_id: str, at: float, reason: str) -> int:
        stmt = (
            update(_table)
            .where(_table.c.subject_id == subject_id)
            .where(_table.c.client_id == client_id)
            .where(_table.c.revoked_at.is_(None))
            .values(revoked_at=at, revoked_reason=reason)
        )
        with sql_errors():
            return rowcount(self._connection.execute(stmt))

    def revoke_granted_before(self, before: float, at: float, reason: str) -> int:
        stmt = (
            update(_table)
            .where(_table.c.granted_at < before)
            .where(_table.c.revoked_at.is_(None))
            .values(revoked_at=at, revoked_reason=reason)
        )
        with sql_errors():
            return rowcount(self._connection.execute(stmt))


def _live(subject_id: str, client_id: str, acting_for: str | None) -> ColumnElement[bool]:
    acting = (
        _table.c.acting_for.is_(None) if acting_for is None else _table.c.acting_for == acting_for
    )
    return and_(
        _table.c.subject_id == subject_id,
        _table.c.client_id == client_id,
        acting,
        _table.c.revoked_at.is_(None),
    )


def consent_from_row(row: Row[Any]) -> Consent:
    return Consent(
        consent_id=row.consent_id,
        subject_id=row.subject_id,
        client_id=row.client_id,
        acting_for=row.acting_for,
        scopes=tuple(str(s) for s in json.loads(row.scopes)),
        granted_at=row.granted_at,
        policy_version=row.policy_version,
        revoked_at=row.revoked_at,
        revoked_reason=row.revoked_reason,
    )


_: type[ConsentRepository] = SqlConsentRepository
