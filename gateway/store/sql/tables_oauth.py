"""Durable tables of the OAuth provider: grants, refresh tokens, back-channel logout queue.

* ``grants`` — one row per redeemed authorization code (a token family). ``revoked_at``
  set means every token of the family is dead. ``sub`` is the pairwise subject issued to
  the client (index ``(client_id, sub)`` maps an ``id_token_hint`` back to the subject);
  ``offline`` mirrors ``offline_access`` in ``scopes`` so that logout can keep offline
  grants with one indexed query (``sid``).
* ``refresh_tokens`` — keyed digests of refresh tokens only (never the token), each a
  link of its grant's rotation chain; ``used_at`` is set by an atomic conditional
  ``UPDATE`` when the token is exchanged.
* ``logout_deliveries`` — the back-channel logout queue (see
  ``gateway.oauth.backchannel``): durable, so a restart loses no notification, and
  claimable by several workers (``next_attempt_at`` is pushed ahead as a lease).

No personal data: subjects are internal ids and pairwise pseudonyms. Created by
migration ``0002_oauth``; these classes must match it.
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

ID_LENGTH = 64
CLIENT_ID_LENGTH = 255
SID_LENGTH = 128


class GrantRow(Base):
    """A token family; see :class:`gateway.core.types.Grant`."""

    __tablename__ = "grants"
    __table_args__ = (
        Index("ix_grants_sid", "sid"),
        Index("ix_grants_client_id_sub", "client_id", "sub"),
        Index("ix_grants_subject_id_client_id", "subject_id", "client_id"),
    )

    grant_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(CLIENT_ID_LENGTH))
    subject_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    sub: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[str] = mapped_column(Text)
    sid: Mapped[str | None] = mapped_column(String(SID_LENGTH))
    acr: Mapped[str | None] = mapped_column(String(255))
    amr: Mapped[str] = mapped_column(Text)
    auth_time: Mapped[int | None] = mapped_column(Integer)
    acting_for: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    offline: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float)


class RefreshTokenRow(Base):
    """A refresh token by keyed digest; see :class:`gateway.core.types.RefreshToken`."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_grant_id", "grant_id"),)

    digest: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    grant_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    client_id: Mapped[str] = mapped_column(String(CLIENT_ID_LENGTH))
    generation: Mapped[int] = mapped_column(Integer)
    scopes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    used_at: Mapped[float | None] = mapped_column(Float)


class LogoutDeliveryRow(Base):
    """A pending back-channel logout; see :class:`gateway.core.types.LogoutDelivery`."""

    __tablename__ = "logout_deliveries"
    __table_args__ = (Index("ix_logout_deliveries_next_attempt_at", "next_attempt_at"),)

    delivery_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(CLIENT_ID_LENGTH))
    sid: Mapped[str] = mapped_column(String(SID_LENGTH))
    sub: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[float] = mapped_column(Float)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer)


def _table_of(cls: type[Base]) -> Table:
    return cast(Table, cls.__table__)


grants_table = _table_of(GrantRow)
refresh_tokens_table = _table_of(RefreshTokenRow)
logout_deliveries_table = _table_of(LogoutDeliveryRow)
