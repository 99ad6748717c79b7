"""GOST X.509 certificates and PKCS#8 private keys, as CryptoPro, the Russian CAs and OpenSSL
gost-engine write them.

Formats: RFC 4491 (GOST keys in X.509: algorithm 1.2.643.7.1.1.1.1, parameters
``SEQUENCE { publicKeyParamSet OID, digestParamSet OID OPTIONAL }``, public key a BIT STRING
wrapping an OCTET STRING of 64 bytes X(LE) || Y(LE)) and RFC 9215 §4-5 (the same for
GOST R 34.10-2012).

Why not ``asn1crypto.keys`` here: asn1crypto does not know the GOST key algorithm OIDs and
raises ``KeyError`` as soon as ``subject_public_key_info['algorithm']`` or a PKCS#8
``private_key_algorithm`` is touched. We still let asn1crypto parse the certificate (names,
validity, serial, extensions work) and read the two GOST structures with our own small specs.

``client_certificate_hash`` (ESIA v2 authorize requests): Streebog-256 over the DER of the
client's certificate, as upper-case hex in the ordinary output order of the hash libraries
(OpenSSL gost-engine, BouncyCastle, ``gostcrypto.hexdigest()``), not the reversed order in
which the standard prints its examples.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from asn1crypto import core
from asn1crypto import pem
from asn1crypto import x509

from providers.upstream.esia.gost import GostError
from providers.upstream.esia.gost import PrivateKey
from providers.upstream.esia.gost import PublicKey
from providers.upstream.esia.gost_curves import PARAM_SET_NAMES
from providers.upstream.esia.gost_curves import curve_for_oid
from providers.upstream.esia.streebog import streebog256

__all__ = [
    "GOST_SIGNATURE_ALGORITHMS",
    "KEY_ALGORITHM_256",
    "GostCertificate",
    "client_certificate_hash",
    "parse_certificate",
    "parse_private_key",
]

#: id-tc26-gost3410-12-256, the key algorithm of 256-bit GOST R 34.10-2012 keys.
KEY_ALGORITHM_256 = "1.2.643.7.1.1.1.1"
#: Signature algorithm OIDs accepted on certificates and CMS: "signwithdigest" (what X.509
#: certificates carry) and the bare key OID (what CMS SignerInfos often carry).
GOST_SIGNATURE_ALGORITHMS = frozenset({"1.2.643.7.1.1.3.2", KEY_ALGORITHM_256})

_UNSUPPORTED_KEYS = {
    "1.2.643.7.1.1.1.2": "512-bit GOST R 34.10-2012 keys are not supported (ESIA uses 256-bit)",
    "1.2.643.2.2.19": "GOST R 34.10-2001 keys are no longer accepted by ESIA; use a 2012 key",
}

# Short names for DN attributes, as OpenSSL prints them; Russian ones from the FNS/CA
# profiles (Приказ ФСБ № 795: OGRN, SNILS, INN, INNLE, OGRNIP).
_DN_SHORT = {
    "2.5.4.3": "CN",
    "2.5.4.4": "SN",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.9": "street",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "title",
    "2.5.4.42": "GN",
    "1.2.840.113549.1.9.1": "emailAddress",
    "1.2.643.100.1": "OGRN",
    "1.2.643.100.3": "SNILS",
    "1.2.643.100.4": "INNLE",
    "1.2.643.100.5": "OGRNIP",
    "1.2.643.3.131.1.1": "INN",
}


# --------------------------------------------------------------------------- ASN.1 specs


class _GostKeyParameters(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """GostR3410-2012-PublicKeyParameters (RFC 9215 §4): param set, optional digest set."""

    _fields = [  # noqa: RUF012 -- asn1crypto's declaration style
        ("public_key_param_set", core.ObjectIdentifier),
        ("digest_param_set", core.ObjectIdentifier, {"optional": True}),
        ("encryption_param_set", core.ObjectIdentifier, {"optional": True}),
    ]


class _GostAlgorithm(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [  # noqa: RUF012
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class _GostPublicKeyInfo(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [  # noqa: RUF012
        ("algorithm", _GostAlgorithm),
        ("public_key", core.BitString),
    ]


class _SignedEnvelope(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """Certificate ::= SEQUENCE { tbs, signatureAlgorithm, signatureValue }, tbs kept raw.

    Re-serialising asn1crypto's parsed TBSCertificate would make it parse the GOST public
    key info (and fail); reading it as ``Any`` keeps the exact signed bytes.
    """

    _fields = [  # noqa: RUF012
        ("tbs", core.Any),
        ("signature_algorithm", _GostAlgorithm),
        ("signature_value", core.OctetBitString),
    ]


class _GostPrivateKeyInfo(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """PKCS#8 PrivateKeyInfo (RFC 5208 §5) with the GOST algorithm identifier."""

    _fields = [  # noqa: RUF012
        ("version", core.Integer),
        ("private_key_algorithm", _GostAlgorithm),
        ("private_key", core.OctetString),
        ("attributes", core.Any, {"implicit": 0, "optional": True}),
        ("public_key", core.Any, {"implicit": 1, "optional": True}),
    ]


# --------------------------------------------------------------------------- helpers


def _der_from(data: bytes, what: str, pem_labels: tuple[str, ...]) -> bytes:
    """DER bytes from PEM or DER input; raises :class:`GostError` with a one-line reason."""
    if pem.detect(data):
        try:
            label, _, der = pem.unarmor(data)
        except (ValueError, binascii.Error) as exc:
            raise GostError(f"{what}: malformed PEM ({exc})") from exc
        if label not in pem_labels:
            raise GostError(f"{what}: expected PEM {' or '.join(pem_labels)}, got {label}")
        return bytes(der)
    if not data or data[0] != 0x30:
        raise GostError(f"{what}: neither PEM nor DER")
    return data


def _key_algorithm(algorithm: _GostAlgorithm, what: str) -> tuple[str, str | None]:
    """Check a GOST algorithm identifier; return (param set OID, digest param set OID)."""
    oid = algorithm["algorithm"].dotted
    if oid in _UNSUPPORTED_KEYS:
        raise GostError(f"{what}: {_UNSUPPORTED_KEYS[oid]}")
    if oid != KEY_ALGORITHM_256:
        raise GostError(f"{what}: not a GOST R 34.10-2012 key (algorithm {oid})")
    raw = algorithm["parameters"]
    if raw.native is None:
        raise GostError(f"{what}: GOST key without parameter set")
    params = _GostKeyParameters.load(raw.dump())
    param_set = params["public_key_param_set"].dotted
    digest = params["digest_param_set"]
    return param_set, (digest.dotted if digest.native is not None else None)


def _format_name(name: x509.Name) -> str:
    """``C=RU, O=..., CN=...`` in encoded order (as ``openssl x509 -subject`` shows it)."""
    parts = []
    for rdn in name.chosen:
        for atv in rdn:
            oid = atv["type"].dotted
            try:
                value = atv["value"].native
            except (ValueError, TypeError):
                value = atv["value"].contents.hex()
            parts.append(f"{_DN_SHORT.get(oid, oid)}={value}")
    return ", ".join(parts)


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class GostCertificate:
    """A parsed GOST R 34.10-2012 (256-bit) X.509 certificate.

    :param der: the exact DER bytes (what ``client_certificate_hash`` and CMS use).
    :param param_set_oid: the key's parameter-set OID as written in the certificate (several
        OIDs name the same curve; ``public_key.curve`` is the curve).
    """

    der: bytes = field(repr=False)
    public_key: PublicKey = field(repr=False)
    param_set_oid: str
    digest_param_set_oid: str | None
    subject: str
    issuer: str
    serial_number: int
    not_before: datetime
    not_after: datetime
    signature_algorithm_oid: str
    tbs_der: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    @property
    def param_set_name(self) -> str:
        return PARAM_SET_NAMES.get(self.param_set_oid, self.param_set_oid)

    @property
    def client_certificate_hash(self) -> str:
        """Streebog-256 of the DER, upper-case hex (ESIA ``client_certificate_hash``)."""
        return client_certificate_hash(self.der)

    @property
    def asn1(self) -> x509.Certificate:
        """The asn1crypto view (names, extensions); do not touch its public key info."""
        return x509.Certificate.load(self.der)

    def is_valid_at(self, when: datetime) -> bool:
        """Whether ``when`` (timezone-aware) lies within notBefore..notAfter."""
        return self.not_before <= when <= self.not_after

    def verify_signature(self, issuer_key: PublicKey) -> bool:
        """Check this certificate's signature with its issuer's key (for self-signed: its own).

        The signature is Streebog-256 over the TBSCertificate DER, encoded s || r as in
        every GOST signature (RFC 4491 §2.2.2).
        """
        if self.signature_algorithm_oid not in GOST_SIGNATURE_ALGORITHMS:
            return False
        return issuer_key.verify(self.tbs_der, self.signature)


def parse_certificate(data: bytes) -> GostCertificate:
    """Parse a GOST certificate from PEM or DER.

    :raises GostError: not a certificate, not a 256-bit GOST R 34.10-2012 key, an unknown
        parameter set, or a public key that is not a valid curve point.
    """
    der = _der_from(data, "certificate", ("CERTIFICATE", "X509 CERTIFICATE"))
    try:
        cert = x509.Certificate.load(der, strict=True)
        tbs = cert["tbs_certificate"]
        spki = _GostPublicKeyInfo.load(tbs["subject_public_key_info"].dump())
        param_set, digest_set = _key_algorithm(spki["algorithm"], "certificate")
        # The BIT STRING wraps a DER OCTET STRING of 64 bytes (RFC 4491 §2.3.2).
        key_bytes = core.OctetString.load(bytes(spki["public_key"].contents[1:])).native
        validity = tbs["validity"]
        not_before = validity["not_before"].native
        not_after = validity["not_after"].native
        serial = tbs["serial_number"].native
        subject = _format_name(tbs["subject"])
        issuer = _format_name(tbs["issuer"])
        envelope = _SignedEnvelope.load(der)
        sig_oid = envelope["signature_algorithm"]["algorithm"].dotted
        signature = bytes(envelope["signature_value"].native)
        tbs_der = envelope["tbs"].dump()
    except GostError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise GostError(f"certificate: malformed ({exc})") from exc
    curve = curve_for_oid(param_set)
    if curve is None:
        raise GostError(f"certificate: unsupported GOST parameter set {param_set}")
    if not isinstance(key_bytes, bytes):
        raise GostError("certificate: public key is not an OCTET STRING")
    return GostCertificate(
        der=der,
        public_key=PublicKey.from_bytes(curve, key_bytes),
        param_set_oid=param_set,
        digest_param_set_oid=digest_set,
        subject=subject,
        issuer=issuer,
        serial_number=serial,
        not_before=not_before,
        not_after=not_after,
        signature_algorithm_oid=sig_oid,
        tbs_der=tbs_der,
        signature=signature,
    )


def client_certificate_hash(cert: bytes) -> str:
    """ESIA ``client_certificate_hash``: Streebog-256 over the certificate DER, upper-case hex.

    Hashing the PEM text instead of the DER gives ESIA-007053 (ESIA.md §2.5), so PEM input
    is converted to DER first.
    """
    der = _der_from(cert, "certificate", ("CERTIFICATE", "X509 CERTIFICATE"))
    return streebog256(der).hex().upper()


# --------------------------------------------------------------------------- private keys


def parse_private_key(data: bytes) -> PrivateKey:
    """Parse an unencrypted PKCS#8 GOST R 34.10-2012 (256-bit) private key, PEM or DER.

    The key OCTET STRING holds, depending on the writer: the 32-byte little-endian scalar
    (OpenSSL gost-engine today), an inner DER OCTET STRING with that scalar, or (older
    gost-engine) a DER INTEGER, which is big-endian. CryptoPro's masked key format is not
    supported: export the key with OpenSSL first.

    :raises GostError: with a one-line reason; the message never contains key material.
    """
    der = _der_from(data, "private key", ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"))
    if pem.detect(data) and pem.unarmor(data)[0] == "ENCRYPTED PRIVATE KEY":
        raise GostError("private key: encrypted PKCS#8 is not supported; decrypt it first")
    try:
        info = _GostPrivateKeyInfo.load(der, strict=True)
        param_set, _ = _key_algorithm(info["private_key_algorithm"], "private key")
        raw = bytes(info["private_key"].native)
    except GostError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise GostError(f"private key: malformed PKCS#8 ({type(exc).__name__})") from None
    curve = curve_for_oid(param_set)
    if curve is None:
        raise GostError(f"private key: unsupported GOST parameter set {param_set}")
    if len(raw) == 32:
        return PrivateKey.from_bytes(curve, raw)
    try:
        inner = core.load(raw, strict=True)
    except ValueError:
        raise GostError("private key: unrecognised key encoding") from None
    if isinstance(inner, core.OctetString) and len(inner.native) == 32:
        return PrivateKey.from_bytes(curve, bytes(inner.native))
    if isinstance(inner, core.Integer):
        return PrivateKey(curve, int(inner.native))
    raise GostError("private key: unrecognised key encoding (masked CryptoPro keys unsupported)")
