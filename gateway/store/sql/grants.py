"""Repositories of the OAuth provider: grants, refresh tokens, back-channel logout queue.

Concurrency is settled by the database, never by a read followed by a write:

* :meth:`SqlRefreshTokenRepository.use_and_link` marks a refresh token used with a
  conditional ``UPDATE … WHERE used_at IS NULL`` and adds the next link of its chain only
  if that matched. Of any number of concurrent exchanges of one refresh token, the
  database lets exactly one match (PostgreSQL re-checks the condition after the row lock;
  SQLite runs one write transaction at a time), so there is never a second live chain
  (SECURITY.md T38, Keycloak PR #46054). On PostgreSQL both are one statement
  (``WITH used AS (UPDATE … RETURNING) INSERT … SELECT … FROM used``), atomic without a
  transaction around it; SQLite has no data-modifying ``WITH``, so there they are two
  statements in the unit of work's transaction.
* :meth:`SqlGrantRepository.add` inserts with ``ON CONFLICT DO NOTHING`` and
  :meth:`SqlGrantRepository.revoke` upserts with ``ON CONFLICT DO UPDATE SET
  revoked_at``: a code replay that revokes a grant before its first redemption has
  committed leaves the grant revoked whichever transaction commits first (T28).
* :meth:`SqlLogoutQueue.claim_due` locks due rows with ``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL (ignored by SQLite, which serialises writers) and pushes them ahead as a
  lease, so two workers never deliver the same notification at once.

Like every repository these never commit; the use case's unit of work does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Connection
from sqlalchemy import Row
from sqlalchemy import Text
from sqlalchemy import bindparam
from sqlalchemy import cast
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from gateway.core.ports import GrantRepository
from gateway.core.ports import LogoutQueue
from gateway.core.ports import RefreshTokenRepository
from gateway.core.types import Grant
from gateway.core.types import LogoutDelivery
from gateway.core.types import RefreshToken
from gateway.core.types import Rotation
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.raw import execute
from gateway.store.sql.raw import first_row
from gateway.store.sql.tables_oauth import grants_table as _grants
from gateway.store.sql.tables_oauth import logout_deliveries_table as _queue
from gateway.store.sql.tables_oauth import refresh_tokens_table as _tokens


def _dialect_insert(connection: Connection) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the connection's database."""
    name = connection.dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise RuntimeError(f"unsupported database {name}")  # pragma: no cover


_ADD_GRANT = {
    dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(_grants).on_conflict_do_nothing(
        index_elements=[_grants.c.grant_id]
    )
    for dialect in (postgresql, sqlite)
}
"""Built once per dialect (the values come as parameters): one per token request."""
_ADD_TOKEN = insert(_tokens)
_GET_GRANT = select(_grants).where(_grants.c.grant_id == bindparam("grant_id"))
_GET_TOKEN = select(_tokens).where(_tokens.c.digest == bindparam("digest"))
_FIND_TOKEN = (
    select(*_tokens.c, *(column.label(f"g_{column.name}") for column in _grants.c))
    .select_from(_tokens.outerjoin(_grants, _grants.c.grant_id == _tokens.c.grant_id))
    .where(_tokens.c.digest == bindparam("digest"))
)
_USE_TOKEN = (
    update(_tokens)
    .where(_tokens.c.digest == bindparam("match_digest"), _tokens.c.used_at.is_(None))
    .values(used_at=bindparam("used_at"))
)
_LINK_COLUMNS = tuple(column.name for column in _tokens.c if column.name != "used_at")
_USE_AND_LINK = (
    insert(_tokens)
    .from_select(
        list(_LINK_COLUMNS),
        select(
            *(bindparam(f"link_{name}", type_=_tokens.c[name].type) for name in _LINK_COLUMNS)
        ).select_from(_USE_TOKEN.returning(_tokens.c.digest).cte("used")),
    )
    .returning(_tokens.c.digest)
)
"""Built once, as the client read is: the refresh grant's read, and its use with the next
link (PostgreSQL's one statement; SQLite runs ``_USE_TOKEN`` and ``_ADD_TOKEN``). The read
and PostgreSQL's write run on the DBAPI cursor (:func:`gateway.store.sql.raw.first_row`):
a refresh is the hottest durable write."""
_FIND_NAMES = tuple(_FIND_TOKEN.selected_columns.keys())


def _jsonb(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return cast(value, postgresql.JSONB)


_NOW = bindparam("now", type_=_tokens.c.used_at.type)
_ADMITTED = (
    update(_tokens)
    .where(
        # Rotation.admits, as SQL (tests/features/refresh_token/test_repositories.py holds
        # the two to the same answers).
        _tokens.c.digest == bindparam("match_digest"),
        _tokens.c.used_at.is_(None),
        _tokens.c.client_id == bindparam("client_id"),
        _tokens.c.expires_at > _NOW,
        _jsonb(bindparam("requested", type_=Text)).contained_by(_jsonb(_tokens.c.scopes)),
        _jsonb(_tokens.c.scopes).contained_by(_jsonb(bindparam("client_scopes", type_=Text))),
        _grants.c.grant_id == _tokens.c.grant_id,
        _grants.c.revoked_at.is_(None),
        _grants.c.expires_at > _NOW,
        _grants.c.created_at >= bindparam("cutoff", type_=_grants.c.created_at.type),
        _grants.c.acting_for.is_(None),
    )
    .values(used_at=_NOW)
    .returning(*_FIND_TOKEN.selected_columns)
    .cte("admitted")
)
_NEXT_LINK = (
    insert(_tokens)
    .from_select(
        [c.name for c in _tokens.c if c.name != "used_at"],
        select(
            bindparam("next_digest", type_=_tokens.c.digest.type),
            _ADMITTED.c.grant_id,
            _ADMITTED.c.client_id,
            _ADMITTED.c.generation + 1,
            _ADMITTED.c.scopes,
            _NOW,
            # Grant.link_expiry
            func.least(
                bindparam("idle_until", type_=_tokens.c.expires_at.type), _ADMITTED.c.g_expires_at
            ),
        ),
    )
    .returning(_tokens.c.digest)
    .cte("next_link")
)
_ROTATE = select(*_ADMITTED.c).select_from(_ADMITTED.join(_NEXT_LINK, true()))
"""PostgreSQL's rotation in one statement: the token's use when every term holds
(``UPDATE … FROM grants … RETURNING`` the token and its grant) and its next link (``INSERT
… SELECT`` from that). A concurrent exchange that used the token first makes the
``UPDATE`` match nothing (PostgreSQL re-checks ``used_at IS NULL`` after the row lock),
so nothing is inserted either."""


class SqlGrantRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, grant: Grant) -> None:
        stmt = _ADD_GRANT[self._connection.dialect.name]
        execute(self._connection, stmt, _grant_columns(grant))

    def get(self, grant_id: str) -> Grant | None:
        with sql_errors():
            row = self._connection.execute(_GET_GRANT, {"grant_id": grant_id}).first()
        return None if row is None else grant_from_row(row)

    def revoke(self, grant: Grant, at: float) -> None:
        values = _grant_columns(grant) | {"revoked_at": at}
        stmt = _dialect_insert(self._connection)(_grants).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_grants.c.grant_id],
            set_={"revoked_at": at},
            where=_grants.c.revoked_at.is_(None),
        )
        with sql_errors():
            self._connection.execute(stmt)

    def revoke_where(
        self,
        at: float,
        *,
        sid: str | None = None,
        subject_id: str | None = None,
        client_id: str | None = None,
        keep_offline: bool = False,
    ) -> list[str]:
        if sid is None and subject_id is None and client_id is None:
            raise ValueError("revoke_where needs at least one filter")
        conditions: list[ColumnElement[bool]] = [_grants.c.revoked_at.is_(None)]
        if sid is not None:
            conditions.append(_grants.c.sid == sid)
        if subject_id is not None:
            conditions.append(_grants.c.subject_id == subject_id)
        if client_id is not None:
            conditions.append(_grants.c.client_id == client_id)
        if keep_offline:
            conditions.append(_grants.c.offline.is_(False))
        stmt = (
            update(_grants).where(*conditions).values(revoked_at=at).returning(_grants.c.grant_id)
        )
        with sql_errors():
            rows = self._connection.execute(stmt).all()
        return sorted(str(row.grant_id) for row in rows)

    def find_subject(self, client_id: str, sub: str) -> str | None:
        stmt = (
            select(_grants.c.subject_id)
            .where(_grants.c.client_id == client_id, _grants.c.sub == sub)
            .limit(1)
        )
        with sql_errors():
            row = self._connection.execute(stmt).first()
        return None if row is None else str(row.subject_id)


class SqlRefreshTokenRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, token: RefreshToken) -> None:
        execute(self._connection, _ADD_TOKEN, _token_columns(token))

    def get(self, digest: str) -> RefreshToken | None:
        with sql_errors():
            row = self._connection.execute(_GET_TOKEN, {"digest": digest}).first()
        return None if row is None else _to_token(row)

    def find(self, digest: str) -> tuple[RefreshToken, Grant | None] | None:
        row = first_row(self._connection, _FIND_TOKEN, {"digest": digest})
        if row is None:
            return None
        values = dict(zip(_FIND_NAMES, row, strict=True))
        grant = None if values["g_grant_id"] is None else _grant_from(values, "g_")
        return _token_from(values), grant

    def rotate(self, digest: str, terms: Rotation) -> tuple[RefreshToken, Grant] | None:
        if self._connection.dialect.name != "postgresql":
            found = self.find(digest)
            if found is None or found[1] is None or not terms.admits(*found):
                return None
            stored, grant = found[0], found[1]
            if not self.use_and_link(digest, terms.now, terms.link(stored, grant)):
                return None
            return stored, grant
        params = {
            "match_digest": digest,
            "client_id": terms.client_id,
            "now": terms.now,
            "requested": _dump(tuple(sorted(terms.requested_scopes))),
            "client_scopes": _dump(tuple(sorted(terms.client_scopes))),
            "cutoff": terms.cutoff,
            "next_digest": terms.next_digest,
            "idle_until": terms.idle_until,
        }
        row = first_row(self._connection, _ROTATE, params)
        if row is None:
            return None
        values = dict(zip(_FIND_NAMES, row, strict=True))
        return replace(_token_from(values), used_at=None), _grant_from(values, "g_")

    def use_and_link(self, digest: str, at: float, link: RefreshToken) -> bool:
        if link.used_at is not None:
            raise ValueError("the next link of a chain is unused")
        columns = _token_columns(link)
        with sql_errors():
            if self._connection.dialect.name == "postgresql":
                values = {f"link_{name}": columns[name] for name in _LINK_COLUMNS}
                values |= {"match_digest": digest, "used_at": at}
                return first_row(self._connection, _USE_AND_LINK, values) is not None
            used = self._connection.execute(_USE_TOKEN, {"match_digest": digest, "used_at": at})
            if used.rowcount != 1:
                return False
            self._connection.execute(_ADD_TOKEN, columns)
        return True


class SqlLogoutQueue:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def enqueue(self, delivery: LogoutDelivery) -> None:
        values = {
            "delivery_id": delivery.delivery_id,
            "client_id": delivery.client_id,
            "sid": delivery.sid,
            "sub": delivery.sub,
            "created_at": delivery.created_at,
            "next_attempt_at": delivery.next_attempt_at,
            "attempts": delivery.attempts,
        }
        with sql_errors():
            self._connection.execute(insert(_queue).values(**values))

    def claim_due(self, now: float, limit: int, lease_seconds: int) -> list[LogoutDelivery]:
        stmt = (
            select(_queue)
            .where(_queue.c.next_attempt_at <= now)
            .order_by(_queue.c.next_attempt_at, _queue.c.delivery_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with sql_errors():
            rows = self._connection.execute(stmt).all()
            deliveries = [_to_delivery(row) for row in rows]
            if deliveries:
                self._connection.execute(
                    update(_queue)
                    .where(_queue.c.delivery_id.in_([d.delivery_id for d in deliveries]))
                    .values(next_attempt_at=now + lease_seconds)
                )
        return deliveries

    def complete(self, delivery_id: str) -> None:
        with sql_errors():
            self._connection.execute(delete(_queue).where(_queue.c.delivery_id == delivery_id))

    def reschedule(self, delivery_id: str, attempts: int, next_attempt_at: float) -> None:
        with sql_errors():
            self._connection.execute(
                update(_queue)
                .where(_queue.c.delivery_id == delivery_id)
                .values(attempts=attempts, next_attempt_at=next_attempt_at)
            )


def _grant_columns(grant: Grant) -> dict[str, Any]:
    return {
        "grant_id": grant.grant_id,
        "client_id": grant.client_id,
        "subject_id": grant.subject_id,
        "sub": grant.sub,
        "scopes": _dump(grant.scopes),
        "sid": grant.sid,
        "acr": grant.acr,
        "amr": _dump(grant.amr),
        "auth_time": grant.auth_time,
        "acting_for": grant.acting_for,
        "offline": grant.offline,
        "created_at": grant.created_at,
        "expires_at": grant.expires_at,
        "revoked_at": grant.revoked_at,
    }


def grant_from_row(row: Row[Any]) -> Grant:
    return _grant_from(row._mapping, "")


def _grant_from(values: Mapping[Any, Any], prefix: str) -> Grant:
    """The grant of a row's ``values``, its columns named ``<prefix><column>``."""
    return Grant(
        grant_id=values[prefix + "grant_id"],
        client_id=values[prefix + "client_id"],
        subject_id=values[prefix + "subject_id"],
        sub=values[prefix + "sub"],
        scopes=_load(values[prefix + "scopes"]),
        created_at=values[prefix + "created_at"],
        expires_at=values[prefix + "expires_at"],
        sid=values[prefix + "sid"],
        acr=values[prefix + "acr"],
        amr=_load(values[prefix + "amr"]),
        auth_time=values[prefix + "auth_time"],
        acting_for=values[prefix + "acting_for"],
        revoked_at=values[prefix + "revoked_at"],
    )


def _token_columns(token: RefreshToken) -> dict[str, Any]:
    return {
        "digest": token.digest,
        "grant_id": token.grant_id,
        "client_id": token.client_id,
        "generation": token.generation,
        "scopes": _dump(token.scopes),
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "used_at": token.used_at,
    }


def _to_token(row: Row[Any]) -> RefreshToken:
    return _token_from(row._mapping)


def _token_from(values: Mapping[Any, Any]) -> RefreshToken:
    return RefreshToken(
        digest=values["digest"],
        grant_id=values["grant_id"],
        client_id=values["client_id"],
        generation=values["generation"],
        scopes=_load(values["scopes"]),
        created_at=values["created_at"],
        expires_at=values["expires_at"],
        used_at=values["used_at"],
    )


def _to_delivery(row: Row[Any]) -> LogoutDelivery:
    return LogoutDelivery(
        delivery_id=row.delivery_id,
        client_id=row.client_id,
        sid=row.sid,
        sub=row.sub,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        attempts=row.attempts,
    )


def _dump(values: tuple[str, ...]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def _load(text: str) -> tuple[str, ...]:
    return tuple(str(v) for v in json.loads(text))


_g: type[GrantRepository] = SqlGrantRepository
_r: type[RefreshTokenRepository] = SqlRefreshTokenRepository
_q: type[LogoutQueue] = SqlLogoutQueue
