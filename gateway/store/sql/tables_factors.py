"""Durable table of enrolled second factors: ``factor_credentials``.

One row per credential (:class:`gateway.core.factors.Credential`): a TOTP seed, a push
device's public key, one recovery code's keyed digest. ``sealed_payload`` is sealed with
context ``factor_credential:<credential_id>`` (registered in ``sealed.py``, so ``vhod keys
reseal`` covers it); ``label`` is non-identifying by contract.

Created by migration ``0005_factor_credentials``; this class must match it.

``factor_preferences`` (migration ``0006``): the factor kind a person chose to be offered
first at login, one row per subject; not a secret, not sealed.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Boolean
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from gateway.store.sql.tables import Base
from gateway.store.sql.tables_identity import ID_LENGTH

LABEL_LENGTH = 64


class FactorCredentialRow(Base):
    """An enrolled authenticator; see :class:`gateway.core.factors.Credential`."""

    __tablename__ = "factor_credentials"

    credential_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    subject_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("subjects.subject_id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(LABEL_LENGTH))
    sealed_payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean)


factor_credentials_table = cast(Table, FactorCredentialRow.__table__)


class FactorPreferenceRow(Base):
    """The factor kind a person prefers (``FactorKind`` value)."""

    __tablename__ = "factor_preferences"

    subject_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("subjects.subject_id"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[float] = mapped_column(Float)


factor_preferences_table = cast(Table, FactorPreferenceRow.__table__)
