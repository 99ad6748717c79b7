"""Streebog (GOST R 34.11-2012): the standard's examples, gostcrypto and OpenSSL agree."""

from __future__ import annotations

import secrets

import gostcrypto.gosthash as gosthash
import pytest

from providers.upstream.esia.streebog import streebog256
from providers.upstream.esia.streebog import streebog512
from tests.unit.providers.esia.support import openssl
from tests.unit.providers.esia.support import require_openssl_gost

# GOST R 34.11-2012 Appendix A / RFC 6986 §10. The standard prints messages and hashes as
# big-endian numbers, i.e. byte-reversed; the values below are as RFC 6986 prints them.
M1 = b"012345678901234567890123456789012345678901234567890123456789012"
M1_512_PRINTED = (
    "486f64c1917879417fef082b3381a4e211c324f074654c38823a7b76f830ad00"
    "fa1fbae42b1285c0352f227524bc9ab16254288dd6863dccd5b9f54a1ad0541b"
)
M1_256_PRINTED = "00557be5e584fd52a449b16b0251d05d27f94ab76cbaa6da890b59d8ef1e159d"
M2_PRINTED = (
    "fbe2e5f0eee3c820fbeafaebef20fffbf0e1e0f0f520e0ed20e8ece0ebe5f0f2f120fff0eeec20f120faf2fe"
    "e5e2202ce8f6f3ede220e8e6eee1e8f0f2d1202ce8f0f2e5e220e5d1"
)
M2_512_PRINTED = (
    "28fbc9bada033b1460642bdcddb90c3fb3e56c497ccd0f62b8a2ad4935e85f03"
    "7613966de4ee00531ae60f3b5a47f8dae06915d5f2f194996fcabf2622e6881e"
)
M2_256_PRINTED = "508f7e553c06501d749a66fc28c6cac0b005746d97537fa85d9e40904efed29d"


def _reversed_hex(printed: str) -> bytes:
    return bytes.fromhex(printed)[::-1]


def test_m1_matches_the_standard_read_in_library_byte_order() -> None:
    assert streebog512(M1) == _reversed_hex(M1_512_PRINTED)
    assert streebog256(M1) == _reversed_hex(M1_256_PRINTED)
    # The order every library (and ESIA's client_certificate_hash) uses:
    assert streebog256(M1).hex().startswith("9d151eefd8590b89")


def test_m2_matches_the_standard() -> None:
    message = _reversed_hex(M2_PRINTED)
    text = "Се ветри, Стрибожи внуци, веютъ с моря стрелами на храбрыя плъкы Игоревы"
    assert message == text.encode("cp1251")
    assert streebog512(message) == _reversed_hex(M2_512_PRINTED)
    assert streebog256(message) == _reversed_hex(M2_256_PRINTED)


@pytest.mark.parametrize("length", [*range(0, 301), 511, 512, 513, 4096, 10_000])
def test_agrees_with_gostcrypto(length: int) -> None:
    message = secrets.token_bytes(length)
    assert streebog256(message) == bytes(gosthash.new("streebog256", data=message).digest())
    assert streebog512(message) == bytes(gosthash.new("streebog512", data=message).digest())


def test_accepts_any_bytes_like() -> None:
    message = secrets.token_bytes(150)
    expected = streebog256(message)
    assert streebog256(bytearray(message)) == expected
    assert streebog256(memoryview(message)) == expected
    assert streebog256(memoryview(b"xx" + message)[2:]) == expected


def test_output_sizes() -> None:
    assert len(streebog256(b"")) == 32
    assert len(streebog512(b"")) == 64
    assert streebog256(b"") != streebog512(b"")[32:]  # different IVs, not a truncation


@pytest.mark.openssl
@pytest.mark.parametrize("length", [0, 1, 63, 64, 65, 110, 128, 1000])
def test_agrees_with_openssl(length: int) -> None:
    require_openssl_gost()
    message = secrets.token_bytes(length)
    for md, ours in (("-md_gost12_256", streebog256), ("-md_gost12_512", streebog512)):
        out = openssl("dgst", "-engine", "gost", md, "-r", stdin=message)
        assert out.split()[0].decode() == ours(message).hex()
