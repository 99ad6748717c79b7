"""The sandbox's key material: made on first start, reused afterwards.

Under the sandbox data dir (layout shared with ``providers.upstream.esia.settings``):

* ``esia-gost.pem`` / ``esia-gost.key.pem`` — the sandbox's own GOST R 34.10-2012 signing
  certificate (CryptoPro-XchA parameters, like ESIA's real ones, ESIA.md §3.4) and key;
* ``esia-rsa.pem`` / ``esia-rsa.key.pem`` — its RSA signing certificate and key (RS256);
* ``systems/<client_id>/certificate.pem`` / ``key.pem`` — a self-signed GOST certificate and
  key for each demo system (the dev gateway's ``VHOD_DEV``), as ESIA's test environment
  accepts self-signed GOST certificates (ESIA.md §2.3).

GOST keys come from ``providers.upstream.esia.gost`` (pure Python); certificates are built
with asn1crypto using our own ASN.1 specs for the GOST key info, which asn1crypto does not
know (ESIA.md §10.1). Keys are written with mode 0600. Dev and tests only: these keys
protect nothing real.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

from asn1crypto import core
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from providers.upstream.esia.certificates import KEY_ALGORITHM_256
from providers.upstream.esia.certificates import GostCertificate
from providers.upstream.esia.certificates import parse_certificate
from providers.upstream.esia.certificates import parse_private_key
from providers.upstream.esia.gost import PrivateKey
from providers.upstream.esia.gost_curves import CRYPTOPRO_A
from providers.upstream.esia.settings import SANDBOX_GOST_CERTIFICATE
from providers.upstream.esia.settings import SANDBOX_RSA_CERTIFICATE
from providers.upstream.esia.settings import system_certificate_path
from providers.upstream.esia.settings import system_key_path

__all__ = [
    "SandboxKeys",
    "b64url",
    "ensure_system_key",
    "gost_self_signed",
    "load_or_create_keys",
    "sign_jwt",
]

XCHA_PARAM_SET = "1.2.643.2.2.36.0"
DIGEST_PARAM_SET = "1.2.643.7.1.1.2.2"
SIGN_WITH_DIGEST = "1.2.643.7.1.1.3.2"
CERT_LIFETIME = timedelta(days=3650)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


# --------------------------------------------------------------------------- ASN.1 specs


class _AlgorithmId(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [  # noqa: RUF012
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class _GostParams(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012
        ("public_key_param_set", core.ObjectIdentifier),
        ("digest_param_set", core.ObjectIdentifier, {"optional": True}),
    ]


class _Spki(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012
        ("algorithm", _AlgorithmId),
        ("public_key", core.BitString),
    ]


class _Tbs(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012
        ("version", core.Integer, {"explicit": 0}),
        ("serial_number", core.Integer),
        ("signature", _AlgorithmId),
        ("issuer", asn1_x509.Name),
        ("validity", asn1_x509.Validity),
        ("subject", asn1_x509.Name),
        ("subject_public_key_info", _Spki),
    ]


class _Certificate(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012
        ("tbs_certificate", core.Any),
        ("signature_algorithm", _AlgorithmId),
        ("signature_value", core.OctetBitString),
    ]


class _PrivateKeyInfo(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012
        ("version", core.Integer),
        ("private_key_algorithm", _AlgorithmId),
        ("private_key", core.OctetString),
    ]


def _gost_algorithm() -> _AlgorithmId:
    params = _GostParams(
        {"public_key_param_set": XCHA_PARAM_SET, "digest_param_set": DIGEST_PARAM_SET}
    )
    return _AlgorithmId(
        {"algorithm": KEY_ALGORITHM_256, "parameters": core.Any.load(params.dump())}
    )


def _bits_of(raw: bytes) -> tuple[int, ...]:
    return tuple((byte >> (7 - i)) & 1 for byte in raw for i in range(8))


def gost_self_signed(
    key: PrivateKey, common_name: str, not_before: datetime | None = None
) -> bytes:
    """A self-signed GOST R 34.10-2012 256-bit certificate (DER) for ``key``.

    Shaped like what OpenSSL gost-engine makes (RFC 4491 / RFC 9215): key algorithm
    1.2.643.7.1.1.1.1 with XchA + Streebog-256 parameters, public key BIT STRING wrapping an
    OCTET STRING of X(LE)‖Y(LE), signature algorithm 1.2.643.7.1.1.3.2, signature s‖r.
    """
    start = (not_before or datetime.now(UTC)).replace(microsecond=0) - timedelta(days=1)
    name = asn1_x509.Name.build(
        {"country_name": "RU", "organization_name": "vhod sandbox", "common_name": common_name}
    )
    public = core.OctetString(key.public_key().to_bytes()).dump()
    tbs = _Tbs(
        {
            "version": 2,
            "serial_number": secrets.randbits(63) | 1,
            "signature": _AlgorithmId({"algorithm": SIGN_WITH_DIGEST}),
            "issuer": name,
            "validity": asn1_x509.Validity(
                {
                    "not_before": asn1_x509.Time(name="utc_time", value=start),
                    "not_after": asn1_x509.Time(name="general_time", value=start + CERT_LIFETIME),
                }
            ),
            "subject": name,
            "subject_public_key_info": _Spki(
                {"algorithm": _gost_algorithm(), "public_key": _bits_of(public)}
            ),
        }
    )
    tbs_der = tbs.dump()
    cert = _Certificate(
        {
            "tbs_certificate": core.Any.load(tbs_der),
            "signature_algorithm": _AlgorithmId({"algorithm": SIGN_WITH_DIGEST}),
            "signature_value": key.sign(tbs_der),
        }
    )
    return bytes(cert.dump())


def gost_private_key_pem(d: int) -> bytes:
    """PKCS#8 PEM of a GOST scalar: the 32-byte little-endian form gost-engine writes."""
    info = _PrivateKeyInfo(
        {
            "version": 0,
            "private_key_algorithm": _gost_algorithm(),
            "private_key": d.to_bytes(32, "little"),
        }
    )
    return bytes(pem.armor("PRIVATE KEY", info.dump()))


def _new_gost_key() -> tuple[int, PrivateKey]:
    d = secrets.randbelow(CRYPTOPRO_A.q - 1) + 1
    return d, PrivateKey(CRYPTOPRO_A, d)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _write_public(path: Path, der: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(pem.armor("CERTIFICATE", der)))


def ensure_gost_pair(cert_path: Path, key_path: Path, common_name: str) -> GostCertificate:
    """Load a GOST certificate + key pair, creating both when either is missing."""
    if not (cert_path.exists() and key_path.exists()):
        d, key = _new_gost_key()
        der = gost_self_signed(key, common_name)
        _write_private(key_path, gost_private_key_pem(d))
        _write_public(cert_path, der)
    return parse_certificate(cert_path.read_bytes())


def ensure_system_key(sandbox_dir: Path, client_id: str) -> GostCertificate:
    """A demo system's certificate (and key), generated on first use."""
    return ensure_gost_pair(
        system_certificate_path(sandbox_dir, client_id),
        system_key_path(sandbox_dir, client_id),
        f"{client_id} (demo system)",
    )


def _ensure_rsa(cert_path: Path, key_path: Path) -> rsa.RSAPrivateKey:
    if cert_path.exists() and key_path.exists():
        loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{key_path.name}: not an RSA key")
        return loaded
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "RU"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vhod sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, "ESIA sandbox RSA"),
        ]
    )
    start = datetime.now(UTC) - timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + CERT_LIFETIME)
        .sign(key, hashes.SHA256())
    )
    _write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key


@dataclass
class SandboxKeys:
    """The sandbox's token-signing keys."""

    gost: PrivateKey
    rsa: rsa.RSAPrivateKey

    def sign(self, alg: str, signing_input: bytes) -> bytes:
        if alg == "RS256":
            return self.rsa.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        if alg == "GOST3410_2012_256":
            return self.gost.sign(signing_input)
        raise ValueError(f"unsupported alg {alg}")


def load_or_create_keys(sandbox_dir: Path) -> SandboxKeys:
    """The sandbox's own signing keys (GOST and RSA), created on first start."""
    sandbox_dir.mkdir(parents=True, exist_ok=True)
    gost_cert = sandbox_dir / SANDBOX_GOST_CERTIFICATE
    gost_key = sandbox_dir / "esia-gost.key.pem"
    ensure_gost_pair(gost_cert, gost_key, "ESIA sandbox GOST")
    rsa_key = _ensure_rsa(sandbox_dir / SANDBOX_RSA_CERTIFICATE, sandbox_dir / "esia-rsa.key.pem")
    return SandboxKeys(gost=parse_private_key(gost_key.read_bytes()), rsa=rsa_key)


def sign_jwt(keys: SandboxKeys, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A compact JWS with ESIA's header shape; ``header["alg"]`` picks the key (§3.3)."""
    head = b64url(json.dumps(header, separators=(",", ":")).encode("utf-8"))
    body = b64url(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    signing_input = f"{head}.{body}".encode("ascii")
    return f"{head}.{body}.{b64url(keys.sign(str(header['alg']), signing_input))}"
