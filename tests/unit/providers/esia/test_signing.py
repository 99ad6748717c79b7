"""ESIA client_secret: v2 raw signatures, v1 detached CMS, both backends, OpenSSL interop."""

from __future__ import annotations

import base64
import logging
import subprocess
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
from asn1crypto import cms

from providers.upstream.esia.certificates import GostCertificate
from providers.upstream.esia.certificates import parse_certificate
from providers.upstream.esia.gost import GostError
from providers.upstream.esia.gost import decode_signature
from providers.upstream.esia.signing import OpenSslGostSigner
from providers.upstream.esia.signing import PureGostSigner
from providers.upstream.esia.signing import SignatureInvalid
from providers.upstream.esia.signing import Signer
from providers.upstream.esia.signing import SignerError
from providers.upstream.esia.signing import b64url
from providers.upstream.esia.signing import decode_client_secret
from providers.upstream.esia.signing import make_signer
from providers.upstream.esia.signing import sign_v1_cms
from providers.upstream.esia.signing import sign_v2
from providers.upstream.esia.signing import verify_v1_cms
from providers.upstream.esia.signing import verify_v2
from tests.unit.providers.esia.support import DATA
from tests.unit.providers.esia.support import OPENSSL_PARAM_SETS
from tests.unit.providers.esia.support import cert_path
from tests.unit.providers.esia.support import key_path
from tests.unit.providers.esia.support import openssl
from tests.unit.providers.esia.support import openssl_verifies
from tests.unit.providers.esia.support import require_openssl_gost

# A v2 signed string: client_id + scope + scope_org + timestamp + state + redirect_uri (§2.4).
TEXT = (
    "VHOD01openid fullname snils2025.01.02 03:04:05 +0300"
    "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0https://vhod.example/login/callback/esia"
)


@pytest.fixture(scope="module")
def signer() -> PureGostSigner:
    return PureGostSigner.from_files(key_path("xa"), cert_path("xa"))


@pytest.fixture(scope="module")
def cert() -> GostCertificate:
    return parse_certificate(cert_path("xa").read_bytes())


# --------------------------------------------------------------------------- encodings


def test_decode_client_secret_accepts_every_form() -> None:
    raw = bytes(range(64)) + b"\xfb\xff"
    for text in (
        b64url(raw),
        base64.urlsafe_b64encode(raw).decode(),
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        " " + base64.b64encode(raw).decode() + "\n",
    ):
        assert decode_client_secret(text) == raw
    assert "=" not in b64url(raw)
    assert "+" not in b64url(raw)
    assert "/" not in b64url(raw)


@pytest.mark.parametrize("bad", ["abc!", "a", "ab$d", "é" * 8])
def test_decode_client_secret_rejects_non_base64(bad: str) -> None:
    with pytest.raises(GostError):
        decode_client_secret(bad)


# --------------------------------------------------------------------------- v2


def test_v2_secret_is_86_char_unpadded_base64url(
    signer: PureGostSigner, cert: GostCertificate
) -> None:
    secret = sign_v2(signer, TEXT)
    assert len(secret) == 86
    assert set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert verify_v2(cert, TEXT, secret)


def test_v2_verifier_accepts_padding_and_standard_alphabet(
    signer: PureGostSigner, cert: GostCertificate
) -> None:
    raw = decode_client_secret(sign_v2(signer, TEXT))
    for form in (base64.urlsafe_b64encode(raw).decode(), base64.b64encode(raw).decode()):
        assert verify_v2(cert, TEXT, form)


def test_v2_rejects_tampering_and_other_text(signer: PureGostSigner, cert: GostCertificate) -> None:
    secret = sign_v2(signer, TEXT)
    assert not verify_v2(cert, TEXT + "x", secret)
    raw = bytearray(decode_client_secret(secret))
    raw[10] ^= 1
    assert not verify_v2(cert, TEXT, b64url(bytes(raw)))
    assert not verify_v2(cert, TEXT, "not base64 !!")
    assert not verify_v2(cert, TEXT, b64url(b"short"))
    other = parse_certificate(cert_path("a").read_bytes())
    assert not verify_v2(other, TEXT, secret)


def test_v2_reversed_cryptopro_order_does_not_verify(
    signer: PureGostSigner, cert: GostCertificate
) -> None:
    # CryptoPro CAPI writes the byte-reverse; ESIA wants it reversed back (§2.4).
    raw = decode_client_secret(sign_v2(signer, TEXT))
    assert not verify_v2(cert, TEXT, b64url(raw[::-1]))


def test_v2_utf8_text(signer: PureGostSigner, cert: GostCertificate) -> None:
    text = "школа №1 " + TEXT
    assert verify_v2(cert, text, sign_v2(signer, text))


# --------------------------------------------------------------------------- v1 CMS


@pytest.mark.parametrize("signed_attrs", [False, True])
def test_v1_round_trip(signer: PureGostSigner, cert: GostCertificate, signed_attrs: bool) -> None:
    secret = sign_v1_cms(signer, TEXT, signed_attrs=signed_attrs)
    assert "=" not in secret
    found = verify_v1_cms(secret, TEXT, [cert])
    assert found.der == cert.der
    # Trusted certificates may be given as DER too; unrelated ones are skipped.
    other = parse_certificate(cert_path("b").read_bytes())
    assert verify_v1_cms(secret, TEXT, [other.der, cert.der]).der == cert.der


def test_v1_structure(signer: PureGostSigner, cert: GostCertificate) -> None:
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    der = decode_client_secret(sign_v1_cms(signer, TEXT, signed_attrs=True, signing_time=when))
    info = cms.ContentInfo.load(der)
    assert info["content_type"].native == "signed_data"
    sd = info["content"]
    assert sd["version"].native == "v1"
    assert [a["algorithm"].dotted for a in sd["digest_algorithms"]] == ["1.2.643.7.1.1.2.2"]
    assert sd["encap_content_info"]["content"].native is None  # detached
    assert [c.chosen.dump() for c in sd["certificates"]] == [cert.der]
    si = sd["signer_infos"][0]
    assert si["version"].native == "v1"
    assert si["sid"].chosen["serial_number"].native == cert.serial_number
    assert si["digest_algorithm"]["algorithm"].dotted == "1.2.643.7.1.1.2.2"
    assert si["signature_algorithm"]["algorithm"].dotted == "1.2.643.7.1.1.1.1"
    assert len(si["signature"].native) == 64
    attrs = {a["type"].native: a["values"][0].native for a in si["signed_attrs"]}
    assert attrs["content_type"] == "data"
    assert attrs["signing_time"] == when


def test_v1_without_attrs_has_none(signer: PureGostSigner) -> None:
    der = decode_client_secret(sign_v1_cms(signer, TEXT))
    si = cms.ContentInfo.load(der)["content"]["signer_infos"][0]
    assert si["signed_attrs"].native is None


@pytest.mark.parametrize("signed_attrs", [False, True])
def test_v1_rejects_other_text(
    signer: PureGostSigner, cert: GostCertificate, signed_attrs: bool
) -> None:
    secret = sign_v1_cms(signer, TEXT, signed_attrs=signed_attrs)
    with pytest.raises(SignatureInvalid):
        verify_v1_cms(secret, TEXT + "1", [cert])


def test_v1_rejects_untrusted_signer(signer: PureGostSigner) -> None:
    secret = sign_v1_cms(signer, TEXT)
    other = parse_certificate(cert_path("a").read_bytes())
    with pytest.raises(SignatureInvalid, match="not among the trusted"):
        verify_v1_cms(secret, TEXT, [other])
    with pytest.raises(SignatureInvalid):
        verify_v1_cms(secret, TEXT, [])


def _rewrite(secret: str, edit: object) -> str:
    info = cms.ContentInfo.load(decode_client_secret(secret))
    si = info["content"]["signer_infos"][0]
    edit(si)  # type: ignore[operator]
    return b64url(info.dump(force=False))


def test_v1_rejects_tampered_signature(signer: PureGostSigner, cert: GostCertificate) -> None:
    def flip(si: cms.SignerInfo) -> None:
        raw = bytearray(si["signature"].native)
        raw[5] ^= 1
        si["signature"] = bytes(raw)

    secret = _rewrite(sign_v1_cms(signer, TEXT), flip)
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_v1_cms(secret, TEXT, [cert])


def test_v1_accepts_signwithdigest_algorithm_oid(
    signer: PureGostSigner, cert: GostCertificate
) -> None:
    def swap(si: cms.SignerInfo) -> None:
        si["signature_algorithm"] = {"algorithm": "1.2.643.7.1.1.3.2"}

    secret = _rewrite(sign_v1_cms(signer, TEXT), swap)
    assert verify_v1_cms(secret, TEXT, [cert]).der == cert.der


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("digest_algorithm", {"algorithm": "sha256"}, "digest algorithm"),
        ("signature_algorithm", {"algorithm": "sha256_rsa"}, "signature algorithm"),
    ],
)
def test_v1_rejects_foreign_algorithms(
    signer: PureGostSigner, cert: GostCertificate, field: str, value: object, match: str
) -> None:
    def patch(si: cms.SignerInfo) -> None:
        si[field] = value

    secret = _rewrite(sign_v1_cms(signer, TEXT), patch)
    with pytest.raises(SignatureInvalid, match=match):
        verify_v1_cms(secret, TEXT, [cert])


def test_v1_rejects_garbage(cert: GostCertificate) -> None:
    for secret in ("", "!!!", b64url(b"\x30\x03\x02\x01\x01"), b64url(b"not der")):
        with pytest.raises(SignatureInvalid):
            verify_v1_cms(secret, TEXT, [cert])


def test_v1_checks_validity_time_when_asked(signer: PureGostSigner, cert: GostCertificate) -> None:
    secret = sign_v1_cms(signer, TEXT)
    assert verify_v1_cms(secret, TEXT, [cert], when=datetime(2030, 1, 1, tzinfo=UTC))
    with pytest.raises(SignatureInvalid, match="not valid"):
        verify_v1_cms(secret, TEXT, [cert], when=datetime(2000, 1, 1, tzinfo=UTC))


# --------------------------------------------------------------------------- signers


def test_pure_signer_satisfies_the_port(signer: PureGostSigner, cert: GostCertificate) -> None:
    assert isinstance(signer, Signer)
    assert signer.certificate == cert.der
    signature = signer.sign(b"data")
    assert len(signature) == 64
    assert cert.public_key.verify(b"data", signature)


def test_pure_signer_refuses_a_foreign_certificate() -> None:
    with pytest.raises(SignerError, match="does not belong"):
        PureGostSigner.from_files(key_path("xa"), cert_path("a"))


def test_signer_repr_hides_the_key(signer: PureGostSigner) -> None:
    scalar = (DATA / "openssl-xa-key.pem").read_text()
    assert "hidden" in repr(signer)
    assert scalar.splitlines()[1][:20] not in repr(signer)


def test_make_signer_errors(tmp_path: Path) -> None:
    with pytest.raises(GostError, match="unknown signer backend"):
        make_signer("hsm", key_path("xa"), cert_path("xa"))
    with pytest.raises(GostError, match="cannot read"):
        make_signer("pure", tmp_path / "missing.pem", cert_path("xa"))
    with pytest.raises(GostError):
        make_signer("openssl", tmp_path / "missing.pem", cert_path("xa"))


def test_signing_logs_nothing_secret(
    signer: PureGostSigner, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        sign_v2(signer, TEXT)
        sign_v1_cms(signer, TEXT, signed_attrs=True)
    assert caplog.records == []


# --------------------------------------------------------------------------- OpenSSL interop


@pytest.fixture
def openssl_files(tmp_path: Path) -> Path:
    require_openssl_gost()
    return tmp_path


@pytest.mark.openssl
@pytest.mark.parametrize("name", sorted(OPENSSL_PARAM_SETS))
def test_our_raw_signatures_verify_with_openssl(name: str, openssl_files: Path) -> None:
    signer = PureGostSigner.from_files(key_path(name), cert_path(name))
    data = TEXT.encode()
    assert openssl_verifies(name, signer.sign(data), data, openssl_files)


@pytest.mark.openssl
@pytest.mark.parametrize("name", sorted(OPENSSL_PARAM_SETS))
def test_openssl_raw_signatures_verify_with_ours(name: str, openssl_files: Path) -> None:
    cert = parse_certificate(cert_path(name).read_bytes())
    data = TEXT.encode()
    signature = openssl(
        "dgst", "-engine", "gost", "-md_gost12_256", "-sign", key_path(name), stdin=data
    )
    assert cert.public_key.verify(data, signature)
    assert verify_v2(cert, TEXT, b64url(signature))
    assert not cert.public_key.verify(data + b".", signature)


@pytest.mark.openssl
def test_gost_engine_selfsigned_pair_signatures_verify(openssl_files: Path) -> None:
    cert = parse_certificate((DATA / "gost-engine-selfsigned-cert.pem").read_bytes())
    signature = openssl(
        "dgst", "-engine", "gost", "-md_gost12_256", "-sign",
        DATA / "gost-engine-selfsigned-key.pem", stdin=b"hello",
    )  # fmt: skip
    assert cert.public_key.verify(b"hello", signature)
    r, s = decode_signature(signature)
    assert 0 < r < cert.public_key.curve.q
    assert 0 < s < cert.public_key.curve.q


@pytest.mark.openssl
@pytest.mark.parametrize("signed_attrs", [False, True])
@pytest.mark.parametrize("name", ["xa", "tca", "b"])
def test_openssl_cms_accepts_our_v1(name: str, signed_attrs: bool, openssl_files: Path) -> None:
    signer = PureGostSigner.from_files(key_path(name), cert_path(name))
    (openssl_files / "text").write_bytes(TEXT.encode())
    (openssl_files / "cms.der").write_bytes(
        decode_client_secret(sign_v1_cms(signer, TEXT, signed_attrs=signed_attrs))
    )
    openssl(
        "cms", "-engine", "gost", "-verify", "-binary", "-noverify", "-inform", "DER",
        "-in", openssl_files / "cms.der", "-content", openssl_files / "text", "-out", "/dev/null",
    )  # fmt: skip
    # And OpenSSL rejects it for other content.
    (openssl_files / "text").write_bytes(TEXT.encode() + b"x")
    done = subprocess.run(
        ["openssl", "cms", "-engine", "gost", "-verify", "-binary", "-noverify", "-inform", "DER",
         "-in", str(openssl_files / "cms.der"), "-content", str(openssl_files / "text"),
         "-out", "/dev/null"],
        capture_output=True, check=False,
    )  # fmt: skip
    assert done.returncode != 0


@pytest.mark.openssl
@pytest.mark.parametrize("noattr", [True, False])
@pytest.mark.parametrize("name", ["xa", "tca", "c"])
def test_we_accept_openssl_cms(name: str, noattr: bool, openssl_files: Path) -> None:
    (openssl_files / "text").write_bytes(TEXT.encode())
    args: list[str | Path] = [
        "cms", "-engine", "gost", "-sign", "-binary", "-in", openssl_files / "text",
        "-signer", cert_path(name), "-inkey", key_path(name), "-md", "md_gost12_256",
        "-outform", "DER",
    ]  # fmt: skip
    if noattr:
        args.append("-noattr")
    der = openssl(*args)
    cert = parse_certificate(cert_path(name).read_bytes())
    assert verify_v1_cms(b64url(der), TEXT, [cert]).der == cert.der
    assert verify_v1_cms(base64.b64encode(der).decode(), TEXT, [cert])  # padded, standard
    with pytest.raises(SignatureInvalid):
        verify_v1_cms(b64url(der), TEXT + " ", [cert])


@pytest.mark.openssl
@pytest.mark.parametrize("name", ["xa", "tca"])
def test_openssl_signer_backend(name: str, openssl_files: Path) -> None:
    signer = make_signer("openssl", key_path(name), cert_path(name))
    assert isinstance(signer, OpenSslGostSigner)
    assert isinstance(signer, Signer)
    cert = parse_certificate(cert_path(name).read_bytes())
    assert signer.certificate == cert.der
    assert verify_v2(cert, TEXT, sign_v2(signer, TEXT))
    assert verify_v1_cms(sign_v1_cms(signer, TEXT, signed_attrs=True), TEXT, [cert])
    assert str(key_path(name)) not in repr(signer)


@pytest.mark.openssl
def test_openssl_signer_failure_hides_the_key_path(openssl_files: Path) -> None:
    bogus = openssl_files / "secret-name-key.pem"
    bogus.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    signer = OpenSslGostSigner(bogus, cert_path("xa"))
    with pytest.raises(SignerError) as info:
        signer.sign(b"data")
    assert "secret-name" not in str(info.value)
