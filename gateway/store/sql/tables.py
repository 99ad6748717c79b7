"""The durable store's tables as SQLAlchemy 2 typed mapped classes.

Portable types only (the same schema runs on SQLite and PostgreSQL): tuples and dicts are
JSON in ``Text`` columns, timestamps are ``Float`` seconds since the epoch (as in
``gateway.core.types``), binary values are ``LargeBinary`` (BLOB / bytea).

The schema itself is created by the Alembic migrations (``migrations/versions``), written
out by hand; these classes must match them, and ``tests/migrations`` checks that they do.
Adding a column means: change the class, add a migration, register any *sealed* column in
``sealed.py``.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import Float
from sqlalchemy import Index
from sqlalchemy import LargeBinary
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

EPHEMERAL_NAMESPACE_LENGTH = 64
EPHEMERAL_KEY_LENGTH = 128


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ClientRow(Base):
    """A registered relying party; see :class:`gateway.core.types.Client`."""

    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    redirect_uris: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(Text)
    grant_types: Mapped[str] = mapped_column(Text)
    secret_digest: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(Text)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(64))
    token_format: Mapped[str] = mapped_column(String(16))
    access_token_alg: Mapped[str] = mapped_column(String(16))
    id_token_alg: Mapped[str] = mapped_column(String(16))
    post_logout_redirect_uris: Mapped[str] = mapped_column(Text)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(Text)
    sector: Mapped[str | None] = mapped_column(String(255))
    jwks: Mapped[str | None] = mapped_column(Text)
    resource: Mapped[str | None] = mapped_column(Text)
    require_par: Mapped[bool] = mapped_column(Boolean)
    introspection_allowed: Mapped[bool] = mapped_column(Boolean)
    disabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[float] = mapped_column(Float)
    min_acr: Mapped[str | None] = mapped_column(String(64))


class SigningKeyRow(Base):
    """A signing key; the private JWK is sealed (context ``signing_key:<kid>``)."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(128), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    public_jwk: Mapped[str] = mapped_column(Text)
    sealed_private_jwk: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[float] = mapped_column(Float)
    activated_at: Mapped[float | None] = mapped_column(Float)
    retired_at: Mapped[float | None] = mapped_column(Float)


class DataKeyRow(Base):
    """A data key of the sealing key ring, wrapped by the key-encryption key."""

    __tablename__ = "data_keys"

    key_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[float] = mapped_column(Float)


class AuditEventRow(Base):
    """One link of the hash-chained audit trail (append-only; ``seq`` is the key)."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[float] = mapped_column(Float)
    event: Mapped[str] = mapped_column(String(128))
    fields: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AdminInviteRow(Base):
    """A one-time admin invitation, stored by the digest of its secret link."""

    __tablename__ = "admin_invites"

    digest: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text)
    used_at: Mapped[float | None] = mapped_column(Float)
    used_by: Mapped[str | None] = mapped_column(String(255))


class EphemeralRow(Base):
    """Short-lived state of the ``sql`` ephemeral store (see ``gateway.store.sql_ephemeral``).

    ``value`` holds a value put or consumed (a tombstone keeps it, ``consumed`` true);
    ``counter`` holds a counter (``incr``). A row whose ``expires_at`` has passed is absent.
    """

    __tablename__ = "ephemeral"
    __table_args__ = (Index("ix_ephemeral_expires_at", "expires_at"),)

    namespace: Mapped[str] = mapped_column(String(EPHEMERAL_NAMESPACE_LENGTH), primary_key=True)
    key: Mapped[str] = mapped_column(String(EPHEMERAL_KEY_LENGTH), primary_key=True)
    value: Mapped[bytes | None] = mapped_column(LargeBinary)
    counter: Mapped[int | None] = mapped_column(BigInteger)
    expires_at: Mapped[float] = mapped_column(Float)
    consumed: Mapped[bool] = mapped_column(Boolean)


def _table_of(cls: type[Base]) -> Table:
    return cast(Table, cls.__table__)


clients_table = _table_of(ClientRow)
signing_keys_table = _table_of(SigningKeyRow)
data_keys_table = _table_of(DataKeyRow)
audit_events_table = _table_of(AuditEventRow)
admin_invites_table = _table_of(AdminInviteRow)
ephemeral_table = _table_of(EphemeralRow)
