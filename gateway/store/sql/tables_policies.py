"""Durable table of the admin rule documents: ``policy_documents``.

One row per applied version (``version`` counts up from 1). Rows are never changed except
for the ``active`` flag, which exactly one row carries once any version was applied; a
rollback inserts an old text again as a new version, so the table is the full history of
what was in force, who applied it (an admin's subject digest, or ``cli``), when and why.
The text is not personal data (rules name clients, scopes, schools and regions by id).

Created by migration ``0004_policies``; this class must match it.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Boolean
from sqlalchemy import Float
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from gateway.store.sql.tables import Base


class PolicyDocumentRow(Base):
    """A version of the rule documents; see :class:`gateway.core.ports.PolicyDocumentRecord`."""

    __tablename__ = "policy_documents"
    __table_args__ = (Index("ix_policy_documents_active", "active"),)

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    applied_at: Mapped[float | None] = mapped_column(Float)


policy_documents_table = cast(Table, PolicyDocumentRow.__table__)
