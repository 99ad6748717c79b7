"""ESIA request signatures (``client_secret``): the Signer port, its backends, v1 and v2 forms.

ESIA.md §2.3-2.5 (from ESIA's «Методические рекомендации» as quoted by production clients):

* **v2** (``/aas/oauth2/v2/ac``, ``/v3/te``): a *raw* GOST R 34.10-2012 signature over
  Streebog-256 of the UTF-8 string, 64 bytes s || r (what ``openssl dgst -sign`` writes),
  base64url **without** padding (86 characters). Verifiers should accept padded and
  unpadded, URL-safe and standard alphabets, because working clients send all of them.
* **v1** (``/aas/oauth2/ac``, ``/te``): a **detached** CMS SignedData (RFC 5652) with the signer
  certificate embedded, digest 1.2.643.7.1.1.2.2 (Streebog-256), signature algorithm
  1.2.643.7.1.1.1.1 (a verifier also accepts 1.2.643.7.1.1.3.2), with or without signed
  attributes (contentType, signingTime, messageDigest; OpenSSL's default vs ``-noattr``),
  DER then base64url.

The :class:`Signer` port hides where the private key lives. :class:`PureGostSigner` signs in
process with ``gost.py``; :class:`OpenSslGostSigner` runs ``openssl dgst`` with the GOST engine
(Debian ``libengine-gost-openssl``) so the key never enters Python. Neither ever logs or
``repr``-s the key, and the OpenSSL backend never logs the key's path.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import os
import subprocess
from collections.abc import Iterable
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Protocol
from typing import runtime_checkable

from asn1crypto import algos
from asn1crypto import cms
from asn1crypto import core
from asn1crypto import x509

from providers.upstream.esia.certificates import GOST_SIGNATURE_ALGORITHMS
from providers.upstream.esia.certificates import KEY_ALGORITHM_256
from providers.upstream.esia.certificates import GostCertificate
from providers.upstream.esia.certificates import parse_certificate
from providers.upstream.esia.certificates import parse_private_key
from providers.upstream.esia.gost import SIGNATURE_SIZE
from providers.upstream.esia.gost import GostError
from providers.upstream.esia.gost import PrivateKey
from providers.upstream.esia.streebog import streebog256

__all__ = [
    "BACKENDS",
    "DIGEST_ALGORITHM_256",
    "OpenSslGostSigner",
    "PureGostSigner",
    "SignatureInvalid",
    "Signer",
    "SignerError",
    "b64url",
    "decode_client_secret",
    "make_signer",
    "openssl_gost_available",
    "sign_v1_cms",
    "sign_v2",
    "verify_v1_cms",
    "verify_v2",
]

log = logging.getLogger(__name__)

#: id-tc26-gost3411-12-256 (Streebog-256), the CMS digest algorithm.
DIGEST_ALGORITHM_256 = "1.2.643.7.1.1.2.2"
#: Names accepted by :func:`make_signer`.
BACKENDS = ("pure", "openssl")


class SignerError(GostError):
    """A signing backend failed (OpenSSL missing, engine unavailable, unreadable key)."""


class SignatureInvalid(GostError):
    """A ``client_secret`` does not verify; ``reason`` says why (for logs, not for users)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"signature does not verify: {reason}")
        self.reason = reason


# --------------------------------------------------------------------------- encodings


def b64url(raw: bytes) -> str:
    """Base64url without padding (RFC 4648 §5), the form ESIA's examples use."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_client_secret(secret: str) -> bytes:
    """Decode a ``client_secret`` in any of the encodings clients send (ESIA.md §2.4).

    Accepts base64url and standard base64, with or without ``=`` padding, ignoring
    surrounding whitespace.

    :raises GostError: not base64 at all.
    """
    text = "".join(secret.split()).rstrip("=").replace("-", "+").replace("_", "/")
    if len(text) % 4 == 1:
        raise GostError("client_secret is not valid base64 (bad length)")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise GostError("client_secret is not valid base64") from None


# --------------------------------------------------------------------------- the port


@runtime_checkable
class Signer(Protocol):
    """Signs ESIA requests with vhod's registered GOST key.

    ``sign`` returns the 64-byte s || r GOST R 34.10-2012 signature over Streebog-256 of
    ``data``; ``certificate`` is the matching certificate's DER (embedded in v1 CMS and
    hashed into ``client_certificate_hash``).
    """

    @property
    def certificate(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes: ...


class _CertificateHolder:
    """The certificate half of a signer: DER for ESIA, parsed for our own checks."""

    __slots__ = ("_cert",)

    _cert: GostCertificate

    @property
    def certificate(self) -> bytes:
        return self._cert.der

    @property
    def parsed_certificate(self) -> GostCertificate:
        return self._cert


class PureGostSigner(_CertificateHolder):
    """In-process signing with ``gost.py`` (the default backend).

    The key object hides its scalar from ``repr``; this class adds nothing that could show it.
    """

    __slots__ = ("_key",)

    def __init__(self, key: PrivateKey, certificate: bytes | GostCertificate) -> None:
        if isinstance(certificate, GostCertificate):
            cert = certificate
        else:
            cert = parse_certificate(certificate)
        if not key.matches(cert.public_key):
            raise SignerError("the private key does not belong to the certificate")
        self._key = key
        self._cert = cert

    @classmethod
    def from_files(
        cls, key_path: str | os.PathLike[str], cert_path: str | os.PathLike[str]
    ) -> PureGostSigner:
        """Load a PKCS#8 key and a certificate (PEM or DER) from files."""
        return cls(parse_private_key(_read(key_path, "key")), _read(cert_path, "certificate"))

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def __repr__(self) -> str:
        return f"PureGostSigner(certificate={self._cert.subject!r}, key=<hidden>)"


class OpenSslGostSigner(_CertificateHolder):
    """Signing by ``openssl dgst -engine gost -md_gost12_256 -sign KEY`` in a subprocess.

    The key stays in its file; we pass its path in an argv list (never a shell string) and
    feed the data on stdin. ``openssl dgst -sign`` writes exactly our s || r form. The
    engine is selected with ``-engine gost``, which works with Debian's
    ``libengine-gost-openssl`` without touching ``openssl.cnf``.
    """

    __slots__ = ("_key_path", "_openssl", "_timeout")

    def __init__(
        self,
        key_path: str | os.PathLike[str],
        cert_path: str | os.PathLike[str],
        *,
        openssl: str = "openssl",
        timeout: float = 10.0,
    ) -> None:
        self._key_path = os.fspath(key_path)
        if not Path(self._key_path).is_file():
            raise SignerError("the key file does not exist or is not a file")
        self._cert = parse_certificate(_read(cert_path, "certificate"))
        self._openssl = openssl
        self._timeout = timeout

    def sign(self, data: bytes) -> bytes:
        argv = [
            self._openssl,
            "dgst",
            "-engine",
            "gost",
            "-md_gost12_256",
            "-sign",
            self._key_path,
            "-binary",
        ]
        try:
            done = subprocess.run(  # argv list, no shell
                argv, input=data, capture_output=True, timeout=self._timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SignerError(f"openssl could not be run: {type(exc).__name__}") from None
        if done.returncode != 0 or len(done.stdout) != SIGNATURE_SIZE:
            # OpenSSL's message may name the key file; keep only its first line, without it.
            detail = done.stderr.decode("utf-8", "replace").replace(self._key_path, "<key>")
            lines = [ln for ln in detail.splitlines() if ln and not ln.startswith("Engine ")]
            log.warning("openssl gost signing failed (exit %s)", done.returncode)
            raise SignerError(f"openssl gost signing failed: {lines[0] if lines else 'no output'}")
        return done.stdout

    def __repr__(self) -> str:
        return f"OpenSslGostSigner(certificate={self._cert.subject!r}, key=<file>)"


def _read(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise GostError(
            f"cannot read the {what} file: {exc.strerror or type(exc).__name__}"
        ) from None


def make_signer(
    backend: str,
    key_path: str | os.PathLike[str],
    cert_path: str | os.PathLike[str],
    *,
    openssl: str = "openssl",
) -> Signer:
    """The :class:`Signer` for a backend name: ``pure`` (default) or ``openssl``.

    :raises GostError: unknown backend, unreadable files, key and certificate that do not
        match (pure backend).
    """
    if backend == "pure":
        return PureGostSigner.from_files(key_path, cert_path)
    if backend == "openssl":
        return OpenSslGostSigner(key_path, cert_path, openssl=openssl)
    raise GostError(f"unknown signer backend {backend!r}; choose from {', '.join(BACKENDS)}")


@functools.cache
def openssl_gost_available(openssl: str = "openssl") -> bool:
    """Whether ``openssl engine gost -t`` reports the GOST engine as available (cached)."""
    try:
        done = subprocess.run(
            [openssl, "engine", "gost", "-t"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and b"[ available ]" in done.stdout


# --------------------------------------------------------------------------- v2: raw signature


def sign_v2(signer: Signer, text: str) -> str:
    """The v2 ``client_secret``: base64url (unpadded) of the s || r signature of ``text``."""
    return b64url(signer.sign(text.encode("utf-8")))


def verify_v2(cert: GostCertificate, text: str, secret: str) -> bool:
    """Check a v2 ``client_secret`` against ``cert``; never raises on attacker input."""
    try:
        raw = decode_client_secret(secret)
    except GostError:
        return False
    return cert.public_key.verify(text.encode("utf-8"), raw)


# --------------------------------------------------------------------------- v1: CMS


def _algorithm(oid: str) -> dict[str, object]:
    # OpenSSL writes explicit NULL parameters for both GOST algorithm identifiers.
    return {"algorithm": oid, "parameters": core.Null()}


def sign_v1_cms(
    signer: Signer,
    text: str,
    *,
    signed_attrs: bool = False,
    signing_time: datetime | None = None,
) -> str:
    """The v1 ``client_secret``: detached CMS SignedData over ``text``, DER, base64url.

    :param signed_attrs: add contentType, signingTime and messageDigest (OpenSSL's default);
        without them the signature covers the content itself (``-noattr``). ESIA accepts both.
    :param signing_time: for the signingTime attribute; now (UTC) by default.
    """
    content = text.encode("utf-8")
    # Two loads: reading issuer/serial parses the TBS, and asn1crypto would then re-encode
    # it (and trip over the GOST key info) when dumping; the embedded copy stays untouched.
    info = x509.Certificate.load(signer.certificate)
    embedded = x509.Certificate.load(signer.certificate)
    sid = cms.SignerIdentifier(
        name="issuer_and_serial_number",
        value=cms.IssuerAndSerialNumber(
            {"issuer": info["tbs_certificate"]["issuer"], "serial_number": info.serial_number}
        ),
    )
    digest_algorithm = algos.DigestAlgorithm(_algorithm(DIGEST_ALGORITHM_256))
    signer_info: dict[str, object] = {
        "version": "v1",
        "sid": sid,
        "digest_algorithm": digest_algorithm,
        "signature_algorithm": algos.SignedDigestAlgorithm(_algorithm(KEY_ALGORITHM_256)),
    }
    if signed_attrs:
        when = signing_time or datetime.now(UTC)
        attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
                cms.CMSAttribute(
                    {"type": "signing_time", "values": [cms.Time(name="utc_time", value=when)]}
                ),
                cms.CMSAttribute({"type": "message_digest", "values": [streebog256(content)]}),
            ]
        )
        # RFC 5652 §5.4: the signature covers the DER of the SET OF attributes (tag 0x31).
        signer_info["signed_attrs"] = attrs
        signer_info["signature"] = signer.sign(attrs.dump())
    else:
        signer_info["signature"] = signer.sign(content)
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [digest_algorithm],
            "encap_content_info": {"content_type": "data"},
            "certificates": [cms.CertificateChoices(name="certificate", value=embedded)],
            "signer_infos": [cms.SignerInfo(signer_info)],
        }
    )
    info_der = cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()
    return b64url(info_der)


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _sid_matches(sid: cms.SignerIdentifier, cert: GostCertificate) -> bool:
    parsed = cert.asn1
    if sid.name == "issuer_and_serial_number":
        ias = sid.chosen
        return bool(
            ias["serial_number"].native == cert.serial_number
            and ias["issuer"] == parsed["tbs_certificate"]["issuer"]
        )
    if sid.name == "subject_key_identifier":
        return bool(
            parsed.key_identifier is not None and sid.chosen.native == parsed.key_identifier
        )
    return False


def verify_v1_cms(
    secret: str,
    text: str,
    trusted: Iterable[bytes | GostCertificate],
    *,
    when: datetime | None = None,
) -> GostCertificate:
    """Check a v1 ``client_secret`` (detached CMS) over ``text``; return the signer's cert.

    The signer is looked up among ``trusted`` by the SignerInfo's issuer and serial (or
    subject key identifier); certificates embedded in the CMS are not trusted by themselves.
    Both forms are accepted: with signed attributes (then contentType must be data and
    messageDigest must equal Streebog-256 of ``text``) and without.

    :param when: if given, the certificate must be valid at that time.
    :raises SignatureInvalid: with the reason, if anything does not check out.
    """
    certs = [c if isinstance(c, GostCertificate) else parse_certificate(c) for c in trusted]
    try:
        der = decode_client_secret(secret)
    except GostError as exc:
        raise SignatureInvalid(str(exc)) from None
    content = text.encode("utf-8")
    try:
        info = cms.ContentInfo.load(der, strict=True)
        if info["content_type"].native != "signed_data":
            raise SignatureInvalid("not a CMS SignedData")
        signed_data = info["content"]
        encap = signed_data["encap_content_info"]
        if encap["content_type"].native != "data":
            raise SignatureInvalid("encapsulated content type is not data")
        attached = encap["content"].native
        if attached is not None and bytes(attached) != content:
            raise SignatureInvalid("the attached content differs from the signed text")
        signer_infos = list(signed_data["signer_infos"])
        if len(signer_infos) != 1:
            raise SignatureInvalid(f"expected one SignerInfo, got {len(signer_infos)}")
        si = signer_infos[0]
        digest_oid = si["digest_algorithm"]["algorithm"].dotted
        signature_oid = si["signature_algorithm"]["algorithm"].dotted
        signature = bytes(si["signature"].native)
        sid = si["sid"]
        attrs = si["signed_attrs"]
        has_attrs = attrs.native is not None
        if has_attrs:
            by_type = {a["type"].native: a["values"] for a in attrs}
            attrs_der = b"\x31" + _der_length(len(attrs.contents)) + attrs.contents
    except SignatureInvalid:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise SignatureInvalid(f"malformed CMS ({type(exc).__name__})") from None
    if digest_oid != DIGEST_ALGORITHM_256:
        raise SignatureInvalid(f"digest algorithm {digest_oid} is not GOST R 34.11-2012-256")
    if signature_oid not in GOST_SIGNATURE_ALGORITHMS:
        raise SignatureInvalid(f"signature algorithm {signature_oid} is not GOST R 34.10-2012")
    candidates = [c for c in certs if _sid_matches(sid, c)]
    if not candidates:
        raise SignatureInvalid("signer certificate is not among the trusted ones")
    if has_attrs:
        content_type = by_type.get("content_type")
        digest = by_type.get("message_digest")
        if content_type is None or [v.native for v in content_type] != ["data"]:
            raise SignatureInvalid("signed attributes lack contentType data")
        if digest is None or [bytes(v.native) for v in digest] != [streebog256(content)]:
            raise SignatureInvalid("messageDigest does not match the text")
        signed = attrs_der
    else:
        signed = content
    for cert in candidates:
        if when is not None and not cert.is_valid_at(when):
            continue
        if cert.public_key.verify(signed, signature):
            return cert
    if when is not None and not any(c.is_valid_at(when) for c in candidates):
        raise SignatureInvalid("signer certificate is not valid at the given time")
    raise SignatureInvalid("GOST signature does not verify")
