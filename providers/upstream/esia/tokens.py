"""Verify ESIA's JWTs: signature against a ring of ESIA certificates, then the claims.

ESIA signs its tokens with ``RS256`` or ``GOST3410_2012_256``, a per-system setting on the
technology portal (ESIA.md §3.3), so both are supported; ``[esia] token_algs`` narrows them.
The JWS signing input is the ASCII ``header_b64 + "." + payload_b64`` (§3.3):

* ``RS256``: RSASSA-PKCS1-v1_5 with SHA-256 (``cryptography``);
* ``GOST3410_2012_256``: the signature part is 64 bytes ``s‖r`` big-endian, the gost-engine
  order (§3.4, §10.3), verified by ``gost.PublicKey.verify`` (Streebog-256 of the input).

**The ring.** ESIA's signing certificates are valid about a year and rotated every spring
(§3.4), so vhod holds several: the ones valid *now* whose key type fits ``alg`` are tried
in turn, and the first that verifies wins. An expired or not-yet-valid certificate is
never used. A token that no valid certificate verifies is refused.

**Claims** (§3.3, SECURITY.md T91), after the signature:

* header ``sbt`` is ``access`` for the access token, ``id`` for the id_token (a token of one
  kind is never accepted as the other);
* ``iss`` equals ``[esia] issuer`` exactly (ESIA writes http and a trailing slash);
* ``exp`` is required and not passed, ``nbf`` (optional; missing in 2025 tokens) and
  ``iat`` are not in the future, each with ``[esia] leeway_seconds``;
* access token: ``client_id`` is ours (ESIA access tokens have **no** ``aud``) and the oid
  is ``urn:esia:sbj_id``;
* id_token: ``aud`` is ours and the oid is ``urn:esia:sbj`` → ``urn:esia:sbj:oid`` (or
  ``sub``).

No ``nonce`` is checked: ESIA's operator advised against it (AIS 1.5.0, §3.3); vhod binds
the login to its own UUID ``state`` instead.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.core.errors import UpstreamProtocolError
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from providers.upstream.esia.certificates import parse_certificate
from providers.upstream.esia.errors import ESIA_TOKEN_INVALID
from providers.upstream.esia.gost import GostError
from providers.upstream.esia.gost import PublicKey

__all__ = [
    "ALG_GOST",
    "ALG_RS256",
    "CertificateRing",
    "EsiaTokenVerifier",
    "TrustedCertificate",
    "VerifiedToken",
    "decode_unverified",
]

log = logging.getLogger(__name__)

ALG_RS256 = "RS256"
ALG_GOST = "GOST3410_2012_256"
KEY_TYPES: dict[str, Literal["rsa", "gost"]] = {ALG_RS256: "rsa", ALG_GOST: "gost"}
TokenKind = Literal["access", "id"]
MAX_TOKEN_LENGTH = 16384
BUNDLED_PREFIX = "bundled:"
BUNDLED_DIR = Path(__file__).parent / "certs"


@dataclass(frozen=True)
class TrustedCertificate:
    """One of ESIA's signing certificates, reduced to what verification needs.

    :param key_type: ``rsa`` or ``gost``.
    :param not_before: validity start, seconds since the epoch.
    :param not_after: validity end, seconds since the epoch.
    :param verify: ``verify(signing_input, signature) -> bool``.
    :param label: a short public name for logs (file name), never key material.
    """

    key_type: Literal["rsa", "gost"]
    not_before: float
    not_after: float
    verify: Callable[[bytes, bytes], bool]
    label: str

    def valid_at(self, now: float) -> bool:
        return self.not_before <= now <= self.not_after


def _rsa_verifier(key: rsa.RSAPublicKey) -> Callable[[bytes, bytes], bool]:
    def verify(signing_input: bytes, signature: bytes) -> bool:
        try:
            key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True

    return verify


def _gost_verifier(key: PublicKey) -> Callable[[bytes, bytes], bool]:
    def verify(signing_input: bytes, signature: bytes) -> bool:
        return key.verify(signing_input, signature)

    return verify


def _der(data: bytes) -> bytes:
    if b"-----BEGIN" in data:
        body = b"".join(
            line.strip()
            for line in data.splitlines()
            if line.strip() and not line.startswith(b"-----")
        )
        return base64.b64decode(body)
    return data


def load_certificate(data: bytes, label: str) -> TrustedCertificate:
    """Parse a PEM or DER certificate of ESIA (RSA or GOST R 34.10-2012 256-bit).

    :raises ValueError: when it is neither.
    """
    der = _der(data)
    gost = _parse_gost(der)
    if gost is not None:
        public, not_before, not_after = gost
        return TrustedCertificate("gost", not_before, not_after, _gost_verifier(public), label)
    try:
        cert = x509.load_der_x509_certificate(der)
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"{label}: not a certificate vhod can use ({type(exc).__name__})") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"{label}: neither an RSA nor a GOST 256-bit certificate")
    return TrustedCertificate(
        "rsa",
        cert.not_valid_before_utc.timestamp(),
        cert.not_valid_after_utc.timestamp(),
        _rsa_verifier(key),
        label,
    )


def _parse_gost(der: bytes) -> tuple[PublicKey, float, float] | None:
    """``(public key, not_before, not_after)`` of a GOST certificate, else ``None``."""
    try:
        cert = parse_certificate(der)
    except GostError:
        return None
    return cert.public_key, cert.not_before.timestamp(), cert.not_after.timestamp()


def resolve_certificate_path(entry: str) -> Path:
    """``bundled:<file>`` → the file shipped in ``certs/``; anything else is a path."""
    if entry.startswith(BUNDLED_PREFIX):
        name = entry[len(BUNDLED_PREFIX) :]
        if "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"{entry}: a bundled certificate is a bare file name")
        return BUNDLED_DIR / name
    return Path(entry)


class CertificateRing:
    """ESIA's signing certificates; the ones valid now are tried in turn."""

    def __init__(self, certificates: Sequence[TrustedCertificate]) -> None:
        self.certificates = tuple(certificates)

    @classmethod
    def from_files(cls, entries: Iterable[str]) -> CertificateRing:
        """Load every listed file (paths or ``bundled:<name>``).

        :raises ValueError: naming the entry that cannot be read or parsed.
        """
        certs = []
        for entry in entries:
            path = resolve_certificate_path(entry)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ValueError(f"{entry}: cannot read ({exc.strerror})") from exc
            certs.append(load_certificate(data, path.name))
        return cls(certs)

    def candidates(self, key_type: str, now: float) -> list[TrustedCertificate]:
        return [c for c in self.certificates if c.key_type == key_type and c.valid_at(now)]


@dataclass(frozen=True)
class VerifiedToken:
    """A verified ESIA token: its header, its claims, and the subject's oid."""

    header: dict[str, Any]
    claims: dict[str, Any]
    oid: str


def _b64url(part: str) -> bytes:
    if not part or len(part) % 4 == 1:
        raise ValueError("bad base64url length")
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("bad base64url") from exc


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Split a compact JWS: ``(header, claims, signing_input, signature)``. No checks of trust.

    :raises ValueError: when the token is not a well-formed compact JWS with JSON objects.
    """
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise ValueError("token too long or not ASCII")
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWS")
    header = json.loads(_b64url(parts[0]))
    claims = json.loads(_b64url(parts[1]))
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("header or payload is not a JSON object")
    signature = _b64url(parts[2])
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def _oid_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return value
    return None


class EsiaTokenVerifier:
    """Checks ESIA's access tokens and id_tokens (module docstring; SECURITY.md T91).

    :param ring: ESIA's certificates.
    :param issuer: the expected ``iss`` (``[esia] issuer``).
    :param client_id: vhod's mnemonic.
    :param algs: accepted ``alg`` values.
    :param leeway_seconds: clock leeway for ``exp``, ``nbf``, ``iat``.
    :param clock: wall-clock time.
    """

    def __init__(
        self,
        ring: CertificateRing,
        issuer: str,
        client_id: str,
        algs: Iterable[str],
        leeway_seconds: int,
        clock: Clock,
    ) -> None:
        self._ring = ring
        self._issuer = issuer
        self._client_id = client_id
        self._algs = frozenset(algs)
        self._leeway = leeway_seconds
        self._clock = clock

    def verify(self, token: str, kind: TokenKind) -> VerifiedToken:
        """Verify ``token`` as an ESIA ``access`` token or ``id`` token.

        :raises UpstreamProtocolError: ``esia_token_invalid``, with the failed check (and
            never the token) in ``debug``.
        """
        try:
            header, claims, signing_input, signature = decode_unverified(token)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._fail(kind, "malformed") from exc
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algs or alg not in KEY_TYPES:
            raise self._fail(kind, "alg not accepted")
        now = self._clock.now()
        candidates = self._ring.candidates(KEY_TYPES[alg], now)
        if not candidates:
            log_event(log, "esia.certificate_ring_stale", logging.ERROR, alg=alg)
            raise self._fail(kind, f"no valid {alg} certificate in the ring")
        if not any(cert.verify(signing_input, signature) for cert in candidates):
            raise self._fail(kind, "bad signature")
        if header.get("sbt") != kind:
            raise self._fail(kind, "wrong sbt")
        self._check_time(claims, now, kind)
        if claims.get("iss") != self._issuer:
            raise self._fail(kind, "wrong iss")
        if kind == "access":
            if claims.get("client_id") != self._client_id:
                raise self._fail(kind, "wrong client_id")
            oid = _oid_text(claims.get("urn:esia:sbj_id"))
        else:
            aud = claims.get("aud")
            audiences = aud if isinstance(aud, list) else [aud]
            if self._client_id not in audiences:
                raise self._fail(kind, "wrong aud")
            sbj = claims.get("urn:esia:sbj")
            oid = _oid_text(sbj.get("urn:esia:sbj:oid")) if isinstance(sbj, dict) else None
            oid = oid or _oid_text(claims.get("sub"))
        if oid is None:
            raise self._fail(kind, "no subject oid")
        return VerifiedToken(header=header, claims=claims, oid=oid)

    def _check_time(self, claims: dict[str, Any], now: float, kind: TokenKind) -> None:
        exp = _number(claims.get("exp"))
        if exp is None:
            raise self._fail(kind, "no exp")
        if now > exp + self._leeway:
            raise self._fail(kind, "expired")
        for name in ("nbf", "iat"):
            if claims.get(name) is None:
                continue
            value = _number(claims.get(name))
            if value is None:
                raise self._fail(kind, f"bad {name}")
            if value > now + self._leeway:
                raise self._fail(kind, f"{name} in the future")

    @staticmethod
    def _fail(kind: TokenKind, why: str) -> UpstreamProtocolError:
        log_event(log, "esia.token_rejected", logging.WARNING, token_kind=kind, check=why)
        return UpstreamProtocolError(ESIA_TOKEN_INVALID, f"{kind} token: {why}")


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
