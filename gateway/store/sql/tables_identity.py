"""Durable identity tables: subjects, their upstream identities, and consents.

* ``subjects`` — a person known to vhod. Names and birth date live only in
  ``sealed_profile`` (JSON sealed with context ``subject:<subject_id>``; registered in
  ``sealed.py`` so that ``vhod keys reseal`` covers it).
* ``upstream_identities`` — (provider, keyed digest of the upstream subject id) → subject.
  The raw ESIA oid is never stored.
* ``consents`` — one row per grant of consent; a later grant for the same (subject,
  client, acting_for) closes the earlier one (``revoked_reason = "superseded"``), so the
  table is also the history of who consented to what, and when (152-FZ Art. 9).

Created by migration ``0003_identity``; these classes must match it.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from gateway.store.sql.tables import Base

ID_LENGTH = 64
CLIENT_ID_LENGTH = 255


class SubjectRow(Base):
    """A person known to vhod; see :class:`gateway.core.types.Subject`."""

    __tablename__ = "subjects"

    subject_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    account_level: Mapped[str] = mapped_column(String(32))
    roles: Mapped[str] = mapped_column(Text)
    sealed_profile: Mapped[bytes | None] = mapped_column(LargeBinary)
    snils_index: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    """Blind index of the person's SNILS (migration 0007; ``gateway.core.children``)."""


class UpstreamIdentityRow(Base):
    """An upstream account attached to a subject, keyed by a digest of its id."""

    __tablename__ = "upstream_identities"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject_digest: Mapped[str] = mapped_column(String(128), primary_key=True)
    subject_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("subjects.subject_id"), index=True
    )
    created_at: Mapped[float] = mapped_column(Float)


class ConsentRow(Base):
    """One grant of consent; see :class:`gateway.core.types.Consent`."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_subject_id_client_id", "subject_id", "client_id"),)

    consent_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("subjects.subject_id"))
    client_id: Mapped[str] = mapped_column(String(CLIENT_ID_LENGTH))
    acting_for: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    scopes: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[float] = mapped_column(Float)
    policy_version: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[float | None] = mapped_column(Float)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


def _table_of(cls: type[Base]) -> Table:
    return cast(Table, cls.__table__)


subjects_table = _table_of(SubjectRow)
upstream_identities_table = _table_of(UpstreamIdentityRow)
consents_table = _table_of(ConsentRow)
