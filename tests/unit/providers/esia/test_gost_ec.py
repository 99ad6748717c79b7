"""The OpenSSL point-multiplication backend of gost.py (``ec_openssl.py``).

It must compute exactly what the pure-Python arithmetic computes (random and edge scalars,
the nine parameter sets of tests/data/gost/, OpenSSL's GOST engine both ways), be selected
by default, fall back silently, and stay correct under threads. Under CI=true a backend that
did not load is a failure, not a skip.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from providers.upstream.esia import ec_openssl
from providers.upstream.esia import gost
from providers.upstream.esia.certificates import parse_certificate
from providers.upstream.esia.certificates import parse_private_key
from providers.upstream.esia.ec_openssl import EcUnavailable
from providers.upstream.esia.ec_openssl import OpenSslEc
from providers.upstream.esia.ec_openssl import OpenSslEcError
from providers.upstream.esia.gost import PrivateKey
from providers.upstream.esia.gost import PublicKey
from providers.upstream.esia.gost import encode_signature
from providers.upstream.esia.gost_curves import CRYPTOPRO_A
from providers.upstream.esia.gost_curves import CRYPTOPRO_B
from providers.upstream.esia.gost_curves import CRYPTOPRO_C
from providers.upstream.esia.gost_curves import TC26_256_A
from providers.upstream.esia.gost_curves import Curve
from providers.upstream.esia.streebog import streebog256
from tests.unit.providers.esia import ec_backends
from tests.unit.providers.esia.ec_backends import BACKENDS
from tests.unit.providers.esia.ec_backends import openssl_ec
from tests.unit.providers.esia.ec_backends import use_backend
from tests.unit.providers.esia.support import OPENSSL_PARAM_SETS
from tests.unit.providers.esia.support import cert_path
from tests.unit.providers.esia.support import key_path
from tests.unit.providers.esia.support import openssl
from tests.unit.providers.esia.support import openssl_verifies
from tests.unit.providers.esia.support import require_openssl_gost
from tests.unit.providers.esia.test_gost import EXAMPLE_D
from tests.unit.providers.esia.test_gost import EXAMPLE_K
from tests.unit.providers.esia.test_gost import EXAMPLE_QX
from tests.unit.providers.esia.test_gost import EXAMPLE_QY
from tests.unit.providers.esia.test_gost import EXAMPLE_R
from tests.unit.providers.esia.test_gost import EXAMPLE_S
from tests.unit.providers.esia.test_gost import TEST_CURVE
from tests.unit.providers.esia.test_gost import _affine
from tests.unit.providers.esia.test_gost import _affine_add

CURVES = [CRYPTOPRO_A, CRYPTOPRO_B, CRYPTOPRO_C, TC26_256_A, TEST_CURVE]
PROPERTY = settings(max_examples=60, deadline=None)
TEXT = b"VHOD01openid fullname2025.01.02 03:04:05 +0300https://vhod.example/callback"


@pytest.fixture
def ec() -> OpenSslEc:
    return openssl_ec()


def _forced_python() -> bool:
    return os.environ.get("VHOD_GOST_EC", "").strip().lower() == "python"


# --------------------------------------------------------------------------- references


def _py_base(curve: Curve, k: int) -> tuple[int, int]:
    return gost._mul_base_uniform(gost._math_for(curve), k)


def _py_mul_add(curve: Curve, u1: int, qx: int, qy: int, u2: int) -> tuple[int, int] | None:
    """Pure Python ``u1*G + u2*Q`` by plain double-and-add (independent of the tables)."""
    g = gost._mul_vartime(curve, u1, curve.gx, curve.gy)
    q = gost._mul_vartime(curve, u2, qx, qy)
    return _affine_add(curve, _affine(curve, g), _affine(curve, q))


# --------------------------------------------------------------------------- selection


def test_openssl_backend_is_loaded_by_default() -> None:
    """Loaded beside the C backend (which ``test_gost_ec_native.py`` checks): a key's first
    verification goes to OpenSSL."""
    if _forced_python():
        assert gost.EC_BACKEND == "python"
        assert gost._openssl_ec is None
        return
    openssl_ec()  # skip locally / fail under CI when libcrypto cannot be used
    assert gost.EC_BACKEND in ("native", "openssl")
    assert isinstance(gost._openssl_ec, OpenSslEc)
    assert gost._openssl_ec.version >= 0x3000_0000


@pytest.mark.parametrize(
    ("setup", "env"),
    [
        ("", {"VHOD_GOST_EC": "python"}),
        ("", {"VHOD_GOST_EC": " Python "}),
        # A machine without libcrypto: neither the soname nor find_library finds it (and
        # the C backend is left out by VHOD_GOST_EC=openssl).
        (
            "import ctypes, ctypes.util\n"
            "def no_lib(*a, **k): raise OSError('no libcrypto')\n"
            "ctypes.CDLL = no_lib\n"
            "ctypes.util.find_library = lambda name: None\n",
            {"VHOD_GOST_EC": "openssl"},
        ),
    ],
    ids=["forced-by-env", "forced-any-case", "libcrypto-missing"],
)
def test_falls_back_to_pure_python(setup: str, env: dict[str, str]) -> None:
    code = (
        f"{setup}\n"
        "from providers.upstream.esia import gost\n"
        "from providers.upstream.esia.gost_curves import CRYPTOPRO_A\n"
        "key = gost.PrivateKey(CRYPTOPRO_A, 12345)\n"
        "sig = key.sign(b'abc')\n"
        "print(gost.EC_BACKEND, key.public_key().verify(b'abc', sig), key.public_key().x)\n"
    )
    environ = {k: v for k, v in os.environ.items() if k != "VHOD_GOST_EC"} | env
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, env=environ, check=True, timeout=60
    )
    assert done.stderr == b""  # silent: no warning, no log output
    name, verified, x = done.stdout.decode().split()
    assert (name, verified) == ("python", "True")
    assert int(x) == _py_base(CRYPTOPRO_A, 12345)[0]


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_unloadable_backend_fails_under_ci_and_skips_locally(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setattr(ec_backends, "_loaded", lambda: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="gost-ec-openssl unavailable"):
        openssl_ec()


class _LibWithout:
    """The real libcrypto minus one function, or with an older version number."""

    def __init__(self, missing: str = "", version: int | None = None) -> None:
        self._real = ec_openssl._open_libcrypto()
        self._missing = missing
        self._version = version

    def __getattr__(self, name: str) -> Any:
        if name == self._missing:
            raise AttributeError(name)
        if name == "OpenSSL_version_num" and self._version is not None:
            version = self._version

            def fake() -> int:
                return version

            return fake
        return getattr(self._real, name)


@pytest.mark.parametrize("missing", ["EC_POINT_mul", "BN_bn2binpad", "EC_GROUP_new_curve_GFp"])
def test_missing_symbol_is_unavailable(ec: OpenSslEc, missing: str) -> None:
    with pytest.raises(EcUnavailable, match=missing):
        ec_openssl.load(_LibWithout(missing))


def test_openssl_1_1_is_unavailable(ec: OpenSslEc) -> None:
    with pytest.raises(EcUnavailable, match=r"older than OpenSSL 3\.0"):
        ec_openssl.load(_LibWithout(version=0x1010_117F))


def test_without_precompute_mult_still_works(ec: OpenSslEc) -> None:
    """EC_GROUP_precompute_mult is deprecated; without it there are no per-key groups."""
    bare = ec_openssl.load(_LibWithout("EC_GROUP_precompute_mult"))
    key = PrivateKey.generate(CRYPTOPRO_C)
    public = key.public_key()
    for _ in range(3):
        u1, u2 = secrets.randbelow(CRYPTOPRO_C.q), secrets.randbelow(CRYPTOPRO_C.q)
        expected = _py_mul_add(CRYPTOPRO_C, u1, public.x, public.y, u2)
        assert bare.mul_add(CRYPTOPRO_C, u1, public.x, public.y, u2) == expected
    assert bare._key_groups == {}
    assert bare.mul_base(CRYPTOPRO_C, 77) == _py_base(CRYPTOPRO_C, 77)


def test_load_failure_and_bad_self_test_fall_back_quietly(
    ec: OpenSslEc, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=gost.__name__)
    monkeypatch.delenv("VHOD_GOST_EC", raising=False)

    def unavailable(lib: object = None) -> OpenSslEc:
        raise EcUnavailable("no libcrypto here")

    monkeypatch.setattr(ec_openssl, "load", unavailable)
    assert gost._load_openssl_ec() is None

    class Wrong:
        def mul_base(self, curve: Curve, k: int) -> tuple[int, int]:
            return (curve.gx, curve.gy)

        def mul_add(self, *args: object) -> tuple[int, int] | None:
            return None

    monkeypatch.setattr(ec_openssl, "load", lambda lib=None: Wrong())
    assert gost._load_openssl_ec() is None
    records = [r for r in caplog.records if r.name == gost.__name__]
    assert [r.levelno for r in records] == [logging.DEBUG, logging.DEBUG]
    assert "no libcrypto here" in records[0].getMessage()
    assert "self-test" in records[1].getMessage()

    monkeypatch.setattr(ec_openssl, "load", lambda lib=None: ec)
    assert gost._load_openssl_ec() is ec
    monkeypatch.setenv("VHOD_GOST_EC", "python")
    assert gost._load_openssl_ec() is None


# --------------------------------------------------------------------------- same points


ACCELERATED = st.sampled_from(["openssl", "native"])


@PROPERTY
@given(
    backend=ACCELERATED,
    curve=st.sampled_from(CURVES),
    k=st.integers(min_value=1, max_value=1 << 256),
)
def test_base_multiplication_matches_pure_python(backend: str, curve: Curve, k: int) -> None:
    k = k % (curve.q - 1) + 1
    with use_backend(backend):
        assert gost._base_mul(curve, k) == _py_base(curve, k)


@PROPERTY
@given(
    backend=ACCELERATED,
    curve=st.sampled_from(CURVES),
    d=st.integers(min_value=1, max_value=1 << 256),
    u1=st.integers(min_value=0, max_value=1 << 256),
    u2=st.integers(min_value=0, max_value=1 << 256),
)
def test_double_multiplication_matches_pure_python(
    backend: str, curve: Curve, d: int, u1: int, u2: int
) -> None:
    q = curve.q
    qx, qy = _py_base(curve, d % (q - 1) + 1)
    u1, u2 = u1 % q, u2 % q
    expected = _py_mul_add(curve, u1, qx, qy, u2)
    jacobian = gost._mul_add_vartime(curve, u1, qx, qy, u2)
    assert _affine(curve, jacobian) == expected  # the pure-Python fast path, as a cross-check
    with use_backend(backend):
        # The key's first use (OpenSSL: one joint EC_POINT_mul), then its own group or
        # table (native: the C code), then again.
        for _ in range(3):
            assert gost._verify_mul(curve, u1, qx, qy, u2) == expected


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_edge_scalars(ec: OpenSslEc, curve: Curve) -> None:
    q = curve.q
    for k in (1, 2, 3, q - 1, q - 2, (q + 1) // 2, (1 << 128) + 1, (1 << 255) % q):
        assert ec.mul_base(curve, k) == _py_base(curve, k), k
    assert ec.mul_base(curve, q - 1) == (curve.gx, curve.p - curve.gy)  # -G
    for k in (0, q):
        with pytest.raises(OpenSslEcError, match="infinity"):
            ec.mul_base(curve, k)
    d = secrets.randbelow(q - 1) + 1
    qx, qy = _py_base(curve, d)
    for _ in range(2):  # the joint path, then the per-key group
        assert ec.mul_add(curve, 1, qx, qy, 0) == (curve.gx, curve.gy)
        assert ec.mul_add(curve, 0, qx, qy, 1) == (qx, qy)
        assert ec.mul_add(curve, 0, qx, qy, 0) is None
        assert ec.mul_add(curve, q - d, qx, qy, 1) is None  # (q - d) * G + d * G
        assert ec.mul_add(curve, q - 1, qx, qy, q - 1) == _py_mul_add(curve, q - 1, qx, qy, q - 1)
        assert ec.mul_add(curve, 1, curve.gx, curve.gy, q - 1) is None  # G + (-G)
        assert ec.mul_add(curve, 1, curve.gx, curve.gy, 1) == _py_base(curve, 2)  # doubling


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_signature_whose_check_point_is_infinity_is_rejected(backend: str, curve: Curve) -> None:
    """s = r*d (mod q) makes z1*G + z2*Q the identity: a False, not an exception."""
    key = PrivateKey.generate(curve)
    public = key.public_key()
    d = key._d
    digest = streebog256(b"infinity")
    r = secrets.randbelow(curve.q - 1) + 1
    signature = encode_signature(r, r * d % curve.q)
    with use_backend(backend):
        for _ in range(3):  # first use and the per-key paths
            assert public.verify_digest(digest, signature) is False


def test_point_off_the_curve_raises_and_clears_the_error_queue(ec: OpenSslEc) -> None:
    gx, gy = CRYPTOPRO_A.gx, CRYPTOPRO_A.gy
    for _ in range(2):
        with pytest.raises(OpenSslEcError, match="point is not on curve"):
            ec.mul_add(CRYPTOPRO_A, 1, gx, gy ^ 1, 1)
        assert ec._err_get() == 0  # nothing left behind for Python's ssl module


def test_key_groups_start_on_second_use_and_are_bounded(ec: OpenSslEc) -> None:
    curve = CRYPTOPRO_B
    public = PrivateKey.generate(curve).public_key()
    params = ec_openssl._params(curve, public.x, public.y)
    u1, u2 = secrets.randbelow(curve.q), secrets.randbelow(curve.q)
    expected = _py_mul_add(curve, u1, public.x, public.y, u2)
    assert ec.mul_add(curve, u1, public.x, public.y, u2) == expected
    assert ec._key_groups[params] is None  # seen once: no group yet
    assert ec.mul_add(curve, u1, public.x, public.y, u2) == expected
    group = ec._key_groups[params]
    assert group is not None
    assert group.precomputed
    for _ in range(ec_openssl._KEY_GROUPS_MAX + 3):
        other = PrivateKey.generate(curve).public_key()
        for _ in range(2):
            ec.mul_add(curve, 1, other.x, other.y, 1)
    assert len(ec._key_groups) <= ec_openssl._KEY_GROUPS_MAX
    assert params not in ec._key_groups
    # Evicted but still referenced here: the EC_GROUP is alive and usable.
    assert group.ptr
    assert ec.mul_add(curve, u1, public.x, public.y, u2) == expected


def test_one_group_per_parameter_set(ec: OpenSslEc) -> None:
    twin = Curve(
        name="a copy of CryptoPro-A",
        p=CRYPTOPRO_A.p,
        a=CRYPTOPRO_A.a,
        b=CRYPTOPRO_A.b,
        q=CRYPTOPRO_A.q,
        gx=CRYPTOPRO_A.gx,
        gy=CRYPTOPRO_A.gy,
    )
    assert ec.group(twin) is ec.group(CRYPTOPRO_A)
    assert ec.group(CRYPTOPRO_B) is not ec.group(CRYPTOPRO_A)


# --------------------------------------------------------------------------- the standard


@pytest.mark.parametrize("backend", BACKENDS)
def test_standard_example_through_each_backend(backend: str) -> None:
    digest = (0x2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5).to_bytes(
        32, "little"
    )
    with use_backend(backend):
        key = PrivateKey(TEST_CURVE, EXAMPLE_D)
        public = key.public_key()
        assert (public.x, public.y) == (EXAMPLE_QX, EXAMPLE_QY)
        signature = key._sign_with_k(digest, EXAMPLE_K)
        assert signature == encode_signature(EXAMPLE_R, EXAMPLE_S)
        assert key._sign_with_k(digest, EXAMPLE_K) == signature  # deterministic with fixed k
        assert PublicKey(TEST_CURVE, EXAMPLE_QX, EXAMPLE_QY).verify_digest(digest, signature)
        assert not public.verify_digest(digest, encode_signature(EXAMPLE_R, EXAMPLE_S + 1))


# --------------------------------------------------------------------------- the nine sets


@pytest.mark.parametrize(
    ("signer", "verifier"),
    [("python", "openssl"), ("openssl", "python"), ("native", "python"), ("python", "native")],
)
@pytest.mark.parametrize("name", sorted(OPENSSL_PARAM_SETS))
def test_sign_with_one_backend_verify_with_the_other(name: str, signer: str, verifier: str) -> None:
    cert_key = parse_certificate(cert_path(name).read_bytes()).public_key
    with use_backend(signer):
        key = parse_private_key(key_path(name).read_bytes())
        public = key.public_key()
        signatures = [key.sign(TEXT) for _ in range(3)]
    assert (public.x, public.y) == (cert_key.x, cert_key.y)
    with use_backend(verifier):
        assert parse_private_key(key_path(name).read_bytes()).public_key() == public
        for signature in signatures:
            assert cert_key.verify(TEXT, signature)
            assert not cert_key.verify(TEXT + b".", signature)


@pytest.fixture
def openssl_files(tmp_path: Path) -> Path:
    require_openssl_gost()
    return tmp_path


@pytest.mark.openssl
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(OPENSSL_PARAM_SETS))
def test_gost_engine_agrees_both_ways(name: str, backend: str, openssl_files: Path) -> None:
    """Our signatures (made by ``backend``) verify in OpenSSL's engine, and vice versa."""
    with use_backend(backend):
        key = parse_private_key(key_path(name).read_bytes())
        cert = parse_certificate(cert_path(name).read_bytes())
        signature = key.sign(TEXT)
    assert openssl_verifies(name, signature, TEXT, openssl_files)
    theirs = openssl(
        "dgst", "-engine", "gost", "-md_gost12_256", "-sign", key_path(name), stdin=TEXT
    )
    with use_backend(backend):
        for _ in range(2):
            assert cert.public_key.verify(TEXT, theirs)
            assert not cert.public_key.verify(TEXT + b"!", theirs)


# --------------------------------------------------------------------------- threads


def test_threads_sign_and_verify_concurrently() -> None:
    """Many threads on shared groups, with per-key groups built and evicted meanwhile."""
    with use_backend("openssl"):
        keys = [PrivateKey.generate(curve) for curve in CURVES[:4] for _ in range(3)]
        publics = [key.public_key() for key in keys]
        # More distinct keys than the per-key LRU holds, so evictions happen under load.
        churn = [PrivateKey.generate(CRYPTOPRO_A) for _ in range(ec_openssl._KEY_GROUPS_MAX + 8)]
        churn_signed = [(k.public_key(), k.sign(b"churn")) for k in churn]
        failures: list[str] = []
        start = threading.Barrier(8)

        def work(index: int) -> None:
            start.wait()
            for round_ in range(25):
                key = keys[(index + round_) % len(keys)]
                public = publics[(index + round_) % len(keys)]
                message = f"{index}:{round_}".encode()
                signature = key.sign(message)
                if not public.verify(message, signature):
                    failures.append(f"{index}:{round_} did not verify")
                if public.verify(message + b"x", signature):
                    failures.append(f"{index}:{round_} verified a wrong message")
                other, other_sig = churn_signed[(index * 7 + round_) % len(churn_signed)]
                if not other.verify(b"churn", other_sig):
                    failures.append(f"{index}:{round_} churn key did not verify")

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    # The signatures made under load are still good for the pure-Python verifier.
    with use_backend("python"):
        for key, public in zip(keys[:4], publics[:4], strict=True):
            assert public.verify(b"after", key.sign(b"after"))
