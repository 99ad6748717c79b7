"""GOST R 34.10-2012 point multiplication in C (``_gost_ec.h``, built into ``_streebog``).

The fastest of ``gost.py``'s three backends, used when the C extension was built: ``k*G``
when signing (and ``d*G``) and ``u1*G + u2*Q`` when verifying with a key seen before, both
over ``gost.py``'s fixed-base tables (row ``i`` = the odd multiples ``1, 3, ..., 15`` of
``16^i * B``) and its signed odd recoding, so a multiplication is 65 complete additions per
point and no doublings. The C file's header says what its signing path promises about
timing (no branch or memory index on the nonce, its limbs wiped); it replaces OpenSSL's
generic ladder, which costs several times as much on these curves (``python -m bench
gost``). A verification with a key's first use goes to the next backend, as before.

Tables are converted to the C form once per curve and per public key (33 KB each; keys in
``gost.py``'s LRU of 32).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from types import ModuleType

from providers.upstream.esia.gost_curves import Curve

__all__ = ["NativeEc", "load"]

_COORD = 32
_Row = tuple[tuple[int, ...], tuple[int, ...]]


class NativeEc:
    """The C point multiplications over tables in the C form (see the module docstring)."""

    def __init__(self, module: ModuleType) -> None:
        self._c = module
        self._params: dict[Curve, bytes] = {}
        self._lock = threading.Lock()

    def params(self, curve: Curve) -> bytes:
        """The constants of ``curve`` in the C form (Montgomery form; made once per curve)."""
        found = self._params.get(curve)
        if found is None:
            p = curve.p
            values = (p, curve.a % p, curve.b % p, curve.q)
            raw = b"".join(v.to_bytes(_COORD, "big") for v in values)
            found = bytes(self._c.ec_field(raw))
            with self._lock:
                self._params[curve] = found
        return found

    def table(self, curve: Curve, rows: Sequence[_Row]) -> bytes:
        """``gost.py``'s fixed-base rows of a point in the C form."""
        raw = b"".join(
            x.to_bytes(_COORD, "big") + y.to_bytes(_COORD, "big")
            for xs, ys in rows
            for x, y in zip(xs, ys, strict=True)
        )
        return bytes(self._c.ec_table(self.params(curve), raw))

    def mul_base(self, curve: Curve, table: bytes, k: int) -> tuple[int, int]:
        """``k * B`` for ``0 < k < q`` over B's ``table`` (uniform schedule), affine."""
        point = self._c.ec_mul_base(self.params(curve), table, k.to_bytes(_COORD, "big"))
        if point is None:  # pragma: no cover - k * B is finite for 0 < k < q
            raise ArithmeticError("k * B is the point at infinity")
        return _affine(point)

    def mul_add(
        self, curve: Curve, table_g: bytes, u1: int, table_q: bytes, u2: int
    ) -> tuple[int, int] | None:
        """``u1 * G + u2 * Q`` (public, ``0 <= u < q``) over the two tables; None for the
        point at infinity."""
        point = self._c.ec_mul_add(
            self.params(curve),
            table_g,
            u1.to_bytes(_COORD, "big"),
            table_q,
            u2.to_bytes(_COORD, "big"),
        )
        return None if point is None else _affine(point)


def _affine(point: bytes) -> tuple[int, int]:
    return int.from_bytes(point[:_COORD], "big"), int.from_bytes(point[_COORD:], "big")


def load() -> NativeEc | None:
    """The C backend, or None when the extension was not built (or is an older build)."""
    try:
        from providers.upstream.esia import _streebog
    except ImportError:
        return None
    names = ("ec_field", "ec_table", "ec_mul_base", "ec_mul_add")
    if not all(hasattr(_streebog, name) for name in names):
        return None
    return NativeEc(_streebog)
