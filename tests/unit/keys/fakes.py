"""An in-memory durable store for the ``keys`` unit tests.

Only the ports ``keys`` uses are real (``keys``, ``data_keys``, ``sealed``); the other
repositories of :class:`gateway.core.ports.UnitOfWork` refuse to be used. Transactions
behave like the SQL store's: a unit of work works on a copy and ``commit()`` publishes it;
leaving without commit rolls back. Several :class:`FakeUnitOfWork` over one
:class:`FakeDatabase` stand for several processes sharing one database.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any
from typing import cast

from gateway.core.errors import Conflict
from gateway.core.errors import NotFound
from gateway.core.ports import AdminInviteRepository
from gateway.core.ports import AuditRepository
from gateway.core.ports import ClientRepository
from gateway.core.ports import DataKeyRepository
from gateway.core.ports import KeyRepository
from gateway.core.ports import SealedRecords
from gateway.core.types import DataKey
from gateway.core.types import KeyState
from gateway.core.types import SigningKey


class FakeDatabase:
    """The shared state: signing keys, data keys, and other sealed values by row id."""

    def __init__(self) -> None:
        self.signing_keys: dict[str, SigningKey] = {}
        self.data_keys: list[DataKey] = []
        self.records: dict[str, tuple[bytes, str]] = {}
        """Sealed personal data: row id -> (sealed value, context)."""
        self.commits = 0
        self.opened = 0

    def uow(self, *, read_only: bool = False, atomic_statements: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


class _Unused:
    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise AssertionError(f"keys must not use uow.{self._name}")


class FakeKeyRepository:
    def __init__(self, rows: dict[str, SigningKey]) -> None:
        self._rows = rows

    def list(self, states: tuple[KeyState, ...] | None = None) -> list[SigningKey]:
        rows = sorted(self._rows.values(), key=lambda k: (k.created_at, k.kid))
        return [k for k in rows if states is None or k.state in states]

    def add(self, key: SigningKey) -> None:
        if key.kid in self._rows:
            raise Conflict(f"signing key {key.kid} exists")
        self._rows[key.kid] = key

    def update(self, key: SigningKey) -> None:
        if key.kid not in self._rows:
            raise NotFound(key.kid)
        self._rows[key.kid] = key


class FakeDataKeyRepository:
    def __init__(self, rows: list[DataKey]) -> None:
        self._rows = rows

    def list(self) -> list[DataKey]:
        return list(self._rows)

    def add(self, key: DataKey) -> None:
        if any(k.key_id == key.key_id for k in self._rows):
            raise Conflict(f"data key {key.key_id} exists")
        self._rows.append(key)


class FakeSealedRecords:
    """Every sealed value: the personal-data rows and the signing keys' private JWKs,
    as the SQL store's ``reseal_all`` must cover both."""

    def __init__(self, records: dict[str, tuple[bytes, str]], keys: dict[str, SigningKey]) -> None:
        self._records = records
        self._keys = keys

    def reseal_all(self, transform: Callable[[bytes, str], bytes]) -> int:
        changed = 0
        for row_id, (value, context) in list(self._records.items()):
            new = transform(value, context)
            if new != value:
                self._records[row_id] = (new, context)
                changed += 1
        for kid, key in list(self._keys.items()):
            new = transform(key.sealed_private_jwk, f"signing_key:{kid}")
            if new != key.sealed_private_jwk:
                self._keys[kid] = SigningKey(
                    kid=key.kid,
                    alg=key.alg,
                    state=key.state,
                    public_jwk=key.public_jwk,
                    sealed_private_jwk=new,
                    created_at=key.created_at,
                    activated_at=key.activated_at,
                    retired_at=key.retired_at,
                )
                changed += 1
        return changed


class FakeUnitOfWork:
    clients: ClientRepository
    keys: KeyRepository
    audit: AuditRepository
    invites: AdminInviteRepository
    data_keys: DataKeyRepository
    sealed: SealedRecords

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db
        self._keys: dict[str, SigningKey] = {}
        self._data_keys: list[DataKey] = []
        self._records: dict[str, tuple[bytes, str]] = {}
        self._base_keys: dict[str, SigningKey] = {}
        self._base_records: dict[str, tuple[bytes, str]] = {}
        self.clients = cast(ClientRepository, _Unused("clients"))
        self.audit = cast(AuditRepository, _Unused("audit"))
        self.invites = cast(AdminInviteRepository, _Unused("invites"))

    def __enter__(self) -> FakeUnitOfWork:
        self._db.opened += 1
        self._base_keys = dict(self._db.signing_keys)
        self._base_records = dict(self._db.records)
        self._keys = dict(self._base_keys)
        self._data_keys = list(self._db.data_keys)
        self._records = dict(self._base_records)
        self.keys = FakeKeyRepository(self._keys)
        self.data_keys = FakeDataKeyRepository(self._data_keys)
        self.sealed = FakeSealedRecords(self._records, self._keys)
        return self

    def commit(self) -> None:
        """Write the rows this transaction changed (row-level, like SQL: two concurrent
        transactions that insert different rows both keep their rows)."""
        for kid, key in self._keys.items():
            if self._base_keys.get(kid) != key:
                self._db.signing_keys[kid] = key
        known = {k.key_id for k in self._db.data_keys}
        self._db.data_keys.extend(k for k in self._data_keys if k.key_id not in known)
        for row_id, value in self._records.items():
            if self._base_records.get(row_id) != value:
                self._db.records[row_id] = value
        self._db.commits += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None
