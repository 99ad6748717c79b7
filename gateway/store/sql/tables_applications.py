"""Durable tables of link applications (``gateway.core.applications``).

* ``link_applications`` — one application: the parent, the school and class, the status,
  the child's data sealed as one JSON document (``sealed_child``, context
  ``application:<id>``), the SNILS and certificate blind indexes, the failed automatic
  checks (JSON list), the roster entry, child subject and guardianship it led to, the
  rejection reason code, and when it was decided and when its documents are purged.
* ``application_documents`` — uploads: type decided by content, size, SHA-256 and the
  content sealed (context ``application_document:<id>``); ``sealed_content`` becomes NULL
  and ``deleted_at`` is set by the purge (decision + ``[applications] retention_days``).
* ``application_decisions`` — every step: auto-verified, approved, rejected (reason code),
  document requested / added; the actor (admin digest, ``cli``, ``auto``, ``parent``) and
  a reviewer's note sealed (context ``application_note:<id>``).

Created by migration ``0009_link_applications``; these classes must match it.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from gateway.store.sql.tables import Base
from gateway.store.sql.tables_children import INDEX_LENGTH
from gateway.store.sql.tables_identity import ID_LENGTH


class LinkApplicationRow(Base):
    """An application; see :class:`gateway.core.applications.Application`."""

    __tablename__ = "link_applications"
    __table_args__ = (Index("ix_link_applications_status_created_at", "status", "created_at"),)

    application_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    parent_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("subjects.subject_id"), index=True
    )
    school_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("schools.school_id"))
    class_name: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    sealed_child: Mapped[bytes] = mapped_column(LargeBinary)
    snils_index: Mapped[str] = mapped_column(String(INDEX_LENGTH))
    certificate_index: Mapped[str] = mapped_column(String(INDEX_LENGTH))
    checks: Mapped[str] = mapped_column(Text)
    roster_entry_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    child_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    guardianship_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    reason: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[float | None] = mapped_column(Float)
    purge_after: Mapped[float | None] = mapped_column(Float, index=True)


class ApplicationDocumentRow(Base):
    """An uploaded document; see :class:`gateway.core.applications.ApplicationDocument`."""

    __tablename__ = "application_documents"

    document_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    application_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("link_applications.application_id"), index=True
    )
    uploaded_at: Mapped[float] = mapped_column(Float)
    media_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    sealed_content: Mapped[bytes | None] = mapped_column(LargeBinary)
    deleted_at: Mapped[float | None] = mapped_column(Float)


class ApplicationDecisionRow(Base):
    """One step of an application's history; see ``ApplicationDecision``."""

    __tablename__ = "application_decisions"

    decision_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    application_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("link_applications.application_id"), index=True
    )
    at: Mapped[float] = mapped_column(Float)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(32))
    sealed_note: Mapped[bytes | None] = mapped_column(LargeBinary)


def _table_of(cls: type[Base]) -> Table:
    return cast(Table, cls.__table__)


applications_table = _table_of(LinkApplicationRow)
application_documents_table = _table_of(ApplicationDocumentRow)
application_decisions_table = _table_of(ApplicationDecisionRow)
