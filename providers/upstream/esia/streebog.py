"""GOST R 34.11-2012 "Streebog" hash (256 and 512 bit), table driven, optional C accelerator.

Specification: GOST R 34.11-2012, published in English as RFC 6986. Used by ESIA for
``client_certificate_hash`` (Streebog-256 over the certificate DER) and as the digest under
every GOST R 34.10-2012 signature (see ``gost.py``).

Byte order
    We follow every implementation (OpenSSL gost-engine, BouncyCastle, ``gostcrypto``):
    the message is a byte string processed from its first byte, 512-bit values are
    little-endian integers, and the digest is returned in that same order. The standard (and
    RFC 6986 §10) *prints* its example values big-endian, i.e. byte-reversed; compare with the
    printed examples only after reversing them.

Backends
    :func:`streebog256` and :func:`streebog512` use the C extension ``_streebog`` (source
    ``_streebog.c`` beside this file, built by ``pip install`` when a C compiler is present;
    ``optional`` in pyproject.toml, so an install without one still succeeds) and fall back to
    the pure-Python engine below when it is missing. :data:`BACKEND` says which one is in use
    (``"native"`` or ``"python"``). Setting the environment variable ``VHOD_STREEBOG=python``
    forces the pure-Python engine; it is read once, at import. Both compute the same function
    in the same byte order; the tests compare them. The C code releases the GIL while hashing.
    After editing ``_streebog.c``, rebuild with ``pip install -e '.[dev]'``.

Speed
    Native: about 0.4 us per 64-byte block, i.e. about 2 us for a 110-byte message, 8 us
    for 1 KB and 14 us for 2 KB (around 150 MB/s on long input); 150-200x the pure-Python
    engine. Its 8 x 256 word tables (16 KB) are built at import, in microseconds; the
    pure-Python tables below are then never built.

    Pure Python: the round function ``LPS`` (S-box, byte transposition, linear map) is linear
    over GF(2) after the S-box, so it is evaluated as the XOR of 64 table entries: one
    precomputed table per byte position, each holding the full 512-bit contribution of that
    byte (S, P and L combined). The tables (64 x 256 Python ints, about 1.3 MB) are built on
    first use, in a few milliseconds, from the 256-byte S-box and the 64 constants of the
    matrix A. The key schedule of the first block (``h = IV``, ``N = 0``) does not depend on
    the message, so it is precomputed as well. The state is kept as one 512-bit Python int so
    that XOR is a single operation.

    What bounds it: a 110-byte message needs 87 LPS evaluations, i.e. about 5,600 table
    lookups, and CPython spends tens of nanoseconds on each: about 250 us for 110 bytes and
    1.4 ms for 1 KB, 4-6x ``gostcrypto``. Tables indexed by 16 bits would halve the lookups
    but weigh ~30 MB per process and take a noticeable time to build, which is not worth it
    for a fallback.

Timing
    Table lookups (in both backends) are indexed by message bytes. That is fine for our uses
    (hashing certificates and messages that are public or sent in the clear); do not use this
    module to hash long-term secrets where a cache-timing observer is a concern.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from collections.abc import Sequence
from typing import Literal

__all__ = ["BACKEND", "BytesLike", "streebog256", "streebog512"]

# S-box pi (GOST R 34.11-2012 §5.1; the same table as Kuznyechik's).
_PI = bytes.fromhex(
    "fceedd11cf6e3116fbc4fada23c5044de977f0db932e99ba1736f1bb14cd5fc1"
    "f918655ae25cef21811c3c428b018e4f058402aee36a8fa0060bed987fd4d31f"
    "eb342c51eac848abf22a68a2fd3aceccb5700e56080c7612bf7213479cb75d87"
    "15a19629107b9ac7f391786f9d9eb2b13275193dff358a7e6d54c680c3bd0d57"
    "dff524a93ea843c9d779d6f67c22b903e00fecde7a94b0bcdce828504e330a4a"
    "a79760731e0062441ab83882649f2641ad454692275e552f8ca3a57d69d5953b"
    "0758b34086ac1df730376be488d9e789e11b83494c3ff8fe8d53aa90cad88561"
    "207167a42d2b095bcb9b25d0bee56c5259a674d2e6f4b4c0d166afc2394b63b6"
)
# Rows of the 64x64 binary matrix A of the linear map L (§5.4), first row = top bit.
_A = (
    0x8E20FAA72BA0B470,
    0x47107DDD9B505A38,
    0xAD08B0E0C3282D1C,
    0xD8045870EF14980E,
    0x6C022C38F90A4C07,
    0x3601161CF205268D,
    0x1B8E0B0E798C13C8,
    0x83478B07B2468764,
    0xA011D380818E8F40,
    0x5086E740CE47C920,
    0x2843FD2067ADEA10,
    0x14AFF010BDD87508,
    0x0AD97808D06CB404,
    0x05E23C0468365A02,
    0x8C711E02341B2D01,
    0x46B60F011A83988E,
    0x90DAB52A387AE76F,
    0x486DD4151C3DFDB9,
    0x24B86A840E90F0D2,
    0x125C354207487869,
    0x092E94218D243CBA,
    0x8A174A9EC8121E5D,
    0x4585254F64090FA0,
    0xACCC9CA9328A8950,
    0x9D4DF05D5F661451,
    0xC0A878A0A1330AA6,
    0x60543C50DE970553,
    0x302A1E286FC58CA7,
    0x18150F14B9EC46DD,
    0x0C84890AD27623E0,
    0x0642CA05693B9F70,
    0x0321658CBA93C138,
    0x86275DF09CE8AAA8,
    0x439DA0784E745554,
    0xAFC0503C273AA42A,
    0xD960281E9D1D5215,
    0xE230140FC0802984,
    0x71180A8960409A42,
    0xB60C05CA30204D21,
    0x5B068C651810A89E,
    0x456C34887A3805B9,
    0xAC361A443D1C8CD2,
    0x561B0D22900E4669,
    0x2B838811480723BA,
    0x9BCF4486248D9F5D,
    0xC3E9224312C8C1A0,
    0xEFFA11AF0964EE50,
    0xF97D86D98A327728,
    0xE4FA2054A80B329C,
    0x727D102A548B194E,
    0x39B008152ACB8227,
    0x9258048415EB419D,
    0x492C024284FBAEC0,
    0xAA16012142F35760,
    0x550B8E9E21F7A530,
    0xA48B474F9EF5DC18,
    0x70A6A56E2440598E,
    0x3853DC371220A247,
    0x1CA76E95091051AD,
    0x0EDD37C48A08A6D8,
    0x07E095624504536C,
    0x8D70C431AC02A736,
    0xC83862965601DD1B,
    0x641C314B2B8EE083,
)
# Iteration constants C_1..C_12 of the key schedule (§6), as little-endian integers.
_C = (
    int(
        "b1085bda1ecadae9ebcb2f81c0657c1f2f6a76432e45d016714eb88d7585c4fc"
        "4b7ce09192676901a2422a08a460d31505767436cc744d23dd806559f2a64507",
        16,
    ),
    int(
        "6fa3b58aa99d2f1a4fe39d460f70b5d7f3feea720a232b9861d55e0f16b50131"
        "9ab5176b12d699585cb561c2db0aa7ca55dda21bd7cbcd56e679047021b19bb7",
        16,
    ),
    int(
        "f574dcac2bce2fc70a39fc286a3d843506f15e5f529c1f8bf2ea7514b1297b7b"
        "d3e20fe490359eb1c1c93a376062db09c2b6f443867adb31991e96f50aba0ab2",
        16,
    ),
    int(
        "ef1fdfb3e81566d2f948e1a05d71e4dd488e857e335c3c7d9d721cad685e353f"
        "a9d72c82ed03d675d8b71333935203be3453eaa193e837f1220cbebc84e3d12e",
        16,
    ),
    int(
        "4bea6bacad4747999a3f410c6ca923637f151c1f1686104a359e35d7800fffbd"
        "bfcd1747253af5a3dfff00b723271a167a56a27ea9ea63f5601758fd7c6cfe57",
        16,
    ),
    int(
        "ae4faeae1d3ad3d96fa4c33b7a3039c02d66c4f95142a46c187f9ab49af08ec6"
        "cffaa6b71c9ab7b40af21f66c2bec6b6bf71c57236904f35fa68407a46647d6e",
        16,
    ),
    int(
        "f4c70e16eeaac5ec51ac86febf240954399ec6c7e6bf87c9d3473e33197a93c9"
        "0992abc52d822c3706476983284a05043517454ca23c4af38886564d3a14d493",
        16,
    ),
    int(
        "9b1f5b424d93c9a703e7aa020c6e41414eb7f8719c36de1e89b4443b4ddbc49a"
        "f4892bcb929b069069d18d2bd1a5c42f36acc2355951a8d9a47f0dd4bf02e71e",
        16,
    ),
    int(
        "378f5a541631229b944c9ad8ec165fde3a7d3a1b258942243cd955b7e00d0984"
        "800a440bdbb2ceb17b2b8a9aa6079c540e38dc92cb1f2a607261445183235adb",
        16,
    ),
    int(
        "abbedea680056f52382ae548b2e4f3f38941e71cff8a78db1fffe18a1b336103"
        "9fe76702af69334b7a1e6c303b7652f43698fad1153bb6c374b4c7fb98459ced",
        16,
    ),
    int(
        "7bcd9ed0efc889fb3002c6cd635afe94d8fa6bbbebab07612001802114846679"
        "8a1d71efea48b9caefbacd1d7d476e98dea2594ac06fd85d6bcaa4cd81f32d1b",
        16,
    ),
    int(
        "378ee767f11631bad21380b00449b17acda43c32bcdf1d77f82012d430219f9b"
        "5d80ef9d1891cc86e71da4aa88e12852faf417d5d9b21b9948bc924af11bd720",
        16,
    ),
)


#: What the hash functions accept (``collections.abc.Buffer`` needs Python 3.12).
BytesLike = bytes | bytearray | memoryview

_MASK512 = (1 << 512) - 1
_IV512 = 0
_IV256 = int.from_bytes(b"\x01" * 64, "little")


def _build_tables() -> list[list[int]]:
    """Combined S/P/L tables: ``T[8j + i][b]`` is LPS of byte ``b`` at byte ``i`` of word ``j``.

    ``L`` maps bit ``t`` of byte ``j`` of a 64-bit word to ``A[63 - 8j - t]``; ``P`` moves
    byte ``i`` of word ``j`` to byte ``j`` of word ``i`` (GOST R 34.11-2012 §5.2-5.4).
    """
    tables: list[list[int]] = []
    for j in range(8):
        linear = [0] * 256  # L of an S-box output byte v placed at byte j of a word
        for v in range(1, 256):
            low = v & -v
            linear[v] = linear[v ^ low] ^ _A[63 - 8 * j - (low.bit_length() - 1)]
        per_word = [linear[_PI[b]] for b in range(256)]
        tables.append(per_word)
    return [[tables[j][b] << (64 * i) for b in range(256)] for j in range(8) for i in range(8)]


_G = Callable[[int, int, int], int]
_GFirst = Callable[[tuple[int, ...], int, int], int]


def _make_rounds(tables: Sequence[Sequence[int]]) -> tuple[_G, _GFirst]:
    """Compile the compression function with LPS unrolled over the tables.

    The 64 lookups of each LPS are written out and the tables bound to local names because
    that is what makes CPython fast here: no call per LPS, no inner loop, only ``LOAD_FAST``
    and list subscripts. The unrolled lines were generated; keep them mechanical.
    """

    def g(h: int, n: int, m: int) -> int:
        """g_N(h, m) = E(LPS(h ^ N), m) ^ h ^ m (GOST R 34.11-2012 §7)."""
        (
            t0,
            t1,
            t2,
            t3,
            t4,
            t5,
            t6,
            t7,
            t8,
            t9,
            t10,
            t11,
            t12,
            t13,
            t14,
            t15,
            t16,
            t17,
            t18,
            t19,
            t20,
            t21,
            t22,
            t23,
            t24,
            t25,
            t26,
            t27,
            t28,
            t29,
            t30,
            t31,
            t32,
            t33,
            t34,
            t35,
            t36,
            t37,
            t38,
            t39,
            t40,
            t41,
            t42,
            t43,
            t44,
            t45,
            t46,
            t47,
            t48,
            t49,
            t50,
            t51,
            t52,
            t53,
            t54,
            t55,
            t56,
            t57,
            t58,
            t59,
            t60,
            t61,
            t62,
            t63,
        ) = tables
        (
            b0,
            b1,
            b2,
            b3,
            b4,
            b5,
            b6,
            b7,
            b8,
            b9,
            b10,
            b11,
            b12,
            b13,
            b14,
            b15,
            b16,
            b17,
            b18,
            b19,
            b20,
            b21,
            b22,
            b23,
            b24,
            b25,
            b26,
            b27,
            b28,
            b29,
            b30,
            b31,
            b32,
            b33,
            b34,
            b35,
            b36,
            b37,
            b38,
            b39,
            b40,
            b41,
            b42,
            b43,
            b44,
            b45,
            b46,
            b47,
            b48,
            b49,
            b50,
            b51,
            b52,
            b53,
            b54,
            b55,
            b56,
            b57,
            b58,
            b59,
            b60,
            b61,
            b62,
            b63,
        ) = (h ^ n).to_bytes(64, "little")
        k = (
            t0[b0]
            ^ t1[b1]
            ^ t2[b2]
            ^ t3[b3]
            ^ t4[b4]
            ^ t5[b5]
            ^ t6[b6]
            ^ t7[b7]
            ^ t8[b8]
            ^ t9[b9]
            ^ t10[b10]
            ^ t11[b11]
            ^ t12[b12]
            ^ t13[b13]
            ^ t14[b14]
            ^ t15[b15]
            ^ t16[b16]
            ^ t17[b17]
            ^ t18[b18]
            ^ t19[b19]
            ^ t20[b20]
            ^ t21[b21]
            ^ t22[b22]
            ^ t23[b23]
            ^ t24[b24]
            ^ t25[b25]
            ^ t26[b26]
            ^ t27[b27]
            ^ t28[b28]
            ^ t29[b29]
            ^ t30[b30]
            ^ t31[b31]
            ^ t32[b32]
            ^ t33[b33]
            ^ t34[b34]
            ^ t35[b35]
            ^ t36[b36]
            ^ t37[b37]
            ^ t38[b38]
            ^ t39[b39]
            ^ t40[b40]
            ^ t41[b41]
            ^ t42[b42]
            ^ t43[b43]
            ^ t44[b44]
            ^ t45[b45]
            ^ t46[b46]
            ^ t47[b47]
            ^ t48[b48]
            ^ t49[b49]
            ^ t50[b50]
            ^ t51[b51]
            ^ t52[b52]
            ^ t53[b53]
            ^ t54[b54]
            ^ t55[b55]
            ^ t56[b56]
            ^ t57[b57]
            ^ t58[b58]
            ^ t59[b59]
            ^ t60[b60]
            ^ t61[b61]
            ^ t62[b62]
            ^ t63[b63]
        )
        s = m
        for c in _C:
            (
                b0,
                b1,
                b2,
                b3,
                b4,
                b5,
                b6,
                b7,
                b8,
                b9,
                b10,
                b11,
                b12,
                b13,
                b14,
                b15,
                b16,
                b17,
                b18,
                b19,
                b20,
                b21,
                b22,
                b23,
                b24,
                b25,
                b26,
                b27,
                b28,
                b29,
                b30,
                b31,
                b32,
                b33,
                b34,
                b35,
                b36,
                b37,
                b38,
                b39,
                b40,
                b41,
                b42,
                b43,
                b44,
                b45,
                b46,
                b47,
                b48,
                b49,
                b50,
                b51,
                b52,
                b53,
                b54,
                b55,
                b56,
                b57,
                b58,
                b59,
                b60,
                b61,
                b62,
                b63,
            ) = (s ^ k).to_bytes(64, "little")
            s = (
                t0[b0]
                ^ t1[b1]
                ^ t2[b2]
                ^ t3[b3]
                ^ t4[b4]
                ^ t5[b5]
                ^ t6[b6]
                ^ t7[b7]
                ^ t8[b8]
                ^ t9[b9]
                ^ t10[b10]
                ^ t11[b11]
                ^ t12[b12]
                ^ t13[b13]
                ^ t14[b14]
                ^ t15[b15]
                ^ t16[b16]
                ^ t17[b17]
                ^ t18[b18]
                ^ t19[b19]
                ^ t20[b20]
                ^ t21[b21]
                ^ t22[b22]
                ^ t23[b23]
                ^ t24[b24]
                ^ t25[b25]
                ^ t26[b26]
                ^ t27[b27]
                ^ t28[b28]
                ^ t29[b29]
                ^ t30[b30]
                ^ t31[b31]
                ^ t32[b32]
                ^ t33[b33]
                ^ t34[b34]
                ^ t35[b35]
                ^ t36[b36]
                ^ t37[b37]
                ^ t38[b38]
                ^ t39[b39]
                ^ t40[b40]
                ^ t41[b41]
                ^ t42[b42]
                ^ t43[b43]
                ^ t44[b44]
                ^ t45[b45]
                ^ t46[b46]
                ^ t47[b47]
                ^ t48[b48]
                ^ t49[b49]
                ^ t50[b50]
                ^ t51[b51]
                ^ t52[b52]
                ^ t53[b53]
                ^ t54[b54]
                ^ t55[b55]
                ^ t56[b56]
                ^ t57[b57]
                ^ t58[b58]
                ^ t59[b59]
                ^ t60[b60]
                ^ t61[b61]
                ^ t62[b62]
                ^ t63[b63]
            )
            (
                b0,
                b1,
                b2,
                b3,
                b4,
                b5,
                b6,
                b7,
                b8,
                b9,
                b10,
                b11,
                b12,
                b13,
                b14,
                b15,
                b16,
                b17,
                b18,
                b19,
                b20,
                b21,
                b22,
                b23,
                b24,
                b25,
                b26,
                b27,
                b28,
                b29,
                b30,
                b31,
                b32,
                b33,
                b34,
                b35,
                b36,
                b37,
                b38,
                b39,
                b40,
                b41,
                b42,
                b43,
                b44,
                b45,
                b46,
                b47,
                b48,
                b49,
                b50,
                b51,
                b52,
                b53,
                b54,
                b55,
                b56,
                b57,
                b58,
                b59,
                b60,
                b61,
                b62,
                b63,
            ) = (k ^ c).to_bytes(64, "little")
            k = (
                t0[b0]
                ^ t1[b1]
                ^ t2[b2]
                ^ t3[b3]
                ^ t4[b4]
                ^ t5[b5]
                ^ t6[b6]
                ^ t7[b7]
                ^ t8[b8]
                ^ t9[b9]
                ^ t10[b10]
                ^ t11[b11]
                ^ t12[b12]
                ^ t13[b13]
                ^ t14[b14]
                ^ t15[b15]
                ^ t16[b16]
                ^ t17[b17]
                ^ t18[b18]
                ^ t19[b19]
                ^ t20[b20]
                ^ t21[b21]
                ^ t22[b22]
                ^ t23[b23]
                ^ t24[b24]
                ^ t25[b25]
                ^ t26[b26]
                ^ t27[b27]
                ^ t28[b28]
                ^ t29[b29]
                ^ t30[b30]
                ^ t31[b31]
                ^ t32[b32]
                ^ t33[b33]
                ^ t34[b34]
                ^ t35[b35]
                ^ t36[b36]
                ^ t37[b37]
                ^ t38[b38]
                ^ t39[b39]
                ^ t40[b40]
                ^ t41[b41]
                ^ t42[b42]
                ^ t43[b43]
                ^ t44[b44]
                ^ t45[b45]
                ^ t46[b46]
                ^ t47[b47]
                ^ t48[b48]
                ^ t49[b49]
                ^ t50[b50]
                ^ t51[b51]
                ^ t52[b52]
                ^ t53[b53]
                ^ t54[b54]
                ^ t55[b55]
                ^ t56[b56]
                ^ t57[b57]
                ^ t58[b58]
                ^ t59[b59]
                ^ t60[b60]
                ^ t61[b61]
                ^ t62[b62]
                ^ t63[b63]
            )
        return s ^ k ^ h ^ m

    def g_first(keys: tuple[int, ...], h: int, m: int) -> int:
        """g_N(IV, m) with N = 0 and the key schedule ``keys`` precomputed (first block)."""
        (
            t0,
            t1,
            t2,
            t3,
            t4,
            t5,
            t6,
            t7,
            t8,
            t9,
            t10,
            t11,
            t12,
            t13,
            t14,
            t15,
            t16,
            t17,
            t18,
            t19,
            t20,
            t21,
            t22,
            t23,
            t24,
            t25,
            t26,
            t27,
            t28,
            t29,
            t30,
            t31,
            t32,
            t33,
            t34,
            t35,
            t36,
            t37,
            t38,
            t39,
            t40,
            t41,
            t42,
            t43,
            t44,
            t45,
            t46,
            t47,
            t48,
            t49,
            t50,
            t51,
            t52,
            t53,
            t54,
            t55,
            t56,
            t57,
            t58,
            t59,
            t60,
            t61,
            t62,
            t63,
        ) = tables
        s = m
        for k in keys[:12]:
            (
                b0,
                b1,
                b2,
                b3,
                b4,
                b5,
                b6,
                b7,
                b8,
                b9,
                b10,
                b11,
                b12,
                b13,
                b14,
                b15,
                b16,
                b17,
                b18,
                b19,
                b20,
                b21,
                b22,
                b23,
                b24,
                b25,
                b26,
                b27,
                b28,
                b29,
                b30,
                b31,
                b32,
                b33,
                b34,
                b35,
                b36,
                b37,
                b38,
                b39,
                b40,
                b41,
                b42,
                b43,
                b44,
                b45,
                b46,
                b47,
                b48,
                b49,
                b50,
                b51,
                b52,
                b53,
                b54,
                b55,
                b56,
                b57,
                b58,
                b59,
                b60,
                b61,
                b62,
                b63,
            ) = (s ^ k).to_bytes(64, "little")
            s = (
                t0[b0]
                ^ t1[b1]
                ^ t2[b2]
                ^ t3[b3]
                ^ t4[b4]
                ^ t5[b5]
                ^ t6[b6]
                ^ t7[b7]
                ^ t8[b8]
                ^ t9[b9]
                ^ t10[b10]
                ^ t11[b11]
                ^ t12[b12]
                ^ t13[b13]
                ^ t14[b14]
                ^ t15[b15]
                ^ t16[b16]
                ^ t17[b17]
                ^ t18[b18]
                ^ t19[b19]
                ^ t20[b20]
                ^ t21[b21]
                ^ t22[b22]
                ^ t23[b23]
                ^ t24[b24]
                ^ t25[b25]
                ^ t26[b26]
                ^ t27[b27]
                ^ t28[b28]
                ^ t29[b29]
                ^ t30[b30]
                ^ t31[b31]
                ^ t32[b32]
                ^ t33[b33]
                ^ t34[b34]
                ^ t35[b35]
                ^ t36[b36]
                ^ t37[b37]
                ^ t38[b38]
                ^ t39[b39]
                ^ t40[b40]
                ^ t41[b41]
                ^ t42[b42]
                ^ t43[b43]
                ^ t44[b44]
                ^ t45[b45]
                ^ t46[b46]
                ^ t47[b47]
                ^ t48[b48]
                ^ t49[b49]
                ^ t50[b50]
                ^ t51[b51]
                ^ t52[b52]
                ^ t53[b53]
                ^ t54[b54]
                ^ t55[b55]
                ^ t56[b56]
                ^ t57[b57]
                ^ t58[b58]
                ^ t59[b59]
                ^ t60[b60]
                ^ t61[b61]
                ^ t62[b62]
                ^ t63[b63]
            )
        return s ^ keys[12] ^ h ^ m

    return g, g_first


class _Engine:
    """The compiled rounds and the precomputed first-block key schedules, built once."""

    def __init__(self) -> None:
        tables = _build_tables()
        self.g, self.g_first = _make_rounds(tables)
        self.first_keys = {iv: _key_schedule(tables, iv) for iv in (_IV256, _IV512)}

    def digest(self, data: BytesLike, iv: int) -> bytes:
        """Stages 1-3 of §8: full blocks from the front, then the padded tail, N and Sigma."""
        g = self.g
        view = memoryview(data).cast("B")
        length = len(view)
        h = iv
        sigma = 0
        offset = 0
        while True:
            last = length - offset < 64
            # The tail (possibly empty) is padded as M || 0x01 || 0..0 (little-endian bytes).
            block = bytes(view[offset:]) + b"\x01" if last else view[offset : offset + 64]
            m = int.from_bytes(block, "little")
            # N = 8 * offset before this block; the first block (N = 0, h = IV) is precomputed.
            h = g(h, offset * 8, m) if offset else self.g_first(self.first_keys[iv], iv, m)
            sigma += m
            if last:
                break
            offset += 64
        h = g(h, 0, (length * 8) & _MASK512)
        h = g(h, 0, sigma & _MASK512)
        return h.to_bytes(64, "little")


def _key_schedule(tables: Sequence[Sequence[int]], h: int) -> tuple[int, ...]:
    """K_1..K_13 of g_0(h, .): K_1 = LPS(h), K_{i+1} = LPS(K_i ^ C_i) (used once per IV)."""

    def lps(x: int) -> int:
        out = 0
        for table, byte in zip(tables, x.to_bytes(64, "little"), strict=True):
            out ^= table[byte]
        return out

    keys = [lps(h)]
    for c in _C:
        keys.append(lps(keys[-1] ^ c))
    return tuple(keys)


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def _get_engine() -> _Engine:
    global _engine
    engine = _engine
    if engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = _Engine()
            engine = _engine
    return engine


def _pure_streebog512(data: BytesLike) -> bytes:
    """:func:`streebog512` on the pure-Python engine (the fallback; tests compare backends)."""
    return _get_engine().digest(data, _IV512)


def _pure_streebog256(data: BytesLike) -> bytes:
    """:func:`streebog256` on the pure-Python engine (the fallback; tests compare backends)."""
    return _get_engine().digest(data, _IV256)[32:]


def _load_native() -> Callable[[BytesLike, int], bytes] | None:
    """``_streebog.digest`` if the C extension was built and not disabled, else None."""
    if os.environ.get("VHOD_STREEBOG", "").strip().lower() == "python":
        return None
    try:
        from providers.upstream.esia import _streebog
    except ImportError:  # not built (no compiler at install time): pure Python
        return None
    return _streebog.digest


#: ``_streebog.digest(data, size)``, or None when the pure-Python engine is in use.
_native_digest = _load_native()

#: Which engine :func:`streebog256` and :func:`streebog512` use (for benchmarks and logs).
BACKEND: Literal["native", "python"] = "python" if _native_digest is None else "native"


def streebog512(data: BytesLike) -> bytes:
    """GOST R 34.11-2012 hash with a 512-bit result (64 bytes, library byte order).

    :param data: the message (any bytes-like object).
    """
    if _native_digest is not None:
        return _native_digest(data, 64)
    return _pure_streebog512(data)


def streebog256(data: BytesLike) -> bytes:
    """GOST R 34.11-2012 hash with a 256-bit result (32 bytes, library byte order).

    Per §8 the 256-bit hash uses IV = 0x01...01 and keeps the most significant half of
    the final state, which in little-endian order is the last 32 bytes.

    :param data: the message (any bytes-like object).
    """
    if _native_digest is not None:
        return _native_digest(data, 32)
    return _pure_streebog256(data)
