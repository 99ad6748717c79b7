"""``SqlApplicationRepository``: link applications, their documents and decisions.

Documents' content stays sealed; :meth:`SqlApplicationRepository.documents` never reads
it (listing a queue does not pull megabytes), :meth:`document` does. The purge sets the
content to NULL and ``deleted_at``; metadata (type, size, SHA-256) stays for the record.
Like every repository it never commits.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Row
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from gateway.core.applications import Application
from gateway.core.applications import ApplicationDecision
from gateway.core.applications import ApplicationDocument
from gateway.core.applications import ApplicationRepository
from gateway.core.applications import ApplicationStatus
from gateway.core.applications import DecisionAction
from gateway.store.sql._results import rowcount
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.tables_applications import application_decisions_table as _decisions
from gateway.store.sql.tables_applications import application_documents_table as _documents
from gateway.store.sql.tables_applications import applications_table as _apps

_a = _apps.c
_d = _documents.c
_OPEN = (str(ApplicationStatus.PENDING), str(ApplicationStatus.NEEDS_DOCUMENT))
_MUTABLE = (
    "status",
    "updated_at",
    "checks",
    "roster_entry_id",
    "child_id",
    "guardianship_id",
    "reason",
    "decided_at",
    "purge_after",
)


def _values(a: Application) -> dict[str, Any]:
    return {
        "application_id": a.application_id,
        "parent_id": a.parent_id,
        "school_id": a.school_id,
        "class_name": a.class_name,
        "status": str(a.status),
        "created_at": a.created_at,
        "updated_at": a.updated_at,
        "sealed_child": a.sealed_child,
        "snils_index": a.snils_index,
        "certificate_index": a.certificate_index,
        "checks": json.dumps(list(a.checks)),
        "roster_entry_id": a.roster_entry_id,
        "child_id": a.child_id,
        "guardianship_id": a.guardianship_id,
        "reason": a.reason,
        "decided_at": a.decided_at,
        "purge_after": a.purge_after,
    }


def _to_app(row: Row[Any]) -> Application:
    return Application(
        application_id=row.application_id,
        parent_id=row.parent_id,
        school_id=row.school_id,
        class_name=row.class_name,
        status=ApplicationStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        sealed_child=bytes(row.sealed_child),
        snils_index=row.snils_index,
        certificate_index=row.certificate_index,
        checks=tuple(str(c) for c in json.loads(row.checks)),
        roster_entry_id=row.roster_entry_id,
        child_id=row.child_id,
        guardianship_id=row.guardianship_id,
        reason=row.reason,
        decided_at=row.decided_at,
        purge_after=row.purge_after,
    )


_META = (_d.document_id, _d.application_id, _d.uploaded_at, _d.media_type, _d.size, _d.sha256)


class SqlApplicationRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, application: Application) -> None:
        with sql_errors(), self._connection.begin_nested():
            self._connection.execute(insert(_apps).values(_values(application)))

    def get(self, application_id: str) -> Application | None:
        stmt = select(_apps).where(_a.application_id == application_id)
        with sql_errors():
            row = self._connection.execute(stmt).first()
        return None if row is None else _to_app(row)

    def save(self, application: Application) -> None:
        values = {k: v for k, v in _values(application).items() if k in _MUTABLE}
        stmt = update(_apps).where(_a.application_id == application.application_id)
        with sql_errors():
            self._connection.execute(stmt.values(values))

    def for_parent(self, parent_id: str) -> list[Application]:
        stmt = (
            select(_apps)
            .where(_a.parent_id == parent_id)
            .order_by(_a.created_at.desc(), _a.application_id)
        )
        with sql_errors():
            return [_to_app(r) for r in self._connection.execute(stmt).all()]

    def open_queue(self, limit: int) -> list[Application]:
        stmt = (
            select(_apps)
            .where(_a.status.in_(_OPEN))
            .order_by(_a.created_at, _a.application_id)
            .limit(limit)
        )
        with sql_errors():
            return [_to_app(r) for r in self._connection.execute(stmt).all()]

    def count_since(self, parent_id: str, since: float) -> int:
        stmt = (
            select(func.count())
            .select_from(_apps)
            .where(_a.parent_id == parent_id)
            .where(_a.created_at >= since)
        )
        with sql_errors():
            return int(self._connection.execute(stmt).scalar_one())

    def add_document(self, document: ApplicationDocument) -> None:
        d = document
        values = {
            "document_id": d.document_id,
            "application_id": d.application_id,
            "uploaded_at": d.uploaded_at,
            "media_type": d.media_type,
            "size": d.size,
            "sha256": d.sha256,
            "sealed_content": d.sealed_content,
            "deleted_at": d.deleted_at,
        }
        with sql_errors(), self._connection.begin_nested():
            self._connection.execute(insert(_documents).values(values))

    def documents(self, application_id: str) -> list[ApplicationDocument]:
        stmt = (
            select(*_META, _d.deleted_at)
            .where(_d.application_id == application_id)
            .order_by(_d.uploaded_at, _d.document_id)
        )
        with sql_errors():
            rows = self._connection.execute(stmt).all()
        return [
            ApplicationDocument(
                r.document_id,
                r.application_id,
                r.uploaded_at,
                r.media_type,
                r.size,
                r.sha256,
                None,
                r.deleted_at,
            )
            for r in rows
        ]

    def document(self, application_id: str, document_id: str) -> ApplicationDocument | None:
        stmt = (
            select(_documents)
            .where(_d.application_id == application_id)
            .where(_d.document_id == document_id)
        )
        with sql_errors():
            r = self._connection.execute(stmt).first()
        if r is None:
            return None
        content = None if r.sealed_content is None else bytes(r.sealed_content)
        return ApplicationDocument(
            r.document_id,
            r.application_id,
            r.uploaded_at,
            r.media_type,
            r.size,
            r.sha256,
            content,
            r.deleted_at,
        )

    def purge_documents(self, before: float, at: float) -> int:
        due = (
            select(_a.application_id)
            .where(_a.purge_after.is_not(None))
            .where(_a.purge_after <= before)
        )
        stmt = (
            update(_documents)
            .where(_d.application_id.in_(due))
            .where(_d.sealed_content.is_not(None))
            .values(sealed_content=None, deleted_at=at)
        )
        with sql_errors():
            return rowcount(self._connection.execute(stmt))

    def add_decision(self, decision: ApplicationDecision) -> None:
        values = {
            "decision_id": decision.decision_id,
            "application_id": decision.application_id,
            "at": decision.at,
            "actor": decision.actor,
            "action": str(decision.action),
            "reason": decision.reason,
            "sealed_note": decision.sealed_note,
        }
        with sql_errors():
            self._connection.execute(insert(_decisions).values(values))

    def decisions(self, application_id: str) -> list[ApplicationDecision]:
        c = _decisions.c
        stmt = (
            select(_decisions)
            .where(c.application_id == application_id)
            .order_by(c.at, c.decision_id)
        )
        with sql_errors():
            rows = self._connection.execute(stmt).all()
        return [
            ApplicationDecision(
                decision_id=r.decision_id,
                application_id=r.application_id,
                at=r.at,
                actor=r.actor,
                action=DecisionAction(r.action),
                reason=r.reason,
                sealed_note=None if r.sealed_note is None else bytes(r.sealed_note),
            )
            for r in rows
        ]


_repo: type[ApplicationRepository] = SqlApplicationRepository
