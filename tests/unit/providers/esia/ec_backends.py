"""The three point-multiplication backends of gost.py, for tests that run through each.

``gost._native_ec`` (the C code, first in line) and ``gost._openssl_ec`` are what ``gost.py``
dispatches on (both None means pure Python), so a test switches backends by patching them.
The OpenSSL backend skips locally and fails under CI=true when libcrypto cannot be loaded
(CI runs on Debian, where ``libcrypto.so.3`` always is); so does the C backend when the
extension was not built (``make`` builds it; CI has a compiler).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest

from providers.upstream.esia import ec_native
from providers.upstream.esia import ec_openssl
from providers.upstream.esia import gost
from tests.helpers.backends import require

BACKENDS = ("python", "openssl", "native")


T = TypeVar("T")


def _fresh(current: T | None, load: Callable[[], T | None], check: Callable[[T], None]) -> T | None:
    """The backend gost.py loaded, else a fresh load (e.g. under VHOD_GOST_EC=python)."""
    if current is not None:
        return current
    try:
        ec = load()
        if ec is not None:
            check(ec)
    except Exception:
        return None
    return ec


def _required(ec: T | None, backend: str, why: str) -> T:
    """``ec``; skips locally / fails under CI=true when it is None."""
    require(backend, ec is not None, why)
    assert ec is not None
    return ec


@functools.cache
def _loaded() -> ec_openssl.OpenSslEc | None:
    return _fresh(gost._openssl_ec, ec_openssl.load, gost._self_test)


def openssl_ec() -> ec_openssl.OpenSslEc:
    """The OpenSSL backend; skips locally / fails under CI=true when it does not load."""
    return _required(
        _loaded(),
        "gost-ec-openssl",
        "OpenSSL 3 libcrypto (libcrypto.so.3) could not be loaded by ctypes, or failed the "
        "self-test (apt-get install libssl3)",
    )


@functools.cache
def _native_loaded() -> ec_native.NativeEc | None:
    return _fresh(gost._native_ec, ec_native.load, gost._native_self_test)


def native_ec() -> ec_native.NativeEc:
    """The C backend; skips locally / fails under CI=true when it was not built."""
    return _required(
        _native_loaded(),
        "gost-ec-native",
        "the C extension providers/upstream/esia/_streebog was not built, or lacks the EC "
        "functions (make .venv/.installed, with a C compiler)",
    )


@contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Run the block with gost.py's point multiplications on backend ``name`` (``native``
    verifies a key's first use with OpenSSL, as in production)."""
    native = native_ec() if name == "native" else None
    openssl = openssl_ec() if name in ("openssl", "native") else None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gost, "_native_ec", native)
        patch.setattr(gost, "_openssl_ec", openssl)
        yield
