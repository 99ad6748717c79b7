"""GOST certificates and PKCS#8 keys: ESIA's real certificates, OpenSSL-made pairs, bad input."""

from __future__ import annotations

import base64
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import gostcrypto.gosthash as gosthash
import pytest
from asn1crypto import pem
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from providers.upstream.esia.certificates import client_certificate_hash
from providers.upstream.esia.certificates import parse_certificate
from providers.upstream.esia.certificates import parse_private_key
from providers.upstream.esia.gost import GostError
from providers.upstream.esia.gost import PrivateKey
from providers.upstream.esia.gost_curves import CRYPTOPRO_A
from providers.upstream.esia.gost_curves import curve_for_oid
from tests.unit.providers.esia.support import DATA
from tests.unit.providers.esia.support import OPENSSL_PARAM_SETS
from tests.unit.providers.esia.support import cert_path
from tests.unit.providers.esia.support import key_path
from tests.unit.providers.esia.support import openssl
from tests.unit.providers.esia.support import require_openssl_gost

XCHA = "1.2.643.2.2.36.0"


def _der(path: str) -> bytes:
    data = (DATA / path).read_bytes()
    return bytes(pem.unarmor(data)[2]) if pem.detect(data) else data


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    length = bytes([n]) if n < 0x80 else bytes([0x81, n])
    return bytes([tag]) + length + body


# --------------------------------------------------------------------------- ESIA's certificates


def test_esia_production_certificate_2025() -> None:
    cert = parse_certificate((DATA / "esia-prod-gost-2025.cer").read_bytes())
    assert cert.param_set_oid == XCHA
    assert cert.param_set_name == "id-GostR3410-2001-CryptoPro-XchA-ParamSet"
    assert cert.public_key.curve is CRYPTOPRO_A
    assert cert.not_before == datetime(2025, 3, 24, 9, 23, 11, tzinfo=UTC)
    assert cert.not_after == datetime(2026, 6, 17, 9, 23, 11, tzinfo=UTC)
    assert cert.serial_number == 0x357FF83A44B1B3572FF9174629FBDC53
    assert "CN=МИНИСТЕРСТВО ЦИФРОВОГО РАЗВИТИЯ" in cert.subject
    assert "OGRN=1047702026701" in cert.subject
    assert "CN=Федеральное казначейство" in cert.issuer
    assert cert.signature_algorithm_oid == "1.2.643.7.1.1.3.2"
    assert cert.digest_param_set_oid == "1.2.643.7.1.1.2.2"
    assert cert.is_valid_at(datetime(2025, 12, 1, tzinfo=UTC))
    assert not cert.is_valid_at(datetime(2026, 7, 1, tzinfo=UTC))


def test_esia_test_certificate_2021() -> None:
    cert = parse_certificate((DATA / "esia-test-gost-2021.cer").read_bytes())
    assert cert.param_set_oid == XCHA
    assert cert.not_before == datetime(2021, 6, 9, 14, 17, 4, tzinfo=UTC)
    assert cert.not_after == datetime(2022, 6, 9, 14, 27, 4, tzinfo=UTC)
    assert cert.serial_number == 0x2C25EE0042ADC9A84670884F9990863F
    assert "O=Минцифры" in cert.subject
    assert "CN=Тестовый УЦ РТК" in cert.issuer
    assert not cert.is_valid_at(datetime(2025, 1, 1, tzinfo=UTC))


def test_esia_certificates_are_not_self_signed() -> None:
    cert = parse_certificate((DATA / "esia-prod-gost-2025.cer").read_bytes())
    assert not cert.verify_signature(cert.public_key)


# --------------------------------------------------------------------------- certificate hash


@pytest.mark.parametrize("name", ["esia-prod-gost-2025.cer", "gost-engine-selfsigned-cert.pem"])
def test_certificate_hash_is_streebog256_of_der_upper_hex(name: str) -> None:
    der = _der(name)
    expected = gosthash.new("streebog256", data=der).hexdigest().upper()
    assert client_certificate_hash(der) == expected
    assert client_certificate_hash((DATA / name).read_bytes()) == expected  # PEM input
    assert parse_certificate(der).client_certificate_hash == expected
    assert len(expected) == 64
    assert expected == expected.upper()


def test_certificate_hash_rejects_garbage() -> None:
    with pytest.raises(GostError):
        client_certificate_hash(b"not a certificate")


@pytest.mark.openssl
def test_certificate_hash_matches_openssl() -> None:
    require_openssl_gost()
    der = _der("esia-test-gost-2021.cer")
    out = openssl("dgst", "-engine", "gost", "-md_gost12_256", "-r", stdin=der)
    assert out.split()[0].decode().upper() == client_certificate_hash(der)


# --------------------------------------------------------------------------- key + certificate


def test_gost_engine_pair_key_regenerates_certificate_key() -> None:
    cert = parse_certificate((DATA / "gost-engine-selfsigned-cert.pem").read_bytes())
    key = parse_private_key((DATA / "gost-engine-selfsigned-key.pem").read_bytes())
    assert cert.param_set_oid == XCHA
    assert key.curve is cert.public_key.curve
    assert key.public_key() == cert.public_key
    assert key.matches(cert.public_key)
    assert cert.not_before == datetime(2021, 9, 17, 16, 27, 35, tzinfo=UTC)
    assert cert.subject == "C=AU, ST=Some-State, O=Internet Widgits Pty Ltd"
    assert cert.subject == cert.issuer


def test_gost_engine_self_signature_verifies_and_tampering_fails() -> None:
    cert = parse_certificate((DATA / "gost-engine-selfsigned-cert.pem").read_bytes())
    assert cert.verify_signature(cert.public_key)
    tampered_tbs = bytearray(cert.tbs_der)
    tampered_tbs[-40] ^= 0x01
    assert not cert.public_key.verify(bytes(tampered_tbs), cert.signature)
    other = PrivateKey.generate(CRYPTOPRO_A).public_key()
    assert not cert.verify_signature(other)


@pytest.mark.parametrize(("name", "oid"), sorted(OPENSSL_PARAM_SETS.items()))
def test_openssl_pairs_for_every_parameter_set(name: str, oid: str) -> None:
    cert = parse_certificate(cert_path(name).read_bytes())
    key = parse_private_key(key_path(name).read_bytes())
    assert cert.param_set_oid == oid
    assert cert.public_key.curve is curve_for_oid(oid)
    assert key.matches(cert.public_key)
    assert cert.verify_signature(cert.public_key)


def test_der_input_is_accepted() -> None:
    der = _der("openssl-tca-cert.pem")
    assert parse_certificate(der).der == der
    key_der = _der("openssl-tca-key.pem")
    assert parse_private_key(key_der).matches(parse_certificate(der).public_key)


# --------------------------------------------------------------------------- PKCS#8 variants


def _pkcs8_with(private_key_field: bytes) -> bytes:
    """The XchA test key's PKCS#8 with its privateKey OCTET STRING contents replaced."""
    original = _der("gost-engine-selfsigned-key.pem")
    version_and_algorithm = original[2:-34]  # INTEGER 0, AlgorithmIdentifier
    return _tlv(0x30, version_and_algorithm + _tlv(0x04, private_key_field))


def test_private_key_in_inner_octet_string() -> None:
    original = parse_private_key((DATA / "gost-engine-selfsigned-key.pem").read_bytes())
    scalar_le = _der("gost-engine-selfsigned-key.pem")[-32:]
    wrapped = parse_private_key(_pkcs8_with(_tlv(0x04, scalar_le)))
    assert wrapped.public_key() == original.public_key()


def test_private_key_as_big_endian_integer() -> None:
    original = parse_private_key((DATA / "gost-engine-selfsigned-key.pem").read_bytes())
    scalar_be = _der("gost-engine-selfsigned-key.pem")[-32:][::-1]
    body = scalar_be if scalar_be[0] < 0x80 else b"\x00" + scalar_be
    as_integer = parse_private_key(_pkcs8_with(_tlv(0x02, body)))
    assert as_integer.public_key() == original.public_key()


def test_private_key_bad_encodings() -> None:
    with pytest.raises(GostError, match="unrecognised"):
        parse_private_key(_pkcs8_with(b"\x01" * 20))
    with pytest.raises(GostError):
        parse_private_key(_pkcs8_with(b"\x00" * 32))  # scalar 0
    with pytest.raises(GostError):
        parse_private_key(b"\x30\x03\x02\x01")
    encrypted = pem.armor("ENCRYPTED PRIVATE KEY", b"\x30\x00")
    with pytest.raises(GostError, match="encrypted"):
        parse_private_key(encrypted)
    with pytest.raises(GostError, match="expected PEM"):
        parse_private_key((DATA / "openssl-a-cert.pem").read_bytes())


def test_private_key_error_does_not_echo_key_material() -> None:
    scalar = _der("gost-engine-selfsigned-key.pem")[-32:]
    broken = _pkcs8_with(scalar + b"\x00")  # 33 bytes: not a recognised form
    with pytest.raises(GostError) as info:
        parse_private_key(broken)
    assert scalar.hex() not in str(info.value).lower()


def test_512_bit_key_is_rejected() -> None:
    original = _der("gost-engine-selfsigned-key.pem")
    patched = original.replace(bytes.fromhex("2a85030701010101"), bytes.fromhex("2a85030701010102"))
    with pytest.raises(GostError, match="512-bit"):
        parse_private_key(patched)


# --------------------------------------------------------------------------- not GOST at all


def _rsa_pair() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "rsa")])
    now = datetime.now(UTC)
    cert = (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def test_rsa_certificate_and_key_are_rejected() -> None:
    cert_pem, key_pem = _rsa_pair()
    with pytest.raises(GostError, match="not a GOST"):
        parse_certificate(cert_pem)
    with pytest.raises(GostError, match="not a GOST"):
        parse_private_key(key_pem)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        pem.armor("CERTIFICATE", b"\x30\x03\x02\x01\x01"),
        base64.b64decode("MAA="),
    ],
)
def test_garbage_certificates_are_rejected(data: bytes) -> None:
    with pytest.raises(GostError):
        parse_certificate(data)
