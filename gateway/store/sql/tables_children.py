"""Durable tables of schools, rosters and guardianships (``gateway.core.children``).

* ``schools`` — the registry: names, a normalised search name (``search_name``: lower
  case, ё → е, punctuation dropped), INN, OGRN, region code, address, and the client ids
  bound to the school (JSON list).
* ``roster_entries`` — one pupil on one school's roster, unique per (school, the school's
  pupil id). Names, birth date, SNILS and birth certificate are one JSON document in
  ``sealed_person`` (context ``roster_entry:<entry_id>``, registered in ``sealed.py``);
  ``snils_index`` / ``certificate_index`` are keyed blind indexes — never plain values.
* ``guardianships`` — parent subject → child subject: evidence, status, the school and
  roster entry that proved it, created / verified / ended times and ``ends_at`` (the
  child's 18th birthday).
* ``guardian_consents`` — a guardian's consent for a child's own login to a client; a
  later grant closes the earlier one (history kept).
* ``subjects.snils_index`` (the column is declared on ``SubjectRow``) — the person's SNILS
  blind index, unique: a pupil's own login resolves to the child subject.

Created by migration ``0007_children``; these classes must match it.
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
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from gateway.store.sql.tables import Base
from gateway.store.sql.tables_identity import CLIENT_ID_LENGTH
from gateway.store.sql.tables_identity import ID_LENGTH

INDEX_LENGTH = 64
"""A blind index: 64 hex characters (HMAC-SHA256)."""


class SchoolRow(Base):
    """A school of the registry; see :class:`gateway.core.children.School`."""

    __tablename__ = "schools"

    school_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    full_name: Mapped[str] = mapped_column(Text)
    short_name: Mapped[str] = mapped_column(String(255))
    search_name: Mapped[str] = mapped_column(Text)
    inn: Mapped[str] = mapped_column(String(12), index=True)
    ogrn: Mapped[str] = mapped_column(String(15))
    region_code: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(Text)
    client_ids: Mapped[str] = mapped_column(Text)


class RosterEntryRow(Base):
    """A pupil on a roster; see :class:`gateway.core.children.RosterEntry`."""

    __tablename__ = "roster_entries"
    __table_args__ = (UniqueConstraint("school_id", "pupil_id"),)

    entry_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    school_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("schools.school_id"))
    pupil_id: Mapped[str] = mapped_column(String(64))
    class_name: Mapped[str] = mapped_column(String(16))
    sealed_person: Mapped[bytes] = mapped_column(LargeBinary)
    snils_index: Mapped[str | None] = mapped_column(String(INDEX_LENGTH), index=True)
    certificate_index: Mapped[str | None] = mapped_column(String(INDEX_LENGTH), index=True)
    updated_at: Mapped[float] = mapped_column(Float)


class GuardianshipRow(Base):
    """A parent → child link; see :class:`gateway.core.children.Guardianship`."""

    __tablename__ = "guardianships"

    guardianship_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    parent_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("subjects.subject_id"), index=True
    )
    child_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("subjects.subject_id"), index=True
    )
    evidence: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    school_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("schools.school_id")
    )
    roster_entry_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[float] = mapped_column(Float)
    verified_at: Mapped[float | None] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float)
    ends_at: Mapped[float] = mapped_column(Float)


class GuardianConsentRow(Base):
    """A guardian's consent for a child's own login; see ``GuardianConsent``."""

    __tablename__ = "guardian_consents"
    __table_args__ = (Index("ix_guardian_consents_child_id_client_id", "child_id", "client_id"),)

    consent_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    guardian_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("subjects.subject_id"), index=True
    )
    child_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("subjects.subject_id"))
    client_id: Mapped[str] = mapped_column(String(CLIENT_ID_LENGTH))
    scopes: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float)


def _table_of(cls: type[Base]) -> Table:
    return cast(Table, cls.__table__)


schools_table = _table_of(SchoolRow)
roster_entries_table = _table_of(RosterEntryRow)
guardianships_table = _table_of(GuardianshipRow)
guardian_consents_table = _table_of(GuardianConsentRow)
