"""GOST R 34.10-2012 signatures with 256-bit keys: sign, verify, keys.

Specification: GOST R 34.10-2012 §6.1 (signing) and §6.2 (verification), in English RFC 7091;
curve parameters in ``gost_curves.py``. ESIA needs this for the v2 ``client_secret`` (a raw
signature), the v1 CMS ``client_secret`` (``signing.py``) and for ESIA's GOST-signed JWTs.

Byte conventions (what OpenSSL gost-engine, X.509/CMS, ESIA JWTs and the ESIA v2
``client_secret`` use; RFC 4491 §2.2.2 and §2.3.2)
    * public key: 64 bytes, X (32, little-endian) || Y (32, little-endian);
    * private key: a 32-byte little-endian scalar;
    * digest to integer: the Streebog-256 output read as a **little-endian** integer ``e``
      (``e = 1`` when it is 0 mod q, §6.1 step 2);
    * signature: 64 bytes, **s (32, big-endian) || r (32, big-endian)** -- what
      ``openssl dgst -md_gost12_256 -sign`` writes. CryptoPro CAPI writes the byte-reverse of
      that; ``gostcrypto`` works with big-endian r || s.

Backends for the point multiplications
    The GOST logic (digest to ``e``, ``r`` and ``s``, range checks, encodings, key
    validation) is Python here. The two point multiplications -- ``k*G`` when signing (and
    ``d*G`` for a public key), ``z1*G + z2*Q`` when verifying -- go first to the C code built
    into the ``_streebog`` extension (``ec_native.py``, ``_gost_ec.h``: this module's
    fixed-base tables and recoding over Montgomery field arithmetic, about 6x faster than
    OpenSSL for signing; a verification with a key's first use goes on to the next backend),
    then to the system's OpenSSL 3 libcrypto through ctypes when it loads (``ec_openssl.py``,
    whose docstring says what its ladder does and does not promise about timing), and to the
    pure-Python code below otherwise. :data:`EC_BACKEND` says which comes first
    (``"native"``, ``"openssl"`` or ``"python"``); each is chosen once, at import, after a
    small self-test, and a failure to load is silent (a DEBUG log line).
    ``VHOD_GOST_EC=python`` in the environment forces pure Python, ``VHOD_GOST_EC=openssl``
    leaves the C code out (any other value, or none, means "each if it loads"). The backends
    compute the same points; the tests compare them and run the GOST tests through each.

Speed of the pure-Python backend (all Python ``int`` arithmetic, no extension modules)
    * Signing computes ``k*G`` with a fixed-base table per curve: row ``i`` holds the odd
      multiples ``1, 3, ..., 15`` of ``16^i * G`` (65 rows x 8 affine points). The scalar is
      recoded into 65 signed odd digits (Joye-Tunstall regular recoding), so ``k*G`` is the sum
      of 65 table points: no doublings at all. The accumulator uses the complete projective
      formulas of Renes-Costello-Batina (eprint 2015/1060, Algorithm 2 with Z2 = 1), which have
      no exceptional cases for points of the prime-order subgroup.
    * Verification computes ``z1*G + z2*Q`` in Jacobian coordinates: ``z2*Q`` by width-5 NAF
      (doublings use the a = -3 shortcut on the CryptoPro curves), then ``z1*G`` by the same
      fixed-base table (variable time: public data). From its second verification on, a
      public key gets a fixed-base table of its own (LRU of 32 keys), and ``z2*Q`` is then
      also doubling-free. One modular inversion per operation (``pow(x, -1, p)``, in C).
    * Tables are built lazily, once per curve (about 15 ms), and cached; ``python -m bench
      gost`` prints the figures against ``gostcrypto``.

What the signing path promises about timing, and what it cannot
    The *schedule* of operations does not depend on secret values: the recoding runs a fixed
    number of steps with masks instead of branches, each table row is scanned completely and
    the wanted entry is picked with AND/OR masks, every row costs exactly one complete
    addition, the nonce is made odd by an arithmetic select (``k`` or ``k + q``), and the
    final inversion is blinded by a random factor. That removes the secret-dependent branches
    and table indices that make classic double-and-add implementations leak.

    It is **not** a constant-time guarantee. CPython's big integers have variable length:
    multiplication, ``%``, ``&`` and ``|`` run in time that depends on the operands' sizes (a
    masked-out entry is a zero, an intermediate with leading zero limbs is shorter), small ints
    are cached objects, and the allocator and the interpreter add noise of their own. The
    final ``s = r*d + k*e mod q`` uses plain big-int arithmetic on the key. A local attacker
    who can measure this process precisely may still learn something; keep the signing key
    on a host you control, or use the OpenSSL or a hardware backend (``signing.py``) where
    that matters. Python also cannot wipe memory: the scalar stays in an immutable ``int``
    until it is garbage-collected. With the C backend ``k*G`` runs the same schedule in
    C on fixed-size limbs (masked selects and corrections, no branch or table index on the
    nonce, its limbs wiped; ``_gost_ec.h``), with the OpenSSL backend in OpenSSL's Montgomery
    ladder (``ec_openssl.py``); the Python arithmetic around either (the nonce, ``s``,
    handing ``k`` over as bytes) is as described here.

    The nonce ``k`` comes from :mod:`secrets` (the OS CSPRNG), fresh for every signature.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Literal
from typing import NoReturn

from gateway.core.errors import GatewayError
from providers.upstream.esia import ec_native
from providers.upstream.esia import ec_openssl
from providers.upstream.esia.gost_curves import CRYPTOPRO_A
from providers.upstream.esia.gost_curves import Curve
from providers.upstream.esia.streebog import streebog256

__all__ = [
    "EC_BACKEND",
    "SIGNATURE_SIZE",
    "GostError",
    "PrivateKey",
    "PublicKey",
    "decode_signature",
    "digest_to_int",
    "encode_signature",
]

SIGNATURE_SIZE = 64
_COORD = 32

_Jacobian = tuple[int, int, int]
_Affine = tuple[int, int]
_Row = tuple[tuple[int, ...], tuple[int, ...]]
_M256 = (1 << 256) - 1

log = logging.getLogger(__name__)


class GostError(GatewayError, ValueError):
    """Malformed GOST input: a bad key, a point off the curve, an unsupported parameter set.

    A :class:`ValueError` too, so callers that validate input can catch the usual type.
    """


# --------------------------------------------------------------------------- byte conventions


def digest_to_int(digest: bytes, q: int) -> int:
    """``e`` of GOST R 34.10-2012 §6.1 step 2: the digest as a little-endian integer mod q.

    Zero is replaced by 1, as the standard says.
    """
    e = int.from_bytes(digest, "little") % q
    return e or 1


def encode_signature(r: int, s: int) -> bytes:
    """The 64-byte wire form s (32, big-endian) || r (32, big-endian); RFC 4491 §2.2.2."""
    return s.to_bytes(_COORD, "big") + r.to_bytes(_COORD, "big")


def decode_signature(signature: bytes) -> tuple[int, int]:
    """Split the 64-byte wire form into ``(r, s)``; the range checks are the verifier's job."""
    if len(signature) != SIGNATURE_SIZE:
        raise GostError(f"a GOST R 34.10-2012 signature is 64 bytes, got {len(signature)}")
    return int.from_bytes(signature[_COORD:], "big"), int.from_bytes(signature[:_COORD], "big")


# --------------------------------------------------------------------------- Jacobian (public)

# The point at infinity in Jacobian coordinates is any (X, Y, 0).
_INFINITY: _Jacobian = (1, 1, 0)


def _jac_double(x1: int, y1: int, z1: int, p: int, a: int, a_m3: bool) -> _Jacobian:
    """2P in Jacobian coordinates (EFD dbl-2001-b for a = -3, dbl-2007-bl otherwise)."""
    if not z1 or not y1:
        return _INFINITY
    yy = y1 * y1 % p
    s = 4 * x1 * yy % p
    zz = z1 * z1 % p
    # M = 3X^2 + aZ^4; with a = -3 it factors as 3(X - Z^2)(X + Z^2).
    m = 3 * (x1 - zz) * (x1 + zz) % p if a_m3 else (3 * x1 * x1 + a * (zz * zz % p)) % p
    x3 = (m * m - 2 * s) % p
    y3 = (m * (s - x3) - 8 * yy * yy) % p
    z3 = 2 * y1 * z1 % p
    return x3, y3, z3


def _jac_add_affine(
    x1: int, y1: int, z1: int, x2: int, y2: int, p: int, a: int, a_m3: bool
) -> _Jacobian:
    """P + Q with P Jacobian and Q affine (EFD madd), handling the exceptional cases."""
    if not z1:
        return x2, y2, 1
    z1z1 = z1 * z1 % p
    u2 = x2 * z1z1 % p
    s2 = y2 * z1 * z1z1 % p
    h = u2 - x1
    r = s2 - y1
    if not h % p:
        if r % p:
            return _INFINITY
        return _jac_double(x2, y2, 1, p, a, a_m3)
    hh = h * h % p
    hhh = h * hh % p
    v = x1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    y3 = (r * (v - x3) - y1 * hhh) % p
    z3 = z1 * h % p
    return x3, y3, z3


def _to_affine_batch(points: Sequence[_Jacobian], p: int) -> list[_Affine]:
    """Normalise finite Jacobian points with one inversion (Montgomery's trick)."""
    prefix = [1]
    for _, _, z in points:
        prefix.append(prefix[-1] * z % p)
    inv = pow(prefix[-1], -1, p)
    out: list[_Affine] = [(0, 0)] * len(points)
    for i in range(len(points) - 1, -1, -1):
        x, y, z = points[i]
        zinv = inv * prefix[i] % p
        inv = inv * z % p
        zinv2 = zinv * zinv % p
        out[i] = (x * zinv2 % p, y * zinv2 * zinv % p)
    return out


def _mul_vartime(curve: Curve, k: int, x: int, y: int) -> _Jacobian:
    """k * (x, y) by plain double-and-add; public data only (used for subgroup checks)."""
    p, a, a_m3 = curve.p, curve.a, curve.a_is_minus_3
    acc = _INFINITY
    for bit in bin(k)[2:]:
        acc = _jac_double(*acc, p, a, a_m3)
        if bit == "1":
            acc = _jac_add_affine(*acc, x, y, p, a, a_m3)
    return acc


# --------------------------------------------------------------------------- complete addition


def _add_complete_mixed(
    x1: int, y1: int, z1: int, x2: int, y2: int, p: int, a: int, b3: int
) -> tuple[int, int, int]:
    """P + Q, P projective (X:Y:Z), Q affine and finite; complete for the prime-order subgroup.

    Renes-Costello-Batina, "Complete addition formulas for prime order elliptic curves"
    (eprint 2015/1060), Algorithm 2 (a general, Z2 = 1): 11 multiplications plus three by
    ``a`` and two by ``3b``. ``a`` may be passed as ``-3``, which makes those three cheap.
    The same straight-line code runs whatever the inputs are: doubling, P = -Q and
    P = infinity need no branch. (The formulas are complete when the curve has no point of
    order 2 -- true for every set here except TC26-A, whose cofactor is 4; there every
    point we add lies in the odd-order subgroup, where no exceptional pair exists.)
    """
    t0 = x1 * x2 % p
    t1 = y1 * y2 % p
    t3 = ((x2 + y2) * (x1 + y1) - t0 - t1) % p
    t4 = (x2 * z1 + x1) % p
    t5 = (y2 * z1 + y1) % p
    az1 = a * z1 % p
    z3 = (a * t4 + b3 * z1) % p
    x3 = t1 - z3
    z3 = t1 + z3
    y3 = x3 * z3
    t1 = 3 * t0 + az1
    t4 = (b3 * t4 + a * (t0 - az1)) % p
    y3 = (y3 + t1 * t4) % p
    x3 = (t3 * x3 - t5 * t4) % p
    z3 = (t5 * z3 + t3 * t1) % p
    return x3, y3, z3


# --------------------------------------------------------------------------- fixed-base table

_WINDOW = 4
_ODD = 1 << (_WINDOW - 1)  # 8 odd multiples per row: 1, 3, ..., 15
_ROWS = 65  # recoded digits of an odd scalar below 2^257 (k or k + q)


@dataclass(frozen=True)
class _CurveMath:
    """Per-curve constants and the fixed-base table, built once (see :func:`_math_for`)."""

    p: int
    q: int
    a: int  # -3 for the CryptoPro curves (cheap multiplications), else the real a
    a_full: int
    a_m3: bool
    b3: int
    rows: tuple[_Row, ...] = field(repr=False)
    packed: tuple[tuple[int, ...], ...] = field(repr=False)  # x | y << 256, for the scan


_math_cache: dict[Curve, _CurveMath] = {}  # curves hash by identity (eq=False)
_math_lock = threading.Lock()


def _math_for(curve: Curve) -> _CurveMath:
    """The cached :class:`_CurveMath` of ``curve``, building the table on first use."""
    math = _math_cache.get(curve)
    if math is None:
        with _math_lock:
            math = _math_cache.get(curve)
            if math is None:
                math = _build_math(curve)
                _math_cache[curve] = math
    return math


def _fixed_base_rows(curve: Curve, bx: int, by: int) -> tuple[_Row, ...]:
    """Rows ``i = 0..64``: affine ``(2j + 1) * 16^i * B`` for ``j = 0..7``."""
    p, a, a_m3 = curve.p, curve.a, curve.a_is_minus_3
    rows: list[_Row] = []
    for _ in range(_ROWS):
        (dx, dy) = _to_affine_batch([_jac_double(bx, by, 1, p, a, a_m3)], p)[0]
        multiples: list[_Jacobian] = [(bx, by, 1)]
        for _ in range(_ODD - 1):
            multiples.append(_jac_add_affine(*multiples[-1], dx, dy, p, a, a_m3))
        multiples.append(_jac_add_affine(*multiples[-1], bx, by, p, a, a_m3))  # 16 * B
        affine = _to_affine_batch(multiples, p)
        rows.append((tuple(x for x, _ in affine[:_ODD]), tuple(y for _, y in affine[:_ODD])))
        bx, by = affine[_ODD]
    return tuple(rows)


def _build_math(curve: Curve) -> _CurveMath:
    """The constants and the fixed-base table of ``curve``'s base point."""
    if not curve.contains(curve.gx, curve.gy):
        raise GostError(f"{curve.name}: base point is not on the curve")
    p, a_m3 = curve.p, curve.a_is_minus_3
    rows = _fixed_base_rows(curve, curve.gx, curve.gy)
    return _CurveMath(
        p=p,
        q=curve.q,
        a=-3 if a_m3 else curve.a,
        a_full=curve.a,
        a_m3=a_m3,
        b3=3 * curve.b % p,
        rows=rows,
        packed=tuple(tuple(x | y << 256 for x, y in zip(*row, strict=True)) for row in rows),
    )


def _recode(k: int, q: int) -> list[int]:
    """65 signed odd digits ``d_i`` in [-15, 15] with ``sum(d_i * 16^i) = k (mod q)``.

    ``k`` is first made odd without a branch (``k`` or ``k + q``; q is odd and ``q * G`` is
    the identity), then each step takes ``d = (k mod 32) - 16`` and continues with
    ``(k - d) / 16``, which stays odd (Joye-Tunstall). The loop runs the same 64 steps for
    every ``k``; the last digit is what remains (odd, at most 3).
    """
    k += ((k & 1) ^ 1) * q
    digits = []
    for _ in range(_ROWS - 1):
        d = (k & 31) - 16
        digits.append(d)
        k = (k - d) >> _WINDOW
    digits.append(k)
    return digits


def _mul_base_uniform(math: _CurveMath, k: int) -> _Affine:
    """``k * G`` with an operation schedule that does not depend on ``k`` (module docstring)."""
    p, a, b3 = math.p, math.a, math.b3
    x, y, z = 0, 1, 0  # projective infinity
    for (e0, e1, e2, e3, e4, e5, e6, e7), d in zip(math.packed, _recode(k, math.q), strict=True):
        neg = (d >> 8) & 1  # 1 if d < 0
        i = ((d ^ -neg) + neg) >> 1  # |d| = 2i + 1, i in 0..7
        # Read all 8 entries; ((i ^ j) - 1) >> 8 is -1 (all ones) for j == i, else 0.
        sel = (
            e0 & ((i - 1) >> 8)
            | e1 & (((i ^ 1) - 1) >> 8)
            | e2 & (((i ^ 2) - 1) >> 8)
            | e3 & (((i ^ 3) - 1) >> 8)
            | e4 & (((i ^ 4) - 1) >> 8)
            | e5 & (((i ^ 5) - 1) >> 8)
            | e6 & (((i ^ 6) - 1) >> 8)
            | e7 & (((i ^ 7) - 1) >> 8)
        )
        x2 = sel & _M256
        y2 = sel >> 256
        y2 ^= (y2 ^ (p - y2)) & -neg  # negate the point when d < 0
        x, y, z = _add_complete_mixed(x, y, z, x2, y2, p, a, b3)
    # Blinded inversion: pow(.., -1, p) runs in variable time, so invert z * beta instead.
    beta = secrets.randbelow(p - 1) + 1
    zinv = pow(z * beta % p, -1, p) * beta % p
    return x * zinv % p, y * zinv % p


def _wnaf(k: int, width: int) -> list[int]:
    """Width-w NAF digits of ``k``, least significant first (public scalars only)."""
    digits: list[int] = []
    full = 1 << width
    half = full >> 1
    while k:
        if k & 1:
            d = k & (full - 1)
            if d >= half:
                d -= full
            k -= d
        else:
            d = 0
        digits.append(d)
        k >>= 1
    return digits


_NAF_WIDTH = 5


def _add_fixed_base(acc: _Jacobian, math: _CurveMath, rows: tuple[_Row, ...], u: int) -> _Jacobian:
    """``acc + u * B`` where ``rows`` is B's fixed-base table (public ``u``, variable time)."""
    p, a, a_m3 = math.p, math.a_full, math.a_m3
    for (xs, ys), d in zip(rows, _recode(u, math.q), strict=True):
        if d > 0:
            acc = _jac_add_affine(*acc, xs[d >> 1], ys[d >> 1], p, a, a_m3)
        else:
            acc = _jac_add_affine(*acc, xs[(-d) >> 1], p - ys[(-d) >> 1], p, a, a_m3)
    return acc


def _mul_wnaf(math: _CurveMath, u: int, qx: int, qy: int) -> _Jacobian:
    """``u * Q`` by width-5 NAF (public inputs, variable time)."""
    p, a, a_m3 = math.p, math.a_full, math.a_m3
    # Odd multiples Q, 3Q, ..., 15Q in affine form for the NAF.
    (dx, dy) = _to_affine_batch([_jac_double(qx, qy, 1, p, a, a_m3)], p)[0]
    odd: list[_Jacobian] = [(qx, qy, 1)]
    for _ in range((1 << (_NAF_WIDTH - 2)) - 1):
        odd.append(_jac_add_affine(*odd[-1], dx, dy, p, a, a_m3))
    pre = _to_affine_batch(odd, p)
    x, y, z = _INFINITY
    for d in reversed(_wnaf(u, _NAF_WIDTH)):
        if z:  # doubling inlined: this loop runs ~256 times per verification
            yy = y * y % p
            s = 4 * x * yy % p
            zz = z * z % p
            m = 3 * (x - zz) * (x + zz) % p if a_m3 else (3 * x * x + a * (zz * zz % p)) % p
            z = 2 * y * z % p
            x = (m * m - 2 * s) % p
            y = (m * (s - x) - 8 * yy * yy) % p
        if d > 0:
            x2, y2 = pre[d >> 1]
            x, y, z = _jac_add_affine(x, y, z, x2, y2, p, a, a_m3)
        elif d < 0:
            x2, y2 = pre[(-d) >> 1]
            x, y, z = _jac_add_affine(x, y, z, x2, p - y2, p, a, a_m3)
    return x, y, z


# Verification keys repeat (ESIA's few signing certificates, the few registered clients), so
# from the second verification on a key gets a fixed-base table like G's (~10 ms to build,
# ~70 KB). Then z2*Q needs no doublings either, which makes verification ~3x faster.
_KEY_TABLES_MAX = 32
_key_tables: OrderedDict[tuple[Curve, int, int], tuple[_Row, ...] | None] = OrderedDict()
_key_tables_lock = threading.Lock()


def _key_rows(curve: Curve, qx: int, qy: int) -> tuple[_Row, ...] | None:
    """The cached table of a public key; ``None`` the first time the key is seen."""
    ident = (curve, qx, qy)
    with _key_tables_lock:
        seen = ident in _key_tables
        rows = _key_tables.get(ident)
        if seen:
            _key_tables.move_to_end(ident)
        else:
            _key_tables[ident] = None
            while len(_key_tables) > _KEY_TABLES_MAX:
                _key_tables.popitem(last=False)
    if rows is not None or not seen:
        return rows
    rows = _fixed_base_rows(curve, qx, qy)  # outside the lock; a racing twin does the same
    with _key_tables_lock:
        if ident in _key_tables:
            _key_tables[ident] = rows
    return rows


def _mul_add_vartime(curve: Curve, u1: int, qx: int, qy: int, u2: int) -> _Jacobian:
    """``u1 * G + u2 * Q`` for verification (public inputs, variable time)."""
    math = _math_for(curve)
    rows = _key_rows(curve, qx, qy)
    acc = (
        _mul_wnaf(math, u2, qx, qy) if rows is None else _add_fixed_base(_INFINITY, math, rows, u2)
    )
    return _add_fixed_base(acc, math, math.rows, u1)


# --------------------------------------------------------------------------- backend choice


def _self_test(ec: ec_openssl.OpenSslEc) -> None:
    """Check the ctypes plumbing once: 2G by the ladder and by ``1*G + 1*G`` (wNAF)."""
    curve = CRYPTOPRO_A
    p = curve.p
    two_g = _to_affine_batch([_jac_double(curve.gx, curve.gy, 1, p, curve.a, True)], p)[0]
    if ec.mul_base(curve, 2) != two_g or ec.mul_add(curve, 1, curve.gx, curve.gy, 1) != two_g:
        raise ec_openssl.EcUnavailable("self-test: OpenSSL disagrees with the Python arithmetic")


def _forced() -> str:
    """``VHOD_GOST_EC``: ``python`` (no accelerator), ``openssl`` (not the C one), or ""."""
    return os.environ.get("VHOD_GOST_EC", "").strip().lower()


def _load_openssl_ec() -> ec_openssl.OpenSslEc | None:
    """OpenSSL's point multiplications, unless disabled, unavailable or failing the self-test."""
    if _forced() == "python":
        return None
    try:
        ec = ec_openssl.load()
        _self_test(ec)
    except Exception as exc:  # whatever went wrong, pure Python still works
        log.debug("GOST point multiplication: OpenSSL not used (%s); pure Python", exc)
        return None
    return ec


def _native_self_test(ec: ec_native.NativeEc) -> None:
    """2G, 3G and (q - 1)G by the C code against the Python arithmetic, and 1*G + 2*G."""
    curve = CRYPTOPRO_A
    table = ec.table(curve, _math_for(curve).rows)
    math = _math_for(curve)
    for k in (2, 3, curve.q - 1):
        if ec.mul_base(curve, table, k) != _mul_base_uniform(math, k):
            raise ArithmeticError("self-test: the C arithmetic disagrees with Python's")
    if ec.mul_add(curve, table, 1, table, 2) != _mul_base_uniform(math, 3):
        raise ArithmeticError("self-test: the C arithmetic disagrees with Python's")


def _load_native_ec() -> ec_native.NativeEc | None:
    """The C point multiplications, unless disabled, not built or failing the self-test."""
    if _forced() in ("python", "openssl"):
        return None
    try:
        ec = ec_native.load()
        if ec is not None:
            _native_self_test(ec)
    except Exception as exc:  # whatever went wrong, the other backends still work
        log.debug("GOST point multiplication: C code not used (%s)", exc)
        return None
    return ec


#: The OpenSSL backend, or None when the pure-Python arithmetic is in use.
_openssl_ec = _load_openssl_ec()

#: The C backend (``ec_native.py``), or None; first in line when present.
_native_ec = _load_native_ec()

#: Which code multiplies points (for benchmarks and logs); chosen at import. With
#: ``native``, a verification with a key's first use still goes to OpenSSL (or Python).
EC_BACKEND: Literal["native", "openssl", "python"] = (
    "native" if _native_ec is not None else "python" if _openssl_ec is None else "openssl"
)

_native_tables: dict[Curve, bytes] = {}
_native_key_tables: OrderedDict[tuple[Curve, int, int], bytes] = OrderedDict()


def _native_base_table(ec: ec_native.NativeEc, curve: Curve) -> bytes:
    """G's table in the C form, made once per curve."""
    table = _native_tables.get(curve)
    if table is None:
        table = ec.table(curve, _math_for(curve).rows)
        with _math_lock:
            _native_tables[curve] = table
    return table


def _native_key_table(ec: ec_native.NativeEc, curve: Curve, qx: int, qy: int) -> bytes | None:
    """A public key's table in the C form; None on the key's first use (see _key_rows)."""
    ident = (curve, qx, qy)
    with _key_tables_lock:
        table = _native_key_tables.get(ident)
        if table is not None:
            _native_key_tables.move_to_end(ident)
            return table
    rows = _key_rows(curve, qx, qy)
    if rows is None:
        return None
    table = ec.table(curve, rows)
    with _key_tables_lock:
        _native_key_tables[ident] = table
        while len(_native_key_tables) > _KEY_TABLES_MAX:
            _native_key_tables.popitem(last=False)
    return table


def _base_mul(curve: Curve, k: int) -> _Affine:
    """``k * G`` for a secret ``0 < k < q``, affine."""
    native = _native_ec
    if native is not None:
        return native.mul_base(curve, _native_base_table(native, curve), k)
    ec = _openssl_ec
    if ec is not None:
        return ec.mul_base(curve, k)
    return _mul_base_uniform(_math_for(curve), k)


def _verify_mul(curve: Curve, u1: int, qx: int, qy: int, u2: int) -> _Affine | None:
    """``u1 * G + u2 * Q`` (public inputs), affine; None for the point at infinity."""
    native = _native_ec
    if native is not None:
        table_q = _native_key_table(native, curve, qx, qy)
        if table_q is not None:
            return native.mul_add(curve, _native_base_table(native, curve), u1, table_q, u2)
    ec = _openssl_ec
    if ec is not None:
        return ec.mul_add(curve, u1, qx, qy, u2)
    point = _mul_add_vartime(curve, u1, qx, qy, u2)
    if not point[2]:
        return None
    return _to_affine_batch([point], curve.p)[0]


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class PublicKey:
    """A GOST R 34.10-2012 public key: a point of the order-q subgroup of ``curve``.

    Construction validates the point (on the curve, not the identity, and in the subgroup
    when the curve has a cofactor), so a :class:`PublicKey` is always usable.
    """

    curve: Curve
    x: int
    y: int

    def __post_init__(self) -> None:
        if not self.curve.contains(self.x, self.y):
            raise GostError("public key point is not on the curve")
        if self.curve.cofactor != 1 and _mul_vartime(self.curve, self.curve.q, self.x, self.y)[2]:
            raise GostError("public key point is not in the prime-order subgroup")

    @classmethod
    def from_bytes(cls, curve: Curve, raw: bytes) -> PublicKey:
        """Parse the 64-byte X (little-endian) || Y (little-endian) form of certificates."""
        if len(raw) != 2 * _COORD:
            raise GostError(f"a 256-bit GOST public key is 64 bytes, got {len(raw)}")
        return cls(
            curve, int.from_bytes(raw[:_COORD], "little"), int.from_bytes(raw[_COORD:], "little")
        )

    def to_bytes(self) -> bytes:
        """The 64-byte X (little-endian) || Y (little-endian) form of certificates."""
        return self.x.to_bytes(_COORD, "little") + self.y.to_bytes(_COORD, "little")

    def verify_digest(self, digest: bytes, signature: bytes) -> bool:
        """Check a 64-byte s || r signature over a 32-byte Streebog-256 digest (§6.2).

        Returns False for anything that does not verify, including a wrong length and r or s
        outside ``1..q-1`` (step 1 of §6.2).
        """
        if len(signature) != SIGNATURE_SIZE or len(digest) != _COORD:
            return False
        r, s = decode_signature(signature)
        q = self.curve.q
        if not (0 < r < q and 0 < s < q):
            return False
        e = digest_to_int(digest, q)
        v = pow(e, -1, q)
        z1 = s * v % q
        z2 = -r * v % q
        point = _verify_mul(self.curve, z1, self.x, self.y, z2)
        if point is None:
            return False
        return point[0] % q == r

    def verify(self, data: bytes, signature: bytes) -> bool:
        """Check a 64-byte s || r signature over Streebog-256 of ``data``."""
        return self.verify_digest(streebog256(data), signature)


class PrivateKey:
    """A GOST R 34.10-2012 private key (a scalar ``0 < d < q``) on ``curve``.

    The scalar never appears in ``repr``/``str`` and the object refuses to be pickled or
    copied by ``copy``; hand it to a :class:`~providers.upstream.esia.signing.Signer`
    rather than passing it around.
    """

    __slots__ = ("_curve", "_d", "_public")

    def __init__(self, curve: Curve, d: int) -> None:
        if not 0 < d < curve.q:
            raise GostError("private key scalar is out of range")
        self._curve = curve
        self._d = d
        self._public: PublicKey | None = None

    @classmethod
    def from_bytes(cls, curve: Curve, raw: bytes) -> PrivateKey:
        """Parse the 32-byte little-endian scalar of OpenSSL's PKCS#8 GOST keys."""
        if len(raw) != _COORD:
            raise GostError(f"a 256-bit GOST private key is 32 bytes, got {len(raw)}")
        return cls(curve, int.from_bytes(raw, "little"))

    @classmethod
    def generate(cls, curve: Curve) -> PrivateKey:
        """A fresh random key from the OS CSPRNG."""
        return cls(curve, secrets.randbelow(curve.q - 1) + 1)

    @property
    def curve(self) -> Curve:
        return self._curve

    def public_key(self) -> PublicKey:
        """``d * G`` (the same constant-schedule multiplication as signing), cached."""
        if self._public is None:
            x, y = _base_mul(self._curve, self._d)
            self._public = PublicKey(self._curve, x, y)
        return self._public

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a 32-byte Streebog-256 digest; returns the 64-byte s || r form (§6.1)."""
        q = self._curve.q
        while True:
            k = secrets.randbelow(q - 1) + 1
            signature = self._sign_with_k(digest, k)
            if signature is not None:
                return signature

    def sign(self, data: bytes) -> bytes:
        """Sign Streebog-256 of ``data``; returns the 64-byte s || r form."""
        return self.sign_digest(streebog256(data))

    def _sign_with_k(self, digest: bytes, k: int) -> bytes | None:
        """§6.1 steps 2-6 with a given nonce; ``None`` when r or s is 0 (pick another k).

        Internal: exposed for the standard's known-answer test only. Reusing or predicting
        ``k`` reveals the private key.
        """
        if len(digest) != _COORD:
            raise GostError(f"a Streebog-256 digest is 32 bytes, got {len(digest)}")
        q = self._curve.q
        if not 0 < k < q:
            raise GostError("nonce out of range")
        e = digest_to_int(digest, q)
        x, _ = _base_mul(self._curve, k)
        r = x % q
        s = (r * self._d + k * e) % q
        if not r or not s:
            return None
        return encode_signature(r, s)

    def matches(self, public: PublicKey) -> bool:
        """Whether ``public`` is this key's public key (e.g. a certificate's)."""
        mine = self.public_key()
        return mine.curve is public.curve and (mine.x, mine.y) == (public.x, public.y)

    def __repr__(self) -> str:
        return f"PrivateKey(curve={self._curve.name!r}, d=<hidden>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("GOST private keys cannot be pickled")

    def __copy__(self) -> NoReturn:
        raise TypeError("GOST private keys cannot be copied")

    def __deepcopy__(self, memo: object) -> NoReturn:
        raise TypeError("GOST private keys cannot be copied")
