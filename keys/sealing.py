"""Sealing of personal data and secrets at rest: an AES-GCM key ring under a KEK.

Why (SECURITY.md T99, R9; ASVS 6.1.1, 6.4.1): a dump of the database or a backup must not
reveal SNILS, document numbers, phone numbers, TOTP seeds or private signing keys, and the
data-encryption key must be rotatable without downtime.

Envelope scheme
    * **Data keys**: random 256-bit AES-GCM keys, stored in the durable store
      (``uow.data_keys``), each *wrapped* by the key-encryption key (KEK), which lives
      outside the database (environment or file, ``[secrets] key_encryption_key``).
    * **Wrapping**: AES-256-GCM under the KEK with a fresh random 96-bit nonce and the data
      key's id bound as associated data, so a wrapped key cannot be moved to another id.
      Wrapped form: ``0x01 || nonce(12) || ciphertext(32) || tag(16)``. AES-GCM rather than
      AES-KW (RFC 3394) for the AAD binding and because the wrong-KEK check then comes for
      free from the tag.
    * **Key ring**: the newest data key seals, every data key opens (Ory Hydra's "new key
      first, old keys kept for decryption"); :meth:`AesGcmSealer.reseal` moves everything
      to the newest key after a rotation.

Sealed format (version 1), self-describing so any process can pick the right key::

    offset 0      1 byte    version = 0x01
    offset 1      1 byte    L = length of the data key id (1..255)
    offset 2      L bytes   data key id (ASCII)
    offset 2+L    12 bytes  nonce (random, 96 bits)
    offset 14+L   ...       AES-256-GCM ciphertext || 16-byte tag

    associated data = bytes[0 : 2+L] || context (UTF-8)

The header is authenticated and the caller's ``context`` (e.g. ``"subject:snils:<id>"``,
``"signing_key:<kid>"``) is bound as associated data: a value copied to another row or
field does not open there.

Nonces are random 96-bit values, the construction of NIST SP 800-38D §8.2.2; the same
section limits one key to 2^32 such invocations, far above what one data key seals
between rotations here. Rotate the data key (``vhod keys rotate-data-key``) at least
yearly.

Other processes: each process keeps the ring in memory. On an unknown key id it reloads
the ring from the store once (another process may have rotated); the ring is also
refreshed every ``refresh_seconds`` so that a rotation made by the CLI is picked up for
sealing without a restart.

Blind index (:meth:`AesGcmSealer.blind_index`): HMAC-SHA256 under a separate key,
domain-separated by purpose. Normalisation (spaces, hyphens, case) is the caller's job and
must be identical on write and on lookup.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.config.devsecrets import secret_bytes
from gateway.config.schema import SecretSettings
from gateway.core.errors import GatewayError
from gateway.core.ids import keyed_digest
from gateway.core.ports import Clock
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.types import DataKey

SEALED_VERSION = 1
"""Version byte of the sealed format above."""

_WRAP_VERSION = 1
_NONCE_BYTES = 12
_KEY_BYTES = 32
_TAG_BYTES = 16
_MIN_SECRET_BYTES = 16
_KEK_HKDF_INFO = b"vhod/key-encryption-key/v1"
_WRAP_AAD_LABEL = b"vhod/data-key/v1\x00"
_DEFAULT_REFRESH_SECONDS = 30.0

KEK_MISMATCH = "the key-encryption key does not open the stored data keys"


class SealingError(GatewayError):
    """A value cannot be sealed or opened: wrong key-encryption key, unknown data key,
    malformed or tampered value, or a context that does not match.

    The message never contains the plaintext or key material.
    """


def derive_kek(material: bytes) -> bytes:
    """The 256-bit AES key used to wrap data keys, from the configured KEK material.

    Exactly 32 bytes are used as they are. Anything else of at least 16 bytes (a
    passphrase, a 16- or 64-byte key) goes through HKDF-SHA256 (RFC 5869) with a fixed
    ``info`` label, which spreads its entropy over 32 bytes; it adds no strength, so a
    short passphrase stays weak. Shorter material is refused.

    :raises SealingError: fewer than 16 bytes.
    """
    if len(material) < _MIN_SECRET_BYTES:
        raise SealingError(
            f"the key-encryption key must have at least {_MIN_SECRET_BYTES} bytes "
            f"(32 random bytes, base64url, recommended); got {len(material)}"
        )
    if len(material) == _KEY_BYTES:
        return material
    hkdf = HKDF(algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=None, info=_KEK_HKDF_INFO)
    return hkdf.derive(material)


def sealed_key_id(sealed: bytes) -> str:
    """The id of the data key that sealed ``sealed`` (read from the header, not verified).

    :raises SealingError: not a version-1 sealed value.
    """
    return _parse(sealed).key_id


@dataclass(frozen=True)
class _Parsed:
    key_id: str
    header: bytes
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class _Ring:
    """The unwrapped data keys of one load, oldest first; the last one seals."""

    keys: Mapping[str, AESGCM]
    order: tuple[str, ...]
    loaded_at: float

    @property
    def newest(self) -> str:
        return self.order[-1]


class AesGcmSealer:
    """The :class:`gateway.core.ports.Sealer` of vhod: AES-256-GCM key ring under a KEK.

    Build it with :meth:`load` (or :meth:`from_settings`), never with the constructor:
    loading checks the KEK against the stored data keys and fails fast at startup.

    Thread-safe: the ring is an immutable snapshot replaced under a lock.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        kek: bytes,
        blind_index_key: bytes,
        clock: Clock,
        refresh_seconds: float,
    ) -> None:
        if len(blind_index_key) < _MIN_SECRET_BYTES:
            raise SealingError(
                f"the blind-index key must have at least {_MIN_SECRET_BYTES} bytes; "
                f"got {len(blind_index_key)}"
            )
        if secrets.compare_digest(kek, blind_index_key):
            raise SealingError("the blind-index key must differ from the key-encryption key")
        self._uow_factory = uow_factory
        self._kek = AESGCM(derive_kek(kek))
        self._blind_index_key = blind_index_key
        self._clock = clock
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._ring: _Ring | None = None

    @classmethod
    def load(
        cls,
        uow_factory: UnitOfWorkFactory,
        kek: bytes,
        blind_index_key: bytes,
        clock: Clock,
        *,
        refresh_seconds: float = _DEFAULT_REFRESH_SECONDS,
    ) -> AesGcmSealer:
        """Load the key ring, creating the first data key when the store has none.

        :param kek: key-encryption key material (``secret_bytes(...)``), ≥ 16 bytes.
        :param blind_index_key: key of :meth:`blind_index`, ≥ 16 bytes, not the KEK.
        :param refresh_seconds: how old the in-memory ring may get before :meth:`seal`
            reloads it (picks up a rotation done by another process).
        :raises SealingError: :data:`KEK_MISMATCH` when the KEK does not open the stored
            data keys, or unusable key material.
        """
        sealer = cls(uow_factory, kek, blind_index_key, clock, refresh_seconds)
        with uow_factory() as uow:
            stored = uow.data_keys.list()
            if not stored:
                uow.data_keys.add(sealer._new_data_key())
                uow.commit()
        sealer._reload()
        return sealer

    @classmethod
    def from_settings(
        cls,
        uow_factory: UnitOfWorkFactory,
        settings: SecretSettings,
        clock: Clock,
        *,
        refresh_seconds: float = _DEFAULT_REFRESH_SECONDS,
    ) -> AesGcmSealer:
        """:meth:`load` with ``key_encryption_key`` and ``blind_index_key`` from config
        (decoded by :func:`gateway.config.devsecrets.secret_bytes`).

        :raises SealingError: a secret is missing or unusable, or the KEK is wrong.
        """
        try:
            kek = secret_bytes(settings.key_encryption_key, "key_encryption_key")
            bik = secret_bytes(settings.blind_index_key, "blind_index_key")
        except ValueError as exc:
            raise SealingError(str(exc)) from None
        return cls.load(uow_factory, kek, bik, clock, refresh_seconds=refresh_seconds)

    # ----------------------------------------------------------------------- Sealer port

    def seal(self, plaintext: bytes, context: str) -> bytes:
        """Encrypt ``plaintext`` under the newest data key, binding ``context``.

        :param context: where the value lives (``"<table>:<field>:<row id>"``); the same
            string must be given to :meth:`open`. Must not be empty.
        """
        ring = self._fresh_ring()
        return self._seal_with(ring, ring.newest, plaintext, context)

    def open(self, sealed: bytes, context: str) -> bytes:
        """Decrypt a value sealed under any data key of the ring.

        :raises SealingError: malformed or tampered value, wrong ``context``, or a data key
            that is unknown even after reloading the ring from the store.
        """
        parsed = _parse(sealed)
        aad = parsed.header + _context_bytes(context)
        aead = self._key(parsed.key_id)
        try:
            return aead.decrypt(parsed.nonce, parsed.ciphertext, aad)
        except InvalidTag:
            raise SealingError(
                "the sealed value does not authenticate: it was altered, or belongs to "
                "another context"
            ) from None

    def blind_index(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 of ``value`` under the blind-index key, domain-separated by
        ``purpose``; 64 hex characters.

        The caller normalises ``value`` (e.g. SNILS digits only) identically on write and
        on lookup; this method hashes exactly what it is given. Distinct purposes
        (``"snils"``, ``"birth_certificate"``) give unrelated digests for the same value,
        so one index cannot be joined with another.

        :raises ValueError: an empty purpose, or one containing NUL (the separator).
        """
        if not purpose or "\x00" in purpose:
            raise ValueError("a blind-index purpose must be non-empty and contain no NUL")
        return keyed_digest(self._blind_index_key, f"blind-index:{purpose}", value)

    # ----------------------------------------------------------------------- operations

    def rotate_data_key(self) -> str:
        """Add a new data key to the store; from now on it seals. Returns its id.

        Old keys stay and keep opening; run :meth:`reseal` to move stored values to the
        new key (SECURITY.md R9). Other processes start sealing under the new key within
        ``refresh_seconds``.
        """
        with self._uow_factory() as uow:
            latest = max((k.created_at for k in uow.data_keys.list()), default=None)
            key = self._new_data_key(after=latest)
            uow.data_keys.add(key)
            uow.commit()
        self._reload()
        return key.key_id

    def reseal(self) -> int:
        """Re-seal every stored sealed value under the newest data key, in one transaction.

        Values already under the newest key (and empty values, which hold nothing) are
        left as they are. Returns how many values changed.

        :raises SealingError: a stored value does not open (tampered or wrong context).
        """
        ring = self._reload()
        newest = ring.newest

        def transform(value: bytes, context: str) -> bytes:
            if not value or _parse(value).key_id == newest:
                return value
            return self._seal_with(ring, newest, self.open(value, context), context)

        with self._uow_factory() as uow:
            changed = uow.sealed.reseal_all(transform)
            uow.commit()
        return changed

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Ids of the data keys this process knows, oldest first; the last one seals."""
        return self._current_ring().order

    # ----------------------------------------------------------------------- internals

    def _new_data_key(self, after: float | None = None) -> DataKey:
        """A fresh wrapped data key. ``created_at`` orders the ring, so it is kept after
        ``after`` (the newest stored key) even if this host's clock lags another's."""
        key_id = secrets.token_hex(8)
        created_at = self._clock.now()
        if after is not None and created_at <= after:
            created_at = after + 0.001
        return DataKey(
            key_id=key_id,
            wrapped=self._wrap(key_id, AESGCM.generate_key(bit_length=256)),
            created_at=created_at,
        )

    def _wrap(self, key_id: str, data_key: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return (
            bytes([_WRAP_VERSION])
            + nonce
            + self._kek.encrypt(nonce, data_key, _WRAP_AAD_LABEL + key_id.encode("ascii"))
        )

    def _unwrap(self, key: DataKey) -> AESGCM:
        wrapped = key.wrapped
        if len(wrapped) != 1 + _NONCE_BYTES + _KEY_BYTES + _TAG_BYTES or wrapped[0] != 1:
            raise SealingError(f"data key {key.key_id!r} is not a wrapped key of version 1")
        nonce = wrapped[1 : 1 + _NONCE_BYTES]
        aad = _WRAP_AAD_LABEL + key.key_id.encode("ascii")
        try:
            return AESGCM(self._kek.decrypt(nonce, wrapped[1 + _NONCE_BYTES :], aad))
        except InvalidTag:
            raise SealingError(KEK_MISMATCH) from None

    def _reload(self) -> _Ring:
        with self._lock:
            with self._uow_factory(read_only=True) as uow:
                stored = uow.data_keys.list()
            if not stored:
                raise SealingError("the store holds no data keys")
            ordered = sorted(stored, key=lambda k: k.created_at)
            ring = _Ring(
                keys={k.key_id: self._unwrap(k) for k in ordered},
                order=tuple(k.key_id for k in ordered),
                loaded_at=self._clock.now(),
            )
            self._ring = ring
            return ring

    def _current_ring(self) -> _Ring:
        ring = self._ring
        return ring if ring is not None else self._reload()

    def _fresh_ring(self) -> _Ring:
        ring = self._current_ring()
        age = self._clock.now() - ring.loaded_at
        if age >= self._refresh_seconds or age < 0:
            ring = self._reload()
        return ring

    def _key(self, key_id: str) -> AESGCM:
        aead = self._current_ring().keys.get(key_id)
        if aead is None:
            aead = self._reload().keys.get(key_id)
        if aead is None:
            raise SealingError(f"the value was sealed under an unknown data key {key_id!r}")
        return aead

    def _seal_with(self, ring: _Ring, key_id: str, plaintext: bytes, context: str) -> bytes:
        raw_id = key_id.encode("ascii")
        header = bytes([SEALED_VERSION, len(raw_id)]) + raw_id
        nonce = os.urandom(_NONCE_BYTES)
        aad = header + _context_bytes(context)
        return header + nonce + ring.keys[key_id].encrypt(nonce, plaintext, aad)


def _context_bytes(context: str) -> bytes:
    if not context:
        raise SealingError("a sealing context must not be empty")
    return context.encode("utf-8")


def _parse(sealed: bytes) -> _Parsed:
    if len(sealed) < 2 or sealed[0] != SEALED_VERSION:
        raise SealingError("not a sealed value of a known version")
    id_len = sealed[1]
    body = 2 + id_len
    if id_len == 0 or len(sealed) < body + _NONCE_BYTES + _TAG_BYTES:
        raise SealingError("the sealed value is truncated")
    try:
        key_id = sealed[2:body].decode("ascii")
    except UnicodeDecodeError:
        raise SealingError("the sealed value has a malformed key id") from None
    return _Parsed(
        key_id=key_id,
        header=sealed[:body],
        nonce=sealed[body : body + _NONCE_BYTES],
        ciphertext=sealed[body + _NONCE_BYTES :],
    )
