"""Elliptic-curve point multiplication through the system's OpenSSL ``libcrypto`` (ctypes).

An optional accelerator for ``gost.py``: only the point multiplications of GOST R 34.10-2012
are delegated -- ``k*G`` when signing (and ``d*G`` for a public key) and ``u1*G + u2*Q`` when
verifying. Everything else (digest to ``e``, ``r`` and ``s``, range checks, encodings,
public-key validation) stays in Python in ``gost.py``. No GOST engine or provider is needed:
the curves are built as generic prime curves from their parameters.

How
    Once per curve, an ``EC_GROUP`` is built with ``EC_GROUP_new_curve_GFp(p, a, b)`` and
    ``EC_GROUP_set_generator(G, q, cofactor)`` (OpenSSL then uses its generic
    Montgomery-arithmetic method, ``EC_GFp_mont_method``), given the generator's precomputed
    multiples (``EC_GROUP_precompute_mult``, when exported), and cached for the life of the
    process, keyed by the curve's parameters (a lock guards the build). Scalars and
    coordinates cross the boundary as 32-byte big-endian strings (``BN_bin2bn`` /
    ``BN_bn2binpad``). Every ``BN_CTX``, ``BIGNUM`` and ``EC_POINT`` allocated for an
    operation is freed in a ``finally`` block; a failing OpenSSL call raises
    :class:`OpenSslEcError` after clearing the thread's OpenSSL error queue (which Python's
    own ``ssl`` module shares). ctypes releases the GIL during each call, so threads multiply
    in parallel -- a real gain over the pure-Python code, which holds the GIL throughout.

Verification with a repeated key
    Like ``gost.py``'s tables, from its second verification on a public key gets a group of
    its own whose generator is the key, with precomputed multiples (about 1 ms to build,
    LRU of 32 keys). ``u1*G`` and ``u2*Q`` are then two fixed-base multiplications (each a
    call ``EC_POINT_mul(group, R, u, X, 0)``: OpenSSL uses the precomputed multiples only in
    its multi-scalar wNAF path, so a dummy second point ``X`` with a zero scalar selects
    that path) and one ``EC_POINT_add``: about 40 % less time than one
    ``EC_POINT_mul(group, R, u1, Q, u2)``, which is what the first verification does.
    Groups are held by :class:`_Group` objects that free the ``EC_GROUP`` when the last
    reference goes, so evicting a key never frees a group another thread is using.

Speed (``python -m bench gost``, OpenSSL 3.0 on x86-64)
    Verification is about 4x faster than pure Python (about 0.2 ms with a repeated key, 0.45
    ms on first use). Signing is **not** much faster: OpenSSL has no specialised code for
    these curves, and its generic ladder (256 steps of ``BIGNUM`` Montgomery arithmetic, the
    same code ``openssl speed ecdsabrp256r1`` measures at about 2,000 signatures/s) costs
    about what ``gost.py``'s doubling-free 65-addition table walk does, 0.35-0.55 ms. Its
    gains for signing are the ladder's timing defences and the released GIL, not speed.

Threads
    After it is built, an ``EC_GROUP`` is only ever passed as ``const EC_GROUP *``, and
    openssl-threads(7) says objects are thread-safe as long as the functions invoked do not
    modify them. Each operation gets its own ``BN_CTX``, ``BIGNUM`` and ``EC_POINT`` objects.

What is and is not constant-time (OpenSSL 3.0, ``crypto/ec/ec_mult.c``)
    * ``EC_POINT_mul(group, R, k, NULL, NULL, ctx)`` -- one scalar times the generator --
      goes to ``ossl_ec_wNAF_mul``, which, whenever the group has a known order and cofactor
      (ours always do), sends "scalar * generator" to ``ossl_ec_scalar_mul_ladder``
      *regardless* of ``BN_FLG_CONSTTIME`` (and without using the precomputed multiples): a
      Montgomery ladder over a fixed number of bits (the scalar is padded to ``k + n`` or
      ``k + 2n``, n = q * cofactor, picked by a constant-time swap), ``BN_consttime_swap``
      instead of branches, projective coordinates randomised at the start (``ladder_pre``)
      and inversions by Fermat's little theorem (``ossl_ec_GFp_mont_field_inv``). OpenSSL
      itself notes that this "says nothing about the constant-timeness of the ladder step
      implementation [...] or the underlying multiprecision arithmetic": the field arithmetic
      is OpenSSL's generic ``BIGNUM`` Montgomery code, hardened but not formally
      constant-time. We set ``BN_FLG_CONSTTIME`` on the secret scalar anyway (the ladder
      copies it and flags its copy; the flag makes helpers such as ``BN_num_bits`` take their
      constant-time paths on ours too) and free it with ``BN_clear_free``, which wipes it.
    * Not constant-time: getting the secret scalar from Python to OpenSSL. ``int.to_bytes``
      and the CPython big-integer arithmetic around it (the nonce, ``s = r*d + k*e mod q``
      in ``gost.py``) take time that depends on the values, the 32-byte ``bytes`` object
      stays in memory until it is garbage-collected, and ``BN_bin2bn`` drops leading zero
      bytes, so the input ``BIGNUM``'s length depends on the scalar (the ladder pads its own
      copy first thing). The same kind of leak as the pure-Python path, over far fewer
      operations.
    * ``u1*G + u2*Q`` (verification: public inputs only) uses OpenSSL's variable-time wNAF
      code. Nothing in it is secret.

Requirements
    OpenSSL 3.x ``libcrypto`` (``libcrypto.so.3``); :func:`load` raises
    :class:`EcUnavailable` when it is missing, older, or lacks a function, and ``gost.py``
    then keeps to its pure-Python arithmetic.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections import OrderedDict
from collections.abc import Callable
from ctypes import c_char_p
from ctypes import c_int
from ctypes import c_size_t
from ctypes import c_ulong
from ctypes import c_void_p
from typing import Any
from typing import Final

from gateway.core.errors import GatewayError
from providers.upstream.esia.gost_curves import Curve

__all__ = ["EcUnavailable", "OpenSslEc", "OpenSslEcError", "load"]

_COORD = 32
_BN_FLG_CONSTTIME: Final = 0x04
_MIN_VERSION: Final = 0x3000_0000  # OpenSSL 3.0.0 (OPENSSL_VERSION_NUMBER layout)
_KEY_GROUPS_MAX: Final = 32

_Affine = tuple[int, int]
# (p, a, b, q, generator x, generator y, cofactor): what an EC_GROUP is built from.
_GroupParams = tuple[int, int, int, int, int, int, int]


class EcUnavailable(Exception):
    """OpenSSL's libcrypto cannot be used (missing, too old, a function absent)."""


class OpenSslEcError(GatewayError, RuntimeError):
    """An OpenSSL call failed unexpectedly (out of memory, a point off the curve)."""


# name -> (restype, argtypes). Every pointer is c_void_p: ctypes' default int restype would
# truncate 64-bit pointers, and without argtypes Python ints would be passed as C ints.
_P = c_void_p
_PROTOTYPES: Final[dict[str, tuple[Any, tuple[Any, ...]]]] = {
    "OpenSSL_version_num": (c_ulong, ()),
    "ERR_get_error": (c_ulong, ()),
    "ERR_error_string_n": (None, (c_ulong, c_char_p, c_size_t)),
    "ERR_clear_error": (None, ()),
    "BN_CTX_new": (_P, ()),
    "BN_CTX_free": (None, (_P,)),
    "BN_new": (_P, ()),
    "BN_free": (None, (_P,)),
    "BN_clear_free": (None, (_P,)),
    "BN_set_flags": (None, (_P, c_int)),
    "BN_bin2bn": (_P, (c_char_p, c_int, _P)),
    "BN_bn2binpad": (c_int, (_P, c_char_p, c_int)),
    "EC_GROUP_new_curve_GFp": (_P, (_P, _P, _P, _P)),
    "EC_GROUP_set_generator": (c_int, (_P, _P, _P, _P)),
    "EC_GROUP_get0_generator": (_P, (_P,)),
    "EC_GROUP_free": (None, (_P,)),
    "EC_POINT_new": (_P, (_P,)),
    "EC_POINT_free": (None, (_P,)),
    "EC_POINT_set_affine_coordinates": (c_int, (_P, _P, _P, _P, _P)),
    "EC_POINT_get_affine_coordinates": (c_int, (_P, _P, _P, _P, _P)),
    "EC_POINT_is_at_infinity": (c_int, (_P, _P)),
    "EC_POINT_add": (c_int, (_P, _P, _P, _P, _P)),
    "EC_POINT_mul": (c_int, (_P, _P, _P, _P, _P, _P)),
}

# Deprecated in OpenSSL 3.0 but exported by every build with the deprecated API (Debian's
# included). Without it verification still works, only without per-key groups.
_OPTIONAL_PROTOTYPES: Final[dict[str, tuple[Any, tuple[Any, ...]]]] = {
    "EC_GROUP_precompute_mult": (c_int, (_P, _P)),
}


def _bind(lib: ctypes.CDLL, name: str, restype: Any, argtypes: tuple[Any, ...]) -> Any:
    fn = getattr(lib, name)  # AttributeError when the symbol is absent
    fn.restype = restype
    fn.argtypes = argtypes
    return fn


def _open_libcrypto() -> ctypes.CDLL:
    """``libcrypto.so.3`` by its soname, else what ``find_library("crypto")`` finds."""
    try:
        return ctypes.CDLL("libcrypto.so.3")
    except OSError:
        pass
    name = ctypes.util.find_library("crypto")
    if name is None:
        raise EcUnavailable("libcrypto not found")
    try:
        return ctypes.CDLL(name)
    except OSError as exc:
        raise EcUnavailable(f"cannot load {name}: {exc}") from None


def load(lib: Any = None) -> OpenSslEc:
    """Bind libcrypto (``lib``, else the system's) and return the accelerator.

    :raises EcUnavailable: no libcrypto, a version before 3.0, or a function missing.
    """
    if lib is None:
        lib = _open_libcrypto()
    try:
        fns = {name: _bind(lib, name, *proto) for name, proto in _PROTOTYPES.items()}
    except AttributeError as exc:
        raise EcUnavailable(f"libcrypto lacks a function: {exc}") from None
    optional: dict[str, Any] = {}
    for name, proto in _OPTIONAL_PROTOTYPES.items():
        try:
            optional[name] = _bind(lib, name, *proto)
        except AttributeError:
            pass
    version = int(fns["OpenSSL_version_num"]())
    if version < _MIN_VERSION:
        raise EcUnavailable(f"libcrypto {version:#x} is older than OpenSSL 3.0")
    return OpenSslEc(fns, optional, version)


def _params(curve: Curve, gx: int, gy: int) -> _GroupParams:
    return (curve.p, curve.a % curve.p, curve.b % curve.p, curve.q, gx, gy, curve.cofactor)


class _Group:
    """Owns one ``EC_GROUP *``; frees it when the last reference goes (CPython refcounts).

    Callers keep a reference for as long as they use ``ptr``, so a group evicted from a
    cache by one thread is not freed under another.
    """

    __slots__ = ("_free", "generator", "precomputed", "ptr")

    def __init__(
        self, ptr: int, generator: int, precomputed: bool, free: Callable[[int], None]
    ) -> None:
        self.ptr = ptr
        self.generator = generator  # EC_GROUP_get0_generator: owned by the group
        self.precomputed = precomputed
        self._free = free

    def __del__(self) -> None:
        self._free(self.ptr)


class OpenSslEc:
    """Point multiplications on GOST curves through libcrypto (see the module docstring).

    Build with :func:`load`. Thread-safe. Scalars and coordinates must be non-negative and
    below 2^256 (``gost.py`` passes values below q or p).
    """

    name: Final = "openssl"

    def __init__(self, fns: dict[str, Any], optional: dict[str, Any], version: int) -> None:
        self.version = version
        self._ctx_new = fns["BN_CTX_new"]
        self._ctx_free = fns["BN_CTX_free"]
        self._bn_new = fns["BN_new"]
        self._bn_free = fns["BN_free"]
        self._bn_clear_free = fns["BN_clear_free"]
        self._bn_set_flags = fns["BN_set_flags"]
        self._bin2bn = fns["BN_bin2bn"]
        self._bn2binpad = fns["BN_bn2binpad"]
        self._group_new = fns["EC_GROUP_new_curve_GFp"]
        self._group_set_generator = fns["EC_GROUP_set_generator"]
        self._group_generator = fns["EC_GROUP_get0_generator"]
        self._group_free = fns["EC_GROUP_free"]
        self._point_new = fns["EC_POINT_new"]
        self._point_free = fns["EC_POINT_free"]
        self._set_affine = fns["EC_POINT_set_affine_coordinates"]
        self._get_affine = fns["EC_POINT_get_affine_coordinates"]
        self._is_at_infinity = fns["EC_POINT_is_at_infinity"]
        self._point_add = fns["EC_POINT_add"]
        self._point_mul = fns["EC_POINT_mul"]
        self._err_get = fns["ERR_get_error"]
        self._err_string = fns["ERR_error_string_n"]
        self._err_clear = fns["ERR_clear_error"]
        self._precompute = optional.get("EC_GROUP_precompute_mult")
        self._groups: dict[_GroupParams, _Group] = {}
        self._groups_lock = threading.Lock()
        self._key_groups: OrderedDict[_GroupParams, _Group | None] = OrderedDict()
        self._key_groups_lock = threading.Lock()

    # ------------------------------------------------------------------- errors

    def _fail(self, what: str) -> OpenSslEcError:
        """An error naming ``what`` and OpenSSL's first queued reason; clears the queue."""
        code = int(self._err_get())
        reason = ""
        if code:
            buf = ctypes.create_string_buffer(256)
            self._err_string(code, buf, len(buf))
            reason = ": " + buf.value.decode("ascii", "replace")
        self._err_clear()
        return OpenSslEcError(f"OpenSSL {what} failed{reason}")

    # ------------------------------------------------------------------- conversions

    def _bn(self, value: int) -> int:
        """A new BIGNUM holding ``value`` (the caller frees it)."""
        bn = self._bin2bn(value.to_bytes(_COORD, "big"), _COORD, None)
        if not bn:
            raise self._fail("BN_bin2bn")
        return int(bn)

    def _affine(self, group: int, point: int, ctx: int) -> _Affine | None:
        """Affine ``(x, y)`` of ``point``, or None for the point at infinity."""
        if self._is_at_infinity(group, point):
            return None
        x = y = None
        try:
            x = self._bn_new()
            y = self._bn_new()
            if not x or not y:
                raise self._fail("BN_new")
            if self._get_affine(group, point, x, y, ctx) != 1:
                raise self._fail("EC_POINT_get_affine_coordinates")
            bx = ctypes.create_string_buffer(_COORD)
            by = ctypes.create_string_buffer(_COORD)
            if self._bn2binpad(x, bx, _COORD) != _COORD or self._bn2binpad(y, by, _COORD) != _COORD:
                raise self._fail("BN_bn2binpad")
            return int.from_bytes(bx.raw, "big"), int.from_bytes(by.raw, "big")
        finally:
            self._bn_free(x)
            self._bn_free(y)

    def _set_point(self, group: int, point: int, x: int, y: int, ctx: int) -> None:
        """Load affine ``(x, y)`` into ``point``; OpenSSL rejects a point off the curve."""
        bx = by = None
        try:
            bx = self._bn(x)
            by = self._bn(y)
            if self._set_affine(group, point, bx, by, ctx) != 1:
                raise self._fail("EC_POINT_set_affine_coordinates")
        finally:
            self._bn_free(bx)
            self._bn_free(by)

    # ------------------------------------------------------------------- groups

    def group(self, curve: Curve) -> _Group:
        """The cached group of ``curve`` (generator G), built on first use."""
        params = _params(curve, curve.gx, curve.gy)
        group = self._groups.get(params)
        if group is None:
            with self._groups_lock:
                group = self._groups.get(params)
                if group is None:
                    group = self._build_group(params, curve.name)
                    self._groups[params] = group
        return group

    def _key_group(self, curve: Curve, qx: int, qy: int) -> _Group | None:
        """A group with generator Q, from Q's second use on (None before, or unavailable)."""
        if self._precompute is None:
            return None
        params = _params(curve, qx, qy)
        with self._key_groups_lock:
            seen = params in self._key_groups
            group = self._key_groups.get(params)
            if seen:
                self._key_groups.move_to_end(params)
            else:
                self._key_groups[params] = None
                while len(self._key_groups) > _KEY_GROUPS_MAX:
                    self._key_groups.popitem(last=False)
        if group is not None or not seen:
            return group
        group = self._build_group(params, "public key")  # outside the lock; a twin may race
        if not group.precomputed:
            return None
        with self._key_groups_lock:
            if params in self._key_groups:
                self._key_groups[params] = group
        return group

    def _build_group(self, params: _GroupParams, what: str) -> _Group:
        """A new group from ``params``, its generator's multiples precomputed if possible."""
        ctx = group = generator = None
        bns: list[int] = []
        try:
            ctx = self._ctx_new()
            if not ctx:
                raise self._fail("BN_CTX_new")
            p, a, b, q, gx, gy, cofactor = params
            for value in (p, a, b, q, cofactor):
                bns.append(self._bn(value))
            bp, ba, bb, bq, bh = bns
            group = self._group_new(bp, ba, bb, ctx)
            if not group:
                raise self._fail(f"EC_GROUP_new_curve_GFp ({what})")
            generator = self._point_new(group)
            if not generator:
                raise self._fail("EC_POINT_new")
            self._set_point(group, generator, gx, gy, ctx)
            if self._group_set_generator(group, generator, bq, bh) != 1:
                raise self._fail(f"EC_GROUP_set_generator ({what})")
            precomputed = False
            if self._precompute is not None:
                precomputed = self._precompute(group, ctx) == 1
                if not precomputed:
                    self._err_clear()  # an optimisation only: the group works without it
            generator_ref = self._group_generator(group)
            if not generator_ref:
                raise self._fail("EC_GROUP_get0_generator")
            owned = _Group(int(group), int(generator_ref), precomputed, self._group_free)
            group = None  # owned now: not freed below
            return owned
        finally:
            self._group_free(group)  # error paths only (None otherwise; NULL is a no-op)
            self._point_free(generator)  # EC_GROUP_set_generator copied it
            for bn in bns:
                self._bn_free(bn)
            self._ctx_free(ctx)

    # ------------------------------------------------------------------- multiplication

    def mul_base(self, curve: Curve, k: int) -> _Affine:
        """``k * G`` for a secret ``0 < k < q``, by OpenSSL's ladder (module docstring).

        :raises OpenSslEcError: when OpenSSL fails, or for the identity (k a multiple of q).
        """
        group = self.group(curve)
        g = group.ptr
        ctx = scalar = result = None
        try:
            ctx = self._ctx_new()
            if not ctx:
                raise self._fail("BN_CTX_new")
            scalar = self._bn(k)
            self._bn_set_flags(scalar, _BN_FLG_CONSTTIME)
            result = self._point_new(g)
            if not result:
                raise self._fail("EC_POINT_new")
            if self._point_mul(g, result, scalar, None, None, ctx) != 1:
                raise self._fail("EC_POINT_mul")
            point = self._affine(g, result, ctx)
            if point is None:
                raise OpenSslEcError("k * G is the point at infinity (k is a multiple of q)")
            return point
        finally:
            self._bn_clear_free(scalar)
            self._point_free(result)
            self._ctx_free(ctx)

    def mul_add(self, curve: Curve, u1: int, qx: int, qy: int, u2: int) -> _Affine | None:
        """``u1 * G + u2 * (qx, qy)`` for public inputs; None for the point at infinity.

        :raises OpenSslEcError: when OpenSSL fails, e.g. for a point off the curve.
        """
        group = self.group(curve)
        key_group = self._key_group(curve, qx, qy)
        g = group.ptr
        ctx = b1 = b2 = zero = point = part = result = None
        try:
            ctx = self._ctx_new()
            if not ctx:
                raise self._fail("BN_CTX_new")
            b1 = self._bn(u1)
            b2 = self._bn(u2)
            result = self._point_new(g)
            if not result:
                raise self._fail("EC_POINT_new")
            if key_group is None:
                point = self._point_new(g)
                if not point:
                    raise self._fail("EC_POINT_new")
                self._set_point(g, point, qx, qy, ctx)
                if self._point_mul(g, result, b1, point, b2, ctx) != 1:
                    raise self._fail("EC_POINT_mul")
            else:
                # Two fixed-base multiplications; the zero-scalar dummy point selects the
                # wNAF path, which is the one that uses the precomputed multiples.
                zero = self._bn_new()
                part = self._point_new(g)
                if not zero or not part:
                    raise self._fail("BN_new/EC_POINT_new")
                k = key_group.ptr
                if (
                    self._point_mul(g, result, b1, group.generator, zero, ctx) != 1
                    or self._point_mul(k, part, b2, key_group.generator, zero, ctx) != 1
                    or self._point_add(g, result, result, part, ctx) != 1
                ):
                    raise self._fail("EC_POINT_mul/EC_POINT_add")
            return self._affine(g, result, ctx)
        finally:
            self._bn_free(b1)
            self._bn_free(b2)
            self._bn_free(zero)
            self._point_free(point)
            self._point_free(part)
            self._point_free(result)
            self._ctx_free(ctx)
