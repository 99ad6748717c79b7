"""Store ports: the ephemeral store, the unit of work and the repositories on it."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from typing import Protocol

from gateway.core.applications import ApplicationRepository
from gateway.core.children import GuardianConsentRepository
from gateway.core.children import GuardianshipRepository
from gateway.core.children import PersonIndex
from gateway.core.children import RosterRepository
from gateway.core.children import SchoolRepository
from gateway.core.factors import CredentialRepository
from gateway.core.types import AdminInvite
from gateway.core.types import AuditEvent
from gateway.core.types import Client
from gateway.core.types import Consent
from gateway.core.types import DataKey
from gateway.core.types import Grant
from gateway.core.types import KeyState
from gateway.core.types import LogoutDelivery
from gateway.core.types import RefreshToken
from gateway.core.types import Rotation
from gateway.core.types import SigningKey
from gateway.core.types import Subject


class EphemeralStore(Protocol):
    """Short-lived state: namespaced keys, a TTL on every write.

    Backends: Redis (production), SQL (embedded default), memory (unit tests only). Any
    backend failure raises :class:`gateway.core.errors.StoreUnavailable`.
    """

    def put(self, namespace: str, key: str, value: bytes, ttl_seconds: int) -> None:
        """Store ``value``, replacing any previous one, for ``ttl_seconds`` (> 0)."""
        ...

    def put_many(self, items: Sequence[tuple[str, str, bytes, int]]) -> None:
        """:meth:`put` of each ``(namespace, key, value, ttl_seconds)``, in one round trip
        and one transaction: after it every item is stored, or, when it raises, none is
        (records written together, e.g. a journey and the state that names it)."""
        ...

    def get(self, namespace: str, key: str) -> bytes | None:
        """The value, or ``None`` when absent, expired or consumed."""
        ...

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[bytes | None]:
        """``get`` of each (namespace, key), in order, in one round trip where the backend
        has them (a hot path reading several small values)."""
        ...

    def put_and_get_many(
        self, item: tuple[str, str, bytes, int], keys: Sequence[tuple[str, str]]
    ) -> list[bytes | None]:
        """:meth:`put` of ``item`` and :meth:`get_many` of ``keys``, in one round trip where
        the backend has them (a use case whose one write also checks what it assumed; see
        ``gateway.oauth.deferred``). Not a transaction: the reads may see the store just
        before or just after the write."""
        ...

    def delete(self, namespace: str, key: str) -> bool:
        """Remove the key (and any tombstone); ``True`` when something was removed."""
        ...

    def consume(self, namespace: str, key: str, tombstone_ttl_seconds: int) -> bytes | None:
        """Atomically take a one-time value and leave a tombstone in its place.

        Exactly one of any number of concurrent callers gets the value. Later callers
        (while the tombstone lives) get :class:`ReplayDetected` carrying the value, so
        that what was issued from it can be revoked. ``None`` when the key never existed
        or expired.
        """
        ...

    def incr(self, namespace: str, key: str, ttl_seconds: int, amount: int = 1) -> int:
        """Atomically add ``amount`` and return the new value; the TTL is set when the
        counter is created (a fixed window) and not extended by later increments."""
        ...

    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` when the backend cannot be reached."""
        ...


class ClientRepository(Protocol):
    def get(self, client_id: str) -> Client | None: ...

    def add(self, client: Client) -> None:
        """Insert; raises :class:`gateway.core.errors.Conflict` when the id exists."""
        ...

    def update(self, client: Client) -> None: ...

    def list(self) -> list[Client]: ...


class KeyRepository(Protocol):
    def list(self, states: tuple[KeyState, ...] | None = None) -> list[SigningKey]: ...

    def add(self, key: SigningKey) -> None: ...

    def update(self, key: SigningKey) -> None: ...


class AuditRepository(Protocol):
    def append(self, at: float, event: str, fields: dict[str, Any]) -> AuditEvent:
        """Append one event to the chain (serialised against concurrent appenders)."""
        ...

    def iter_all(self) -> Iterator[AuditEvent]:
        """Every event in ``seq`` order."""
        ...


class AdminInviteRepository(Protocol):
    def add(self, invite: AdminInvite) -> None: ...

    def get(self, digest: str) -> AdminInvite | None: ...

    def mark_used(self, digest: str, at: float, used_by: str) -> bool:
        """Mark an unused invite used; ``False`` when it was already used."""
        ...


class DataKeyRepository(Protocol):
    def list(self) -> list[DataKey]:
        """Every data key, oldest first."""
        ...

    def add(self, key: DataKey) -> None: ...


class SealedRecords(Protocol):
    """Every sealed value in the durable store, for re-sealing after a key rotation."""

    def reseal_all(self, transform: Callable[[bytes, str], bytes]) -> int:
        """Replace each sealed value ``v`` (bound to ``context``) by ``transform(v, context)``;
        return how many values changed."""
        ...


class SubjectRepository(Protocol):
    """People known to vhod and the upstream identities attached to them.

    Upstream subject ids are stored only as keyed digests (``keyed_digest(pepper,
    "upstream_subject", oid)``), never in the clear.
    """

    def get(self, subject_id: str) -> Subject | None: ...

    def find_by_upstream(self, provider: str, subject_digest: str) -> Subject | None:
        """The subject an upstream identity is attached to. Example: ``SELECT … JOIN``."""
        ...

    def add(self, subject: Subject, provider: str, subject_digest: str) -> None:
        """Insert a subject and attach its first upstream identity; raises ``Conflict``."""
        ...

    def update(self, subject: Subject) -> None:
        """Replace level, roles and sealed profile; raises ``NotFound``."""
        ...


class ConsentRepository(Protocol):
    """Remembered consents: at most one active record per (subject, client, acting_for)."""

    def active(
        self, subject_id: str, client_id: str, acting_for: str | None = None
    ) -> Consent | None:
        """The live (not revoked) consent, or ``None``."""
        ...

    def list_active(self, subject_id: str) -> list[Consent]:
        """Every live consent of the subject, by client id."""
        ...

    def save(self, consent: Consent) -> None:
        """Insert ``consent``; an earlier live record for the same (subject, client,
        acting_for) is closed with ``revoked_reason = "superseded"``."""
        ...

    def revoke(self, subject_id: str, client_id: str, at: float, reason: str) -> int:
        """Revoke every live consent of the subject for the client; how many were live."""
        ...

    def revoke_granted_before(self, before: float, at: float, reason: str) -> int:
        """Revoke every live consent granted before ``before`` (a database restore);
        how many were live."""
        ...


class GrantRepository(Protocol):
    """Grants (token families) of ``gateway.oauth``. A revoked grant stays revoked: an
    :meth:`add` racing with a :meth:`revoke` of the same id never revives it."""

    def add(self, grant: Grant) -> None:
        """Insert; when a row with this id exists already (revoked first by a code replay
        that won the race), keep that row. Example: ``INSERT … ON CONFLICT DO NOTHING``."""
        ...

    def get(self, grant_id: str) -> Grant | None: ...

    def revoke(self, grant: Grant, at: float) -> None:
        """Mark revoked, inserting the row when it does not exist yet (upsert)."""
        ...

    def revoke_where(
        self,
        at: float,
        *,
        sid: str | None = None,
        subject_id: str | None = None,
        client_id: str | None = None,
        keep_offline: bool = False,
    ) -> list[str]:
        """Revoke the live grants matching every given filter; return their ids."""
        ...

    def find_subject(self, client_id: str, sub: str) -> str | None:
        """The internal subject id behind the pairwise ``sub`` issued to ``client_id``."""
        ...


class RefreshTokenRepository(Protocol):
    """Refresh tokens by keyed digest; exchanged at most once (rotation)."""

    def add(self, token: RefreshToken) -> None: ...

    def get(self, digest: str) -> RefreshToken | None: ...

    def find(self, digest: str) -> tuple[RefreshToken, Grant | None] | None:
        """The token and its grant (``None`` if the grant is gone), in one read."""
        ...

    def use_and_link(self, digest: str, at: float, link: RefreshToken) -> bool:
        """Mark the unused token ``digest`` used at ``at`` and add ``link``, the next token
        of its chain, as one atomic write (PostgreSQL: one statement, so it needs no
        transaction of its own; SQLite: a conditional ``UPDATE`` and an ``INSERT`` in the
        unit's transaction). ``False``, and nothing written, when the token does not
        exist or was used already: of concurrent exchanges of one token exactly one
        wins."""
        ...

    def rotate(self, digest: str, terms: Rotation) -> tuple[RefreshToken, Grant] | None:
        """The ordinary rotation in one atomic write: when ``terms`` admit the token
        ``digest`` and its grant (:meth:`Rotation.admits`), mark it used at ``terms.now``
        and add its next link (:meth:`Rotation.link`); the token as it was and its grant.
        ``None``, and nothing written, when they do not or a concurrent exchange used it
        first (PostgreSQL: one statement, its checks in its ``WHERE``; SQLite: the read,
        the check and :meth:`use_and_link` in the unit's transaction)."""
        ...


class LogoutQueue(Protocol):
    """Pending back-channel logout deliveries (durable: they survive a restart)."""

    def enqueue(self, delivery: LogoutDelivery) -> None: ...

    def claim_due(self, now: float, limit: int, lease_seconds: int) -> list[LogoutDelivery]:
        """Deliveries due at ``now``, leased to the caller (their ``next_attempt_at``
        moves ``lease_seconds`` ahead so another worker does not take them meanwhile)."""
        ...

    def complete(self, delivery_id: str) -> None:
        """Remove a delivery (delivered, or given up)."""
        ...

    def reschedule(self, delivery_id: str, attempts: int, next_attempt_at: float) -> None: ...


@dataclass(frozen=True)
class PolicyDocumentRecord:
    """One version of the admin rule documents (``policies.documents``), as applied.

    Versions count up from 1 and are never changed or deleted: a rollback applies an old
    text again as a new version. Exactly one version is ``active`` once any was applied
    (before that, the document shipped in ``policies/default.toml`` is in force).
    ``author`` is an admin's subject digest, or ``cli``.
    """

    version: int
    text: str
    sha256: str
    author: str
    created_at: float
    comment: str = ""
    active: bool = False
    applied_at: float | None = None


class PolicyDocumentRepository(Protocol):
    """Versioned rule documents (``policy_documents``)."""

    def apply(
        self, text: str, sha256: str, author: str, comment: str, at: float
    ) -> PolicyDocumentRecord:
        """Insert ``text`` as the next version and make it the only active one.
        Example: ``UPDATE … SET active = false; INSERT … (max(version) + 1, active)``."""
        ...

    def get(self, version: int) -> PolicyDocumentRecord | None: ...

    def active(self) -> PolicyDocumentRecord | None:
        """The version in force, or ``None`` when none was ever applied."""
        ...

    def active_version(self) -> int | None:
        """Just the active version number (a cheap check for caches)."""
        ...

    def history(self, limit: int = 100) -> list[PolicyDocumentRecord]:
        """The newest versions first."""
        ...


class AdminQueries(Protocol):
    """Read models for the admin side: consent search, recent and live grants, subjects."""

    def consents(
        self,
        *,
        client_id: str | None = None,
        subject_id: str | None = None,
        include_revoked: bool = False,
        limit: int = 100,
    ) -> list[Consent]:
        """Consent records, newest first. Example: ``SELECT … ORDER BY granted_at DESC``."""
        ...

    def consent(self, consent_id: str) -> Consent | None: ...

    def grants(
        self, *, since: float | None = None, client_id: str | None = None, limit: int = 500
    ) -> list[Grant]:
        """Live (not revoked) grants, newest first, created at or after ``since``."""
        ...

    def subject_ids(self, after: str | None = None, limit: int = 1000) -> list[str]:
        """Subject ids in id order after ``after`` (keyset pages, for digest lookups)."""
        ...


class UnitOfWork(Protocol):
    """One durable transaction: repositories share it; the use case commits once.

    Example::

        with services.uow() as uow:
            uow.clients.add(client)
            uow.audit.append(now, "client.added", {"client_id": client.client_id})
            uow.commit()

    Leaving the block without ``commit()`` rolls back.
    """

    clients: ClientRepository
    keys: KeyRepository
    audit: AuditRepository
    invites: AdminInviteRepository
    data_keys: DataKeyRepository
    sealed: SealedRecords
    subjects: SubjectRepository
    consents: ConsentRepository
    grants: GrantRepository
    refresh_tokens: RefreshTokenRepository
    logout_queue: LogoutQueue
    policies: PolicyDocumentRepository
    admin_queries: AdminQueries
    credentials: CredentialRepository
    schools: SchoolRepository
    rosters: RosterRepository
    guardianships: GuardianshipRepository
    guardian_consents: GuardianConsentRepository
    person_index: PersonIndex
    """Schools, rosters, guardianships and pupils' SNILS index: ``gateway.core.children``."""
    applications: ApplicationRepository
    """Link applications, their documents and decisions: ``gateway.core.applications``."""

    def commit(self) -> None: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False, atomic_statements: bool = False) -> UnitOfWork:
        """A new unit of work. ``read_only=True`` for pure reads that may run while another
        unit of work is open in the same thread (caches reloading inside a use case): on
        SQLite it takes no write lock, so it never waits for the outer transaction.
        ``atomic_statements=True`` for a unit whose only write is one repository call
        that is atomic by itself (:meth:`RefreshTokenRepository.use_and_link`): where the
        database allows, its statements run without a transaction around them (no
        ``BEGIN``/``COMMIT`` round trips); call ``commit()`` all the same."""
        ...
