"""Signing keys: lifecycle, rotation, the JWKS view and per-process caching.

Lifecycle (DESIGN.md "Tokens"; SECURITY.md R8)::

    (created) ──▶ next ──rotate──▶ active ──rotate──▶ retired ──keep window ends──▶ (unpublished)
                   │                  │                  │
                 in JWKS       in JWKS, signs      in JWKS, verifies only

* ``next`` is published in the JWKS before it signs anything, so relying parties that
  cache the JWKS already know it when a rotation switches signing to it (R8: "publish the
  new key in JWKS first"; conformance ``oidcc-server-rotate-keys``).
* ``retired`` keys stay published for ``KeySettings.retired_keep_seconds`` plus the cache
  TTL below (other workers may sign with a just-retired key until their cache expires), so
  every token signed with them keeps verifying (OIDC Core §10.1.1: the JWK Set "SHOULD
  retain recently decommissioned signing keys for a reasonable period of time").
* After that window a retired key is no longer in the JWKS and :meth:`KeyManager.verification_key`
  no longer returns it (R9: old-key material is rejected). Its row stays, state
  ``retired``, as history for ``vhod keys list`` and the audit trail; the port has no delete
  and nothing needs one.
* The private half of a key is destroyed when it is retired (``sealed_private_jwk`` set to
  ``b""``): a retired key never signs again, so keeping it would only widen what a future
  database-plus-KEK compromise could forge. :meth:`AesGcmSealer.reseal` passes such empty
  values through unchanged.

One ``active`` and one ``next`` key per algorithm (``RS256``, ``ES256``). ``kid`` is the
RFC 7638 thumbprint. Private JWKs are sealed with the :class:`Sealer` port under the context
``signing_key:<kid>``.

Caching: each process keeps a snapshot of the key table for ``cache_ttl_seconds`` (30 s by
default), so every gunicorn worker follows a rotation made by ``vhod keys rotate`` in
another process within that time. An unknown ``kid`` makes the process reload at once
(R8: "every node refreshes its key cache on an unknown kid"), at most once per
``unknown_kid_refresh_seconds`` so that tokens with made-up ``kid`` values cannot turn
into a database query each.

Concurrency: if two processes create keys at the same moment (first start of several
workers), an algorithm may briefly have two ``active`` or two ``next`` keys. Every process
then picks the same one (latest activation, then creation time, then ``kid``), all of
them stay published, and the next :meth:`KeyManager.ensure_keys` or
:meth:`KeyManager.rotate` retires the extras.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

from gateway.config.schema import KeySettings
from gateway.core.errors import GatewayError
from gateway.core.ports import Clock
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWork
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.types import KeyChange
from gateway.core.types import KeyChanges
from gateway.core.types import KeyInfo
from gateway.core.types import KeyState
from gateway.core.types import SigningKey
from keys.generate import SUPPORTED_ALGS
from keys.generate import generate_private_jwk
from keys.jwks import PrivateKey
from keys.jwks import PublicKey
from keys.jwks import jwk_set
from keys.jwks import private_key_from_jwk
from keys.jwks import public_jwk
from keys.jwks import public_key_from_jwk
from keys.jwks import thumbprint

DEFAULT_CACHE_TTL_SECONDS = 30.0
DEFAULT_UNKNOWN_KID_REFRESH_SECONDS = 1.0

_STATE_ORDER = {KeyState.ACTIVE: 0, KeyState.NEXT: 1, KeyState.RETIRED: 2}


class SigningKeyUnavailable(GatewayError):
    """No usable active key for an algorithm (``ensure_keys`` never ran, or the stored
    private key does not match its ``kid``)."""


def sealing_context(kid: str) -> str:
    """The :class:`Sealer` context a signing key's private JWK is bound to."""
    return f"signing_key:{kid}"


class ActiveKey:
    """The key to sign with for one algorithm.

    ``private_jwk`` (a fresh dict on every access) is what Authlib/joserfc import;
    ``private_key`` is the ``cryptography`` object. Put ``kid`` in the JWS header. The
    ``repr`` never shows private material, so a stray log line cannot leak it.
    """

    __slots__ = ("_private_jwk", "_public_jwk", "alg", "kid", "private_key")

    def __init__(
        self,
        kid: str,
        alg: str,
        private_jwk: dict[str, Any],
        public_jwk: dict[str, Any],
        private_key: PrivateKey,
    ) -> None:
        self.kid = kid
        self.alg = alg
        self._private_jwk = private_jwk
        self._public_jwk = public_jwk
        self.private_key = private_key

    @property
    def private_jwk(self) -> dict[str, Any]:
        return dict(self._private_jwk)

    @property
    def public_jwk(self) -> dict[str, Any]:
        return dict(self._public_jwk)

    def __repr__(self) -> str:
        return f"ActiveKey(kid={self.kid!r}, alg={self.alg!r})"


class VerificationKey:
    """A published key to verify a signature with: the public JWK and the
    ``cryptography`` public key. Verify with ``algorithms=[key.alg]`` only."""

    __slots__ = ("_public_jwk", "alg", "kid", "public_key", "state")

    def __init__(
        self, kid: str, alg: str, state: KeyState, public_jwk: dict[str, Any], public_key: PublicKey
    ) -> None:
        self.kid = kid
        self.alg = alg
        self.state = state
        self._public_jwk = public_jwk
        self.public_key = public_key

    @property
    def public_jwk(self) -> dict[str, Any]:
        return dict(self._public_jwk)

    def __repr__(self) -> str:
        return f"VerificationKey(kid={self.kid!r}, alg={self.alg!r}, state={self.state.value!r})"


@dataclass(frozen=True)
class _Snapshot:
    records: tuple[SigningKey, ...]
    loaded_at: float


class KeyManager:
    """Signing keys for the OAuth layer, rotation for the CLI.

    :param uow_factory: opens a durable transaction (``uow.keys``).
    :param sealer: seals private JWKs (:class:`keys.sealing.AesGcmSealer`).
    :param settings: ``rsa_bits`` and ``retired_keep_seconds``.
    :param cache_ttl_seconds: how long a process trusts its snapshot of the key table.
    :param unknown_kid_refresh_seconds: minimum time between reloads forced by an
        unknown ``kid``.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        sealer: Sealer,
        clock: Clock,
        settings: KeySettings,
        *,
        cache_ttl_seconds: float = DEFAULT_CACHE_TTL_SECONDS,
        unknown_kid_refresh_seconds: float = DEFAULT_UNKNOWN_KID_REFRESH_SECONDS,
    ) -> None:
        self._uow_factory = uow_factory
        self._sealer = sealer
        self._clock = clock
        self._settings = settings
        self._cache_ttl = cache_ttl_seconds
        self._unknown_kid_refresh = unknown_kid_refresh_seconds
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._active: dict[str, ActiveKey] = {}
        self._verification: dict[str, VerificationKey] = {}
        self._jwks_json: tuple[_Snapshot, float, bytes] | None = None

    # ----------------------------------------------------------------------- lifecycle

    def ensure_keys(self) -> KeyChanges:
        """Make sure every algorithm has one ``active`` and one ``next`` key.

        On first start both are created (nothing was signed yet, so the new active key
        needs no prior publication). Extra ``active``/``next`` keys left by a concurrent
        start are retired. One transaction; nothing is written when nothing is missing.
        """
        now = self._clock.now()
        with self._uow_factory() as uow:
            records = uow.keys.list()
            changes: list[KeyChange] = []
            for alg in SUPPORTED_ALGS:
                mine = [r for r in records if r.alg == alg]
                active = _choose(mine, KeyState.ACTIVE)
                nxt = _choose(mine, KeyState.NEXT)
                if active is None:
                    if nxt is not None:
                        active = self._promote(uow, nxt, now, changes)
                        nxt = None
                    else:
                        active = self._create(uow, alg, KeyState.ACTIVE, now, changes)
                if nxt is None:
                    nxt = self._create(uow, alg, KeyState.NEXT, now, changes)
                self._retire_extras(uow, mine, {active.kid, nxt.kid}, now, changes)
            if changes:
                uow.commit()
        self._invalidate()
        return KeyChanges(at=now, changes=tuple(changes))

    def rotate(self, alg: str | None = None) -> KeyChanges:
        """Rotate one algorithm (or all): ``active → retired``, ``next → active``, a new
        ``next``. One transaction.

        The key that starts signing has been in the JWKS since it was created as ``next``;
        wait at least the relying parties' JWKS cache time between two rotations (R8). If
        an algorithm has no ``next`` key, none is promoted: a new ``next`` is created and
        published, and a later rotation switches to it (on an empty table, where nothing
        was signed yet, it creates and activates keys like :meth:`ensure_keys`). Retired
        keys leave the JWKS by time (see the module docstring), not here.

        :param alg: ``"RS256"``, ``"ES256"`` or ``None`` for both.
        :raises ValueError: an unsupported ``alg``.
        """
        algs = SUPPORTED_ALGS if alg is None else (_supported(alg),)
        now = self._clock.now()
        with self._uow_factory() as uow:
            records = uow.keys.list()
            changes: list[KeyChange] = []
            for a in algs:
                mine = [r for r in records if r.alg == a]
                nxt = _choose(mine, KeyState.NEXT)
                current = _choose(mine, KeyState.ACTIVE)
                if nxt is None and current is not None:
                    new_next = self._create(uow, a, KeyState.NEXT, now, changes)
                    self._retire_extras(uow, mine, {current.kid, new_next.kid}, now, changes)
                    continue
                if nxt is None:
                    nxt = self._create(uow, a, KeyState.NEXT, now, changes)
                for r in mine:
                    if r.state is KeyState.ACTIVE:
                        self._retire(uow, r, now, changes)
                active = self._promote(uow, nxt, now, changes)
                new_next = self._create(uow, a, KeyState.NEXT, now, changes)
                self._retire_extras(uow, mine, {active.kid, new_next.kid}, now, changes)
            uow.commit()
        self._invalidate()
        return KeyChanges(at=now, changes=tuple(changes))

    # ----------------------------------------------------------------------- read side

    def signing_key(self, alg: str) -> ActiveKey:
        """The active key of ``alg`` with its private JWK, from the process cache.

        :raises ValueError: an unsupported ``alg``.
        :raises SigningKeyUnavailable: no active key (run :meth:`ensure_keys`).
        """
        _supported(alg)
        record = _choose(self._current().records, alg=alg, state=KeyState.ACTIVE)
        if record is None:
            record = _choose(self._reload().records, alg=alg, state=KeyState.ACTIVE)
        if record is None:
            raise SigningKeyUnavailable(f"no active {alg} signing key; run ensure_keys first")
        cached = self._active.get(record.kid)
        if cached is None:
            cached = self._unseal(record)
            self._active = {record.kid: cached} | {
                k: v for k, v in self._active.items() if k != record.kid and v.alg != alg
            }
        return cached

    def public_jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The JWK Set for ``jwks_uri``: ``active``, ``next`` and retired keys within the
        keep window, public members only (SECURITY.md T2). A fresh dict on every call."""
        return self._jwk_set(self._current(), self._clock.now())

    def public_jwks_json(self) -> bytes:
        """:meth:`public_jwks` as compact JSON bytes, built once per key-table snapshot.

        The same ``bytes`` object comes back until the snapshot is reloaded (every
        ``cache_ttl_seconds``, on an unknown ``kid`` or after a rotation here) or a retired
        key's keep window ends, so a caller may key its own derived values (an ``ETag``)
        on the object's identity. The bytes depend only on the key table: every worker
        serves the same document.
        """
        snapshot = self._current()
        now = self._clock.now()
        cached = self._jwks_json
        if cached is not None and cached[0] is snapshot and now < cached[1]:
            return cached[2]
        body = json.dumps(self._jwk_set(snapshot, now), separators=(",", ":")).encode()
        ends = [u for u in map(self._published_until, snapshot.records) if u > now]
        valid_until = min((u for u in ends if u != float("inf")), default=float("inf"))
        self._jwks_json = (snapshot, valid_until, body)
        return body

    def verification_key(self, kid: str) -> VerificationKey | None:
        """The published key with this ``kid``, or ``None``.

        An unknown ``kid`` reloads the key table once (another process may have rotated;
        R8), rate-limited by ``unknown_kid_refresh_seconds``. A retired key past its keep
        window is ``None``: tokens it signed are no longer accepted.
        """
        snapshot = self._current()
        record = _find(snapshot.records, kid)
        if record is None and self._clock.now() - snapshot.loaded_at >= self._unknown_kid_refresh:
            record = _find(self._reload().records, kid)
        if record is None or self._published_until(record) <= self._clock.now():
            return None
        cached = self._verification.get(kid)
        if cached is None or cached.state is not record.state:
            jwk = json.loads(record.public_jwk)
            cached = VerificationKey(kid, record.alg, record.state, jwk, public_key_from_jwk(jwk))
            self._verification[kid] = cached
        return cached

    def list_keys(self) -> list[KeyInfo]:
        """Every stored key, read from the store now (not the cache), by algorithm and
        creation time. No private parts."""
        snapshot = self._reload()
        now = self._clock.now()
        infos: list[KeyInfo] = []
        for r in sorted(snapshot.records, key=lambda r: (r.alg, r.created_at, r.kid)):
            until = self._published_until(r)
            infos.append(
                KeyInfo(
                    kid=r.kid,
                    alg=r.alg,
                    state=r.state,
                    created_at=r.created_at,
                    activated_at=r.activated_at,
                    retired_at=r.retired_at,
                    published=until > now,
                    published_until=until if r.state is KeyState.RETIRED else None,
                )
            )
        return infos

    # ----------------------------------------------------------------------- internals

    def _jwk_set(self, snapshot: _Snapshot, now: float) -> dict[str, list[dict[str, Any]]]:
        published = sorted(
            (r for r in snapshot.records if self._published_until(r) > now),
            key=_publication_order,
        )
        return jwk_set(json.loads(r.public_jwk) for r in published)

    def _published_until(self, record: SigningKey) -> float:
        if record.state is not KeyState.RETIRED:
            return float("inf")
        retired_at = record.retired_at if record.retired_at is not None else record.created_at
        return retired_at + self._settings.retired_keep_seconds + self._cache_ttl

    def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is not None:
            age = self._clock.now() - snapshot.loaded_at
            if 0 <= age < self._cache_ttl:
                return snapshot
        return self._reload()

    def _reload(self) -> _Snapshot:
        with self._lock:
            with self._uow_factory(read_only=True) as uow:
                records = tuple(uow.keys.list())
            snapshot = _Snapshot(records=records, loaded_at=self._clock.now())
            self._snapshot = snapshot
            kids = {r.kid for r in records}
            self._verification = {k: v for k, v in self._verification.items() if k in kids}
            return snapshot

    def _invalidate(self) -> None:
        self._snapshot = None

    def _unseal(self, record: SigningKey) -> ActiveKey:
        raw = self._sealer.open(record.sealed_private_jwk, sealing_context(record.kid))
        jwk: dict[str, Any] = json.loads(raw)
        if thumbprint(jwk) != record.kid or jwk.get("alg") != record.alg:
            raise SigningKeyUnavailable(f"the stored private key of {record.kid} does not match")
        return ActiveKey(
            record.kid, record.alg, jwk, json.loads(record.public_jwk), private_key_from_jwk(jwk)
        )

    def _create(
        self, uow: UnitOfWork, alg: str, state: KeyState, now: float, changes: list[KeyChange]
    ) -> SigningKey:
        jwk = generate_private_jwk(alg, rsa_bits=self._settings.rsa_bits)
        kid = jwk["kid"]
        record = SigningKey(
            kid=kid,
            alg=alg,
            state=state,
            public_jwk=json.dumps(public_jwk(jwk), sort_keys=True, separators=(",", ":")),
            sealed_private_jwk=self._sealer.seal(
                json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode("utf-8"),
                sealing_context(kid),
            ),
            created_at=now,
            activated_at=now if state is KeyState.ACTIVE else None,
        )
        uow.keys.add(record)
        changes.append(KeyChange(kid, alg, None, state))
        return record

    @staticmethod
    def _promote(
        uow: UnitOfWork, record: SigningKey, now: float, changes: list[KeyChange]
    ) -> SigningKey:
        promoted = replace(record, state=KeyState.ACTIVE, activated_at=now)
        uow.keys.update(promoted)
        changes.append(KeyChange(record.kid, record.alg, record.state, KeyState.ACTIVE))
        return promoted

    @staticmethod
    def _retire(uow: UnitOfWork, record: SigningKey, now: float, changes: list[KeyChange]) -> None:
        retired = replace(record, state=KeyState.RETIRED, retired_at=now, sealed_private_jwk=b"")
        uow.keys.update(retired)
        changes.append(KeyChange(record.kid, record.alg, record.state, KeyState.RETIRED))

    def _retire_extras(
        self,
        uow: UnitOfWork,
        records: Iterable[SigningKey],
        keep: set[str],
        now: float,
        changes: list[KeyChange],
    ) -> None:
        done = {c.kid for c in changes if c.after is KeyState.RETIRED}
        for r in records:
            if r.state is not KeyState.RETIRED and r.kid not in keep and r.kid not in done:
                self._retire(uow, r, now, changes)


def _supported(alg: str) -> str:
    if alg not in SUPPORTED_ALGS:
        raise ValueError(f"unsupported signing algorithm {alg!r}; use one of {SUPPORTED_ALGS}")
    return alg


def _choose(
    records: Sequence[SigningKey], state: KeyState, alg: str | None = None
) -> SigningKey | None:
    """The one key every process agrees on when a race left several in ``state``."""
    candidates = [r for r in records if r.state is state and (alg is None or r.alg == alg)]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r.activated_at or 0.0, r.created_at, r.kid))


def _find(records: Sequence[SigningKey], kid: str) -> SigningKey | None:
    return next((r for r in records if r.kid == kid), None)


def _publication_order(record: SigningKey) -> tuple[int, int, float, str]:
    """Per algorithm: active, next, then retired newest first."""
    alg_index = SUPPORTED_ALGS.index(record.alg) if record.alg in SUPPORTED_ALGS else 99
    retired = -(record.retired_at or 0.0)
    return (alg_index, _STATE_ORDER[record.state], retired, record.kid)
