"""The three point-multiplication backends of gost.py, for tests that run through each.

``gost._native_ec`` (the C code, first in line) and ``gost._openssl_ec`` are what ``gost.py``
dispatches on (both None means pure Python), so a test switches backends by patching them.
The OpenSSL backend skips locally and fails under CI=true when libcrypto cannot be loaded
(CI runs on Debian, where ``libcrypto.so.3`` always is); so does the C backend when the
extension was not built (``make`` builds it; CI has a compiler).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from providers.upstream.esia import ec_native
from providers.upstream.esia import ec_openssl
from providers.upstream.esia import gost
from tests.helpers.backends import require

BACKENDS = ("python", "openssl", "native")


@functools.cache
def _loaded() -> ec_openssl.OpenSslEc | None:
    """The backend gost.py loaded, else a fresh load (e.g. under VHOD_GOST_EC=python)."""
    if gost._openssl_ec is not None:
        return gost._openssl_ec
    try:
        ec = ec_openssl.load()
        gost._self_test(ec)
    except Exception:
        return None
    return ec


def openssl_ec() -> ec_openssl.OpenSslEc:
    """The OpenSSL backend; skips locally / fails under CI=true when it does not load."""
    ec = _loaded()
    require(
        "gost-ec-openssl",
        ec is not None,
        "OpenSSL 3 libcrypto (libcrypto.so.3) could not be loaded by ctypes, or failed the "
        "self-test (apt-get install libssl3)",
    )
    assert ec is not None
    return ec


@functools.cache
def _native_loaded() -> ec_native.NativeEc | None:
    """The C backend gost.py loaded, else a fresh load (e.g. under VHOD_GOST_EC=python)."""
    if gost._native_ec is not None:
        return gost._native_ec
    try:
        ec = ec_native.load()
        if ec is not None:
            gost._native_self_test(ec)
    except Exception:
        return None
    return ec


def native_ec() -> ec_native.NativeEc:
    """The C backend; skips locally / fails under CI=true when it was not built."""
    ec = _native_loaded()
    require(
        "gost-ec-native",
        ec is not None,
        "the C extension providers/upstream/esia/_streebog was not built, or lacks the EC "
        "functions (make .venv/.installed, with a C compiler)",
    )
    assert ec is not None
    return ec


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
