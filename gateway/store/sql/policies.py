"""Repositories of the admin side: versioned rule documents and admin read models.

* :class:`SqlPolicyDocumentRepository` — ``policy_documents``. :meth:`apply` clears the
  ``active`` flag of every row and inserts the next version as the active one, in the
  caller's transaction: one unit of work applies a version and audits it, or neither
  happens. Two concurrent applies compute the same next version; the primary key lets
  only one of them commit (the other gets :class:`~gateway.core.errors.Conflict`).
* :class:`SqlAdminQueries` — read-only queries over other use cases' tables (consents,
  grants, subjects) that the admin pages, ``explain`` and the dry run need; they never
  write. Subjects are listed by internal id only (digests are computed by the caller).

Like every repository these never commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Row
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from gateway.core.ports import AdminQueries
from gateway.core.ports import PolicyDocumentRecord
from gateway.core.ports import PolicyDocumentRepository
from gateway.core.types import Consent
from gateway.core.types import Grant
from gateway.store.sql.consents import consent_from_row
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.grants import grant_from_row
from gateway.store.sql.tables_identity import consents_table as _consents
from gateway.store.sql.tables_identity import subjects_table as _subjects
from gateway.store.sql.tables_oauth import grants_table as _grants
from gateway.store.sql.tables_policies import policy_documents_table as _docs

MAX_LIMIT = 5000
MAX_VERSION = 2**31 - 1
"""``version`` is an SQL INTEGER (32 bits on PostgreSQL; SQLite refuses > 64 bits)."""


class SqlPolicyDocumentRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def apply(
        self, text: str, sha256: str, author: str, comment: str, at: float
    ) -> PolicyDocumentRecord:
        with sql_errors():
            newest = self._connection.execute(select(func.max(_docs.c.version))).scalar()
            version = int(newest or 0) + 1
            self._connection.execute(
                update(_docs).where(_docs.c.active.is_(True)).values(active=False)
            )
            record = PolicyDocumentRecord(
                version=version,
                text=text,
                sha256=sha256,
                author=author,
                created_at=at,
                comment=comment,
                active=True,
                applied_at=at,
            )
            self._connection.execute(
                insert(_docs).values(
                    version=record.version,
                    text=record.text,
                    sha256=record.sha256,
                    author=record.author,
                    created_at=record.created_at,
                    comment=record.comment,
                    active=True,
                    applied_at=record.applied_at,
                )
            )
        return record

    def get(self, version: int) -> PolicyDocumentRecord | None:
        if not 0 < version <= MAX_VERSION:
            return None  # outside the column's range: no such row (and no driver error)
        with sql_errors():
            row = self._connection.execute(select(_docs).where(_docs.c.version == version)).first()
        return None if row is None else _to_record(row)

    def active(self) -> PolicyDocumentRecord | None:
        stmt = select(_docs).where(_docs.c.active.is_(True)).order_by(_docs.c.version.desc())
        with sql_errors():
            row = self._connection.execute(stmt.limit(1)).first()
        return None if row is None else _to_record(row)

    def active_version(self) -> int | None:
        stmt = select(_docs.c.version).where(_docs.c.active.is_(True))
        with sql_errors():
            value = self._connection.execute(
                stmt.order_by(_docs.c.version.desc()).limit(1)
            ).scalar()
        return None if value is None else int(value)

    def history(self, limit: int = 100) -> list[PolicyDocumentRecord]:
        stmt = select(_docs).order_by(_docs.c.version.desc()).limit(_bounded(limit))
        with sql_errors():
            rows = self._connection.execute(stmt).all()
        return [_to_record(row) for row in rows]


class SqlAdminQueries:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def consents(
        self,
        *,
        client_id: str | None = None,
        subject_id: str | None = None,
        include_revoked: bool = False,
        limit: int = 100,
    ) -> list[Consent]:
        stmt = select(_consents)
        if client_id is not None:
            stmt = stmt.where(_consents.c.client_id == client_id)
        if subject_id is not None:
            stmt = stmt.where(_consents.c.subject_id == subject_id)
        if not include_revoked:
            stmt = stmt.where(_consents.c.revoked_at.is_(None))
        stmt = stmt.order_by(_consents.c.granted_at.desc(), _consents.c.consent_id)
        with sql_errors():
            rows = self._connection.execute(stmt.limit(_bounded(limit))).all()
        return [consent_from_row(row) for row in rows]

    def consent(self, consent_id: str) -> Consent | None:
        with sql_errors():
            row = self._connection.execute(
                select(_consents).where(_consents.c.consent_id == consent_id)
            ).first()
        return None if row is None else consent_from_row(row)

    def grants(
        self, *, since: float | None = None, client_id: str | None = None, limit: int = 500
    ) -> list[Grant]:
        stmt = select(_grants).where(_grants.c.revoked_at.is_(None))
        if since is not None:
            stmt = stmt.where(_grants.c.created_at >= since)
        if client_id is not None:
            stmt = stmt.where(_grants.c.client_id == client_id)
        stmt = stmt.order_by(_grants.c.created_at.desc(), _grants.c.grant_id)
        with sql_errors():
            rows = self._connection.execute(stmt.limit(_bounded(limit))).all()
        return [grant_from_row(row) for row in rows]

    def subject_ids(self, after: str | None = None, limit: int = 1000) -> list[str]:
        stmt = select(_subjects.c.subject_id)
        if after is not None:
            stmt = stmt.where(_subjects.c.subject_id > after)
        stmt = stmt.order_by(_subjects.c.subject_id).limit(_bounded(limit))
        with sql_errors():
            return [str(row.subject_id) for row in self._connection.execute(stmt).all()]


def _bounded(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))


def _to_record(row: Row[Any]) -> PolicyDocumentRecord:
    return PolicyDocumentRecord(
        version=int(row.version),
        text=row.text,
        sha256=row.sha256,
        author=row.author,
        created_at=row.created_at,
        comment=row.comment,
        active=bool(row.active),
        applied_at=row.applied_at,
    )


_p: type[PolicyDocumentRepository] = SqlPolicyDocumentRepository
_q: type[AdminQueries] = SqlAdminQueries
