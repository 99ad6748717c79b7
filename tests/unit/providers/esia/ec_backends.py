"""The two point-multiplication backends of gost.py, for tests that run through both.

``gost._openssl_ec`` is what ``gost.py`` dispatches on (None means pure Python), so a test
switches backends by patching it. The OpenSSL backend skips locally and fails under CI=true
when libcrypto cannot be loaded (CI runs on Debian, where ``libcrypto.so.3`` always is).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from providers.upstream.esia import ec_openssl
from providers.upstream.esia import gost
from tests.helpers.backends import require

BACKENDS = ("python", "openssl")


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


@contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Run the block with gost.py's point multiplications on backend ``name``."""
    backend = openssl_ec() if name == "openssl" else None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gost, "_openssl_ec", backend)
        yield
