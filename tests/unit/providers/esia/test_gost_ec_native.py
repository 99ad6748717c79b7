"""The C point-multiplication backend of gost.py (``ec_native.py``, ``_gost_ec.h``).

It must compute exactly what the pure-Python arithmetic computes (edge scalars here, random
ones in ``test_gost_ec.py``'s property tests; every curve, the point at infinity and doublings
inside the sums), be selected first by
default, step aside for ``VHOD_GOST_EC``, fall back quietly, and refuse malformed input.
The whole GOST suite (``test_gost.py``) and the cross-backend tests of ``test_gost_ec.py``
run through it too.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import threading

import pytest

from providers.upstream.esia import ec_native
from providers.upstream.esia import gost
from providers.upstream.esia.ec_native import NativeEc
from providers.upstream.esia.gost import PrivateKey
from providers.upstream.esia.gost_curves import CRYPTOPRO_A
from providers.upstream.esia.gost_curves import CRYPTOPRO_B
from providers.upstream.esia.gost_curves import CRYPTOPRO_C
from providers.upstream.esia.gost_curves import TC26_256_A
from providers.upstream.esia.gost_curves import Curve
from tests.unit.providers.esia.ec_backends import native_ec
from tests.unit.providers.esia.ec_backends import use_backend
from tests.unit.providers.esia.test_gost import TEST_CURVE
from tests.unit.providers.esia.test_gost_ec import _py_base
from tests.unit.providers.esia.test_gost_ec import _py_mul_add

CURVES = [CRYPTOPRO_A, CRYPTOPRO_B, CRYPTOPRO_C, TC26_256_A, TEST_CURVE]


@pytest.fixture
def ec() -> NativeEc:
    return native_ec()


def _g(ec: NativeEc, curve: Curve) -> bytes:
    return gost._native_base_table(ec, curve)


def _key_table(ec: NativeEc, curve: Curve, x: int, y: int) -> bytes:
    return ec.table(curve, gost._fixed_base_rows(curve, x, y))


# --------------------------------------------------------------------------- selection


def test_native_backend_is_selected_first_by_default() -> None:
    forced = os.environ.get("VHOD_GOST_EC", "").strip().lower()
    if forced in ("python", "openssl"):
        assert gost._native_ec is None
        return
    native_ec()  # skip locally / fail under CI when the extension was not built
    assert gost.EC_BACKEND == "native"
    assert isinstance(gost._native_ec, NativeEc)


@pytest.mark.parametrize(("forced", "expected"), [("openssl", "openssl"), ("python", "python")])
def test_environment_leaves_the_c_code_out(ec: NativeEc, forced: str, expected: str) -> None:
    code = (
        "from providers.upstream.esia import gost\n"
        "from providers.upstream.esia.gost_curves import CRYPTOPRO_A\n"
        "key = gost.PrivateKey(CRYPTOPRO_A, 12345)\n"
        "print(gost.EC_BACKEND, gost._native_ec, key.public_key().verify(b'a', key.sign(b'a')))\n"
    )
    environ = dict(os.environ, VHOD_GOST_EC=forced)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, env=environ, check=True, timeout=60
    )
    assert done.stderr == b""
    assert done.stdout.decode().split() == [expected, "None", "True"]


def test_missing_or_wrong_c_code_falls_back_quietly(
    ec: NativeEc, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=gost.__name__)
    monkeypatch.delenv("VHOD_GOST_EC", raising=False)
    monkeypatch.setattr(ec_native, "load", lambda: None)  # not built
    assert gost._load_native_ec() is None

    class Wrong(NativeEc):
        def mul_base(self, curve: Curve, table: bytes, k: int) -> tuple[int, int]:
            return (curve.gx, curve.gy)

    monkeypatch.setattr(ec_native, "load", lambda: Wrong(ec._c))
    assert gost._load_native_ec() is None
    records = [r for r in caplog.records if r.name == gost.__name__]
    assert [r.levelno for r in records] == [logging.DEBUG]
    assert "self-test" in records[0].getMessage()
    monkeypatch.setattr(ec_native, "load", lambda: ec)
    assert gost._load_native_ec() is ec


# --------------------------------------------------------------------------- same points


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_edge_scalars(ec: NativeEc, curve: Curve) -> None:
    q, g = curve.q, _g(ec, curve)
    for k in (1, 2, 3, 15, 16, 17, q - 1, q - 2, (q + 1) // 2, (1 << 128) + 1, (1 << 255) % q):
        assert ec.mul_base(curve, g, k) == _py_base(curve, k), k
    assert ec.mul_base(curve, g, q - 1) == (curve.gx, curve.p - curve.gy)  # -G
    d = secrets.randbelow(q - 1) + 1
    qx, qy = _py_base(curve, d)
    key = _key_table(ec, curve, qx, qy)
    assert ec.mul_add(curve, g, 1, key, 0) == (curve.gx, curve.gy)
    assert ec.mul_add(curve, g, 0, key, 1) == (qx, qy)
    assert ec.mul_add(curve, g, 0, key, 0) is None
    assert ec.mul_add(curve, g, q - d, key, 1) is None  # (q - d) * G + d * G
    assert ec.mul_add(curve, g, d, key, 1) == _py_base(curve, 2 * d % q)  # doubling
    assert ec.mul_add(curve, g, q - 1, key, q - 1) == _py_mul_add(curve, q - 1, qx, qy, q - 1)
    assert ec.mul_add(curve, g, 1, g, q - 1) is None  # G + (-G)


def test_malformed_input_is_refused(ec: NativeEc) -> None:
    field, g = ec.params(CRYPTOPRO_A), _g(ec, CRYPTOPRO_A)
    c = ec._c
    with pytest.raises(ValueError, match="128 bytes"):
        c.ec_field(b"\x01" * 127)
    with pytest.raises(ValueError, match="odd"):
        c.ec_field(b"\x00" * 31 + b"\x02" + bytes(96))
    with pytest.raises(ValueError, match="ec_field"):
        c.ec_mul_base(field[:-1], g, bytes(32))
    with pytest.raises(ValueError, match="ec_table"):
        c.ec_mul_base(field, g[:-8], bytes(32))
    with pytest.raises(ValueError, match="32 bytes"):
        c.ec_mul_base(field, g, bytes(33))
    with pytest.raises(ValueError, match="65 x 8"):
        c.ec_table(field, bytes(64))
    with pytest.raises(ValueError, match="not below p"):
        c.ec_table(field, b"\xff" * (65 * 8 * 64))


def test_key_tables_start_on_second_use_and_are_bounded(ec: NativeEc) -> None:
    curve = CRYPTOPRO_B
    public = PrivateKey.generate(curve).public_key()
    ident = (curve, public.x, public.y)
    assert gost._native_key_table(ec, curve, public.x, public.y) is None  # first use
    table = gost._native_key_table(ec, curve, public.x, public.y)
    assert table is not None
    assert gost._native_key_tables[ident] is table
    for _ in range(gost._KEY_TABLES_MAX + 2):
        other = PrivateKey.generate(curve).public_key()
        for _ in range(2):
            gost._native_key_table(ec, curve, other.x, other.y)
    assert len(gost._native_key_tables) <= gost._KEY_TABLES_MAX
    assert ident not in gost._native_key_tables


def test_threads_sign_and_verify_concurrently(ec: NativeEc) -> None:
    keys = [PrivateKey.generate(curve) for curve in (CRYPTOPRO_A, CRYPTOPRO_C)]
    failures: list[str] = []

    def work(n: int) -> None:
        key = keys[n % 2]
        for i in range(30):
            text = f"{n}:{i}".encode()
            if not key.public_key().verify(text, key.sign(text)):
                failures.append(text.decode())

    with use_backend("native"):
        threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
