"""Streebog (GOST R 34.11-2012): the standard's examples, gostcrypto and OpenSSL agree.

Both backends are checked: the C accelerator (``_streebog.c``, used by ``streebog256`` and
``streebog512`` when built) and the pure-Python engine (the fallback). Under ``CI=true`` a
missing accelerator is a failure: CI installs with a compiler, so it means the build broke.
"""

from __future__ import annotations

import array
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable
from types import ModuleType

import gostcrypto.gosthash as gosthash
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from providers.upstream.esia import streebog as streebog_module
from providers.upstream.esia.streebog import BytesLike
from providers.upstream.esia.streebog import _pure_streebog256
from providers.upstream.esia.streebog import _pure_streebog512
from providers.upstream.esia.streebog import streebog256
from providers.upstream.esia.streebog import streebog512
from tests.helpers.backends import require
from tests.unit.providers.esia.support import openssl
from tests.unit.providers.esia.support import require_openssl_gost

Hash = Callable[[BytesLike], bytes]

PROPERTY = settings(max_examples=150, deadline=None)
BLOCK_EDGES = [63, 64, 65, 127, 128, 129]


def _native_module() -> ModuleType | None:
    try:
        from providers.upstream.esia import _streebog
    except ImportError:
        return None
    return _streebog


def _native() -> ModuleType:
    """The C accelerator; skips locally, fails under CI=true, when it was not built."""
    module = _native_module()
    require(
        "streebog-native",
        module is not None,
        "providers.upstream.esia._streebog was not built (reinstall with a C compiler: "
        "pip install -e '.[dev]')",
    )
    assert module is not None
    return module


def _native_pair() -> tuple[Hash, Hash]:
    digest = _native().digest
    return (lambda data: digest(data, 32)), (lambda data: digest(data, 64))


@pytest.fixture(params=["native", "python"])
def backend(request: pytest.FixtureRequest) -> tuple[Hash, Hash]:
    """(streebog256, streebog512) of one backend."""
    if request.param == "native":
        return _native_pair()
    return _pure_streebog256, _pure_streebog512


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


def test_m1_matches_the_standard_read_in_library_byte_order(backend: tuple[Hash, Hash]) -> None:
    h256, h512 = backend
    assert h512(M1) == _reversed_hex(M1_512_PRINTED)
    assert h256(M1) == _reversed_hex(M1_256_PRINTED)
    # The order every library (and ESIA's client_certificate_hash) uses:
    assert h256(M1).hex().startswith("9d151eefd8590b89")


def test_m2_matches_the_standard(backend: tuple[Hash, Hash]) -> None:
    h256, h512 = backend
    message = _reversed_hex(M2_PRINTED)
    text = "Се ветри, Стрибожи внуци, веютъ с моря стрелами на храбрыя плъкы Игоревы"
    assert message == text.encode("cp1251")
    assert h512(message) == _reversed_hex(M2_512_PRINTED)
    assert h256(message) == _reversed_hex(M2_256_PRINTED)


def test_public_functions_use_the_native_backend_when_built() -> None:
    forced = os.environ.get("VHOD_STREEBOG", "").strip().lower() == "python"
    if not forced:
        _native()  # skip locally / fail under CI when the accelerator is missing
    expected = "python" if forced else "native"
    assert expected == streebog_module.BACKEND
    assert (streebog_module._native_digest is None) == forced


@pytest.mark.parametrize(
    ("setup", "env"),
    [
        ("", {"VHOD_STREEBOG": "python"}),
        # What an install without a compiler looks like: the extension cannot be imported.
        ("sys.modules['providers.upstream.esia._streebog'] = None", {}),
    ],
    ids=["forced-by-env", "extension-missing"],
)
def test_falls_back_to_pure_python(setup: str, env: dict[str, str]) -> None:
    code = (
        f"import sys; {setup}\n"
        "from providers.upstream.esia import streebog as s\n"
        "print(s.BACKEND, s.streebog256(b'abc').hex(), s.streebog512(b'abc').hex())\n"
    )
    environ = {k: v for k, v in os.environ.items() if k != "VHOD_STREEBOG"} | env
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, env=environ, check=True, timeout=60
    )
    name, h256, h512 = done.stdout.decode().split()
    assert name == "python"
    assert h256 == _pure_streebog256(b"abc").hex()
    assert h512 == _pure_streebog512(b"abc").hex()


@PROPERTY
@given(message=st.binary(max_size=300))
def test_native_matches_pure_python(message: bytes) -> None:
    n256, n512 = _native_pair()
    assert n256(message) == _pure_streebog256(message)
    assert n512(message) == _pure_streebog512(message)


@PROPERTY
@given(message=st.sampled_from(BLOCK_EDGES).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
def test_native_matches_pure_python_at_block_boundaries(message: bytes) -> None:
    n256, n512 = _native_pair()
    assert n256(message) == _pure_streebog256(message)
    assert n512(message) == _pure_streebog512(message)


@pytest.mark.parametrize("length", [*BLOCK_EDGES, 191, 192, 193, 256, 320])
@pytest.mark.parametrize("fill", [0x00, 0xFF])
def test_native_matches_pure_python_on_constant_messages(length: int, fill: int) -> None:
    """All-0xff blocks make Sigma carry across every 64-bit word; all-zero ones never do."""
    n256, n512 = _native_pair()
    message = bytes([fill]) * length
    assert n256(message) == _pure_streebog256(message)
    assert n512(message) == _pure_streebog512(message)


def test_native_accepts_any_buffer() -> None:
    digest = _native().digest
    message = secrets.token_bytes(150)
    for size, pure in ((32, _pure_streebog256), (64, _pure_streebog512)):
        expected = pure(message)
        assert digest(message, size) == expected
        assert digest(bytearray(message), size) == expected
        assert digest(memoryview(message), size) == expected
        assert digest(memoryview(b"xx" + message)[2:], size) == expected
    words = array.array("I", range(40))  # any contiguous buffer counts as its raw bytes
    assert digest(words, 32) == _pure_streebog256(words.tobytes())


@pytest.mark.parametrize("size", [0, 1, 16, 31, 33, 48, 63, 65, 128, -32])
def test_native_rejects_other_sizes(size: int) -> None:
    with pytest.raises(ValueError, match="size must be 32 or 64"):
        _native().digest(b"abc", size)


def test_native_rejects_non_buffers() -> None:
    digest = _native().digest
    with pytest.raises(TypeError):
        digest("abc", 32)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        digest(b"abc", "32")  # type: ignore[arg-type]


def test_native_is_thread_safe() -> None:
    """The GIL is released while hashing; concurrent calls must not disturb each other."""
    digest = _native().digest
    messages = [secrets.token_bytes(64 * i + i) for i in range(1, 9)]
    expected = [_pure_streebog256(m) for m in messages]
    failures: list[int] = []

    def work(index: int) -> None:
        for _ in range(200):
            if digest(messages[index], 32) != expected[index]:
                failures.append(index)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(messages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


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
