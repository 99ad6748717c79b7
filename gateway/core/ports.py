"""Ports: the interfaces the use cases depend on. Implementations live in sibling packages
(``gateway.store``, ``keys``, ``providers``, ``policies``) and are wired by ``gateway.compose``.

Each port is small (2–6 methods) and named after what it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from typing import Protocol
from typing import TypeVar

from gateway.core.factors import CredentialRepository
from gateway.core.types import AdminInvite
from gateway.core.types import AuditEvent
from gateway.core.types import Client
from gateway.core.types import Consent
from gateway.core.types import DataKey
from gateway.core.types import Grant
from gateway.core.types import KeyChanges
from gateway.core.types import KeyInfo
from gateway.core.types import KeyState
from gateway.core.types import LogoutDelivery
from gateway.core.types import RefreshToken
from gateway.core.types import SigningKey
from gateway.core.types import SsoSession
from gateway.core.types import Subject
from gateway.core.types import UpstreamIdentity


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch. Example: ``return time.time()``."""
        ...


class EphemeralStore(Protocol):
    """Short-lived state: namespaced keys, a TTL on every write.

    Backends: Redis (production), SQL (embedded default), memory (unit tests only). Any
    backend failure raises :class:`gateway.core.errors.StoreUnavailable`.
    """

    def put(self, namespace: str, key: str, value: bytes, ttl_seconds: int) -> None:
        """Store ``value``, replacing any previous one, for ``ttl_seconds`` (> 0)."""
        ...

    def get(self, namespace: str, key: str) -> bytes | None:
        """The value, or ``None`` when absent, expired or consumed."""
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


class Sealer(Protocol):
    """Authenticated encryption of personal data and secrets at rest (AES-GCM key ring)."""

    def seal(self, plaintext: bytes, context: str) -> bytes:
        """Encrypt under the newest data key; ``context`` is bound as associated data."""
        ...

    def open(self, sealed: bytes, context: str) -> bytes:
        """Decrypt with whichever key of the ring sealed it; raises on tampering."""
        ...

    def blind_index(self, purpose: str, value: str) -> str:
        """Keyed HMAC of a normalised identifier, for equality lookups (SNILS...)."""
        ...


class DataKeyRing(Protocol):
    """Operating the sealer's key ring (``vhod keys rotate-data-key`` / ``reseal``)."""

    def rotate_data_key(self) -> str:
        """Add a new data key that seals from now on; returns its id."""
        ...

    def reseal(self) -> int:
        """Re-seal every stored value under the newest data key; returns how many changed."""
        ...


class KeyIdentity(Protocol):
    """A signing key's ``kid`` (RFC 7638 thumbprint) and algorithm."""

    @property
    def kid(self) -> str: ...

    @property
    def alg(self) -> str: ...


class SigningKeyMaterial(KeyIdentity, Protocol):
    """The active key of one algorithm (its ``repr`` never shows private material)."""

    @property
    def private_key(self) -> Any:
        """The ``cryptography`` private key object."""
        ...


class PublishedKey(KeyIdentity, Protocol):
    """A key in the JWKS, to verify a signature with (``algorithms=[key.alg]`` only)."""

    @property
    def public_key(self) -> Any:
        """The ``cryptography`` public key object."""
        ...


class KeySource(Protocol):
    """Signing keys as the OAuth layer uses them (``keys.manager.KeyManager``)."""

    def signing_key(self, alg: str) -> SigningKeyMaterial:
        """The active key of ``alg``; raises when there is none."""
        ...

    def verification_key(self, kid: str) -> PublishedKey | None:
        """A published key by ``kid`` (``next``, ``active`` or kept ``retired``)."""
        ...

    def public_jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The JWKS document: every published key, public parts only."""
        ...


class KeyManagement(KeySource, Protocol):
    """Signing keys for the admin side and the CLI as well: list and rotate."""

    def list_keys(self) -> list[KeyInfo]:
        """Every stored key, never its private parts."""
        ...

    def rotate(self, alg: str | None = None) -> KeyChanges:
        """``next → active → retired`` and a new ``next`` (one algorithm, or all)."""
        ...


ContextT = TypeVar("ContextT", contravariant=True)
DecisionT = TypeVar("DecisionT", covariant=True)


class PolicyStep(Protocol[ContextT, DecisionT]):
    """One step of a policy engine (``policies.engine``: ``PolicyStep[PolicyContext,
    Decision]``): a built-in named check, or the step applying the admin rule documents."""

    @property
    def reason(self) -> str:
        """The stable reason code (distinct among an engine's steps)."""
        ...

    @property
    def description(self) -> str:
        """What the step is for (English, for admins and ``explain``)."""
        ...

    @property
    def version(self) -> str | None:
        """The version of the rules the step applies (recorded with consents), ``None``
        for a built-in check."""
        ...

    def evaluate(self, ctx: ContextT) -> DecisionT | None:
        """The decision when the step fires, else ``None``."""
        ...


class Disposable(Protocol):
    """A process-wide resource the composition root owns (the SQL engine's pool)."""

    def dispose(self) -> None:
        """Close it (at process exit, or before ``vhod serve`` forks its workers)."""
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


class GrantRevoker(Protocol):
    """Makes the access tokens of a grant stop working at once (SECURITY.md T97).

    The caller first revokes the grants durably (``uow.grants.revoke_where``) in the same
    transaction as its own change (e.g. a withdrawn consent), so refresh tokens die with
    it; then it calls this for each revoked grant id. ``gateway.oauth``'s
    ``TokenService`` implements it.
    """

    def mark_grant_revoked(self, grant_id: str) -> None:
        """Example: ``store.put("revoked_grant", grant_id, b"1", ttl)``."""
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

    def use(self, digest: str, at: float) -> RefreshToken | None:
        """Atomically mark an unused token used and return it (conditional ``UPDATE …
        RETURNING``); ``None`` when it does not exist or was used already."""
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

    def commit(self) -> None: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work. ``read_only=True`` for pure reads that may run while another
        unit of work is open in the same thread (caches reloading inside a use case): on
        SQLite it takes no write lock, so it never waits for the outer transaction."""
        ...


class UpstreamProvider(Protocol):
    """An upstream identity provider (ESIA, or ``FakeUpstream`` in tests and dev).

    The journey sends the browser to :meth:`authorization_url` and later hands the
    callback's query parameters to :meth:`complete`. One fixed callback URI per provider
    (``/login/callback/<name>``) so that it can be registered upstream; the journey is
    found again through ``state``.
    """

    name: str

    def authorization_url(self, state: str, scopes: tuple[str, ...], redirect_uri: str) -> str:
        """Where to send the browser. Example: ``return f"{base}/ac?state={state}"``."""
        ...

    def complete(
        self,
        params: dict[str, str],
        expected_state: str,
        redirect_uri: str,
        scopes: tuple[str, ...],
    ) -> UpstreamIdentity:
        """Exchange the callback for the person; raise ``UpstreamDenied`` /
        ``UpstreamUnavailable`` / ``UpstreamProtocolError``. ``scopes``: the same client
        scopes as given to :meth:`authorization_url` for this ``state`` (an upstream that
        derives its own scopes from them derives the same again; nothing is kept between
        the two calls)."""
        ...

    def logout_url(self, post_logout_redirect_uri: str) -> str | None:
        """Where to end the upstream session too, or ``None``."""
        ...


class SsoSessions(Protocol):
    """Server-side SSO sessions (idle and absolute timeouts; cookie handled by HTTP)."""

    def current(self, cookie_value: str | None) -> SsoSession | None:
        """The live session the cookie names, touching its idle timer; else ``None``."""
        ...

    def add_client(self, sid: str, client_id: str) -> None:
        """Remember that ``client_id`` received tokens in session ``sid``."""
        ...

    def end(self, sid: str) -> SsoSession | None:
        """End the session; return what it was (for back-channel logout), if it lived."""
        ...


class ClaimsSource(Protocol):
    """Personal claims of a subject, limited to what ``scopes`` allow (userinfo, id_token)."""

    def claims(self, subject_id: str, scopes: tuple[str, ...]) -> dict[str, Any]:
        """Example: ``return {"given_name": "Иван"} if "profile" in scopes else {}``."""
        ...
