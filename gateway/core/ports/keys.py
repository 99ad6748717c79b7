"""Key ports: sealing (and its data-key ring) and signing keys (``keys`` implements them)."""

from __future__ import annotations

from typing import Any
from typing import Protocol

from gateway.core.types import KeyChanges
from gateway.core.types import KeyInfo


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

    def public_jwks_json(self) -> bytes:
        """:meth:`public_jwks` as compact JSON; the same object while the keys are unchanged."""
        ...


class KeyManagement(KeySource, Protocol):
    """Signing keys for the admin side and the CLI as well: list and rotate."""

    def list_keys(self) -> list[KeyInfo]:
        """Every stored key, never its private parts."""
        ...

    def rotate(self, alg: str | None = None) -> KeyChanges:
        """``next → active → retired`` and a new ``next`` (one algorithm, or all)."""
        ...
