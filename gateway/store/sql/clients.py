"""``SqlClientRepository``: registered relying parties in the ``clients`` table.

Repositories run Core statements on the unit of work's connection (no ORM identity
map: a read after an update in the same transaction always sees the update). Tuple
fields are stored as JSON arrays in ``Text`` columns (portable; nothing queries inside
them). Like every repository it never commits: the unit of work does, once.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Row
from sqlalchemy import bindparam
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from gateway.core.errors import Conflict
from gateway.core.errors import NotFound
from gateway.core.ports import ClientRepository
from gateway.core.types import Client
from gateway.core.types import TokenFormat
from gateway.store.sql._results import rowcount
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.raw import first_record
from gateway.store.sql.tables import clients_table as _table

_GET = select(_table).where(_table.c.client_id == bindparam("client_id"))
"""Built once: the hottest read (every authorization and token request)."""


class SqlClientRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.written = False
        """Whether this transaction added or changed a client (the unit of work then runs
        its ``on_clients_changed`` hook after the commit)."""

    def get(self, client_id: str) -> Client | None:
        row = first_record(self._connection, _GET, {"client_id": client_id})
        return None if row is None else _to_client(row)

    def add(self, client: Client) -> None:
        """Insert; :raises Conflict: when the id exists (the transaction stays usable)."""
        with sql_errors():
            exists = self._connection.execute(
                select(_table.c.client_id).where(_table.c.client_id == client.client_id)
            ).first()
            if exists is not None:
                raise Conflict("client already exists")
            # A concurrent insert of the same id can still win; the savepoint keeps this
            # transaction usable when the unique key then rejects ours.
            with self._connection.begin_nested():
                self._connection.execute(insert(_table).values(**_columns(client)))
        self.written = True

    def update(self, client: Client) -> None:
        """Replace every field; :raises NotFound: when the id does not exist."""
        values = _columns(client)
        client_id = values.pop("client_id")
        with sql_errors():
            result = self._connection.execute(
                update(_table).where(_table.c.client_id == client_id).values(**values)
            )
        if rowcount(result) == 0:
            raise NotFound("client not found")
        self.written = True

    def list(self) -> list[Client]:
        with sql_errors():
            rows = self._connection.execute(select(_table).order_by(_table.c.client_id)).all()
        return [_to_client(row) for row in rows]


def _columns(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "redirect_uris": _dump(client.redirect_uris),
        "scopes": _dump(client.scopes),
        "grant_types": _dump(client.grant_types),
        "secret_digest": client.secret_digest,
        "name": client.name,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "token_format": client.token_format.value,
        "access_token_alg": client.access_token_alg,
        "id_token_alg": client.id_token_alg,
        "post_logout_redirect_uris": _dump(client.post_logout_redirect_uris),
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "sector": client.sector,
        "jwks": client.jwks,
        "resource": client.resource,
        "require_par": client.require_par,
        "introspection_allowed": client.introspection_allowed,
        "disabled": client.disabled,
        "created_at": client.created_at,
        "min_acr": client.min_acr,
    }


def _to_client(row: Row[Any]) -> Client:
    return Client(
        client_id=row.client_id,
        redirect_uris=_load(row.redirect_uris),
        scopes=_load(row.scopes),
        grant_types=_load(row.grant_types),
        secret_digest=row.secret_digest,
        name=row.name,
        token_endpoint_auth_method=row.token_endpoint_auth_method,
        token_format=TokenFormat(row.token_format),
        access_token_alg=row.access_token_alg,
        id_token_alg=row.id_token_alg,
        post_logout_redirect_uris=_load(row.post_logout_redirect_uris),
        backchannel_logout_uri=row.backchannel_logout_uri,
        sector=row.sector,
        jwks=row.jwks,
        resource=row.resource,
        require_par=row.require_par,
        introspection_allowed=row.introspection_allowed,
        disabled=row.disabled,
        created_at=row.created_at,
        min_acr=row.min_acr,
    )


def _dump(values: tuple[str, ...]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def _load(text: str) -> tuple[str, ...]:
    return tuple(str(v) for v in json.loads(text))


_: type[ClientRepository] = SqlClientRepository
