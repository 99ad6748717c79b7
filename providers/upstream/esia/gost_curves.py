"""Elliptic-curve parameter sets for GOST R 34.10-2012 with 256-bit keys.

Sources: RFC 4357 §11.4 (the CryptoPro sets, used since GOST R 34.10-2001) and RFC 7836
Appendix A.2 / R 1323565.1.024-2019 (the TC26 sets). ESIA's own certificates use
id-GostR3410-2001-CryptoPro-XchA-ParamSet; keys made by CryptoPro CSP, OpenSSL gost-engine or
the Federal Treasury CA may carry any of the OIDs below.

Several OIDs name the *same* curve: CryptoPro-A = XchA = TC26 256-B, CryptoPro-B = TC26 256-C,
CryptoPro-C = XchB = TC26 256-D (RFC 7836 §A.2; R 1323565.1.024-2019 Table 1). They share one
:class:`Curve` object here, so the precomputed tables in ``gost.py`` are built once per curve.

TC26 256-A is a twisted Edwards curve (cofactor 4) that the standard also gives in short
Weierstrass form; we use that form, so one set of formulas serves every curve.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CRYPTOPRO_A",
    "CRYPTOPRO_B",
    "CRYPTOPRO_C",
    "CURVES_BY_OID",
    "PARAM_SET_NAMES",
    "TC26_256_A",
    "Curve",
    "curve_for_oid",
]


@dataclass(frozen=True, eq=False)
class Curve:
    """A short Weierstrass curve ``y^2 = x^3 + a*x + b`` over GF(p) with a base point of order q.

    Identity semantics (``eq=False``): curves are module-level singletons, and the point
    tables of ``gost.py`` are cached per object.

    :param name: the canonical name, for messages.
    :param cofactor: the group order is ``cofactor * q``; public keys on curves with a
        cofactor are checked to lie in the order-q subgroup.
    """

    name: str
    p: int
    a: int
    b: int
    q: int
    gx: int
    gy: int
    cofactor: int = 1

    @property
    def a_is_minus_3(self) -> bool:
        """True for the CryptoPro curves, whose doubling then needs fewer multiplications."""
        return self.a == self.p - 3

    def contains(self, x: int, y: int) -> bool:
        """Whether the affine point (x, y) satisfies the curve equation (coordinates in range)."""
        p = self.p
        if not (0 <= x < p and 0 <= y < p):
            return False
        return (y * y - (x * x * x + self.a * x + self.b)) % p == 0


_P_A = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97
_P_B = 0x8000000000000000000000000000000000000000000000000000000000000C99
_P_C = 0x9B9F605F5A858107AB1EC85E6B41C8AACF846E86789051D37998F7B9022D759B

CRYPTOPRO_A = Curve(
    name="id-GostR3410-2001-CryptoPro-A-ParamSet",
    p=_P_A,
    a=_P_A - 3,
    b=0xA6,
    q=0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF6C611070995AD10045841B09B761B893,
    gx=1,
    gy=0x8D91E471E0989CDA27DF505A453F2B7635294F2DDF23E3B122ACC99C9E9F1E14,
)

CRYPTOPRO_B = Curve(
    name="id-GostR3410-2001-CryptoPro-B-ParamSet",
    p=_P_B,
    a=_P_B - 3,
    b=0x3E1AF419A269A5F866A7D3C25C3DF80AE979259373FF2B182F49D4CE7E1BBC8B,
    q=0x800000000000000000000000000000015F700CFFF1A624E5E497161BCC8A198F,
    gx=1,
    gy=0x3FA8124359F96680B83D1C3EB2C070E5C545C9858D03ECFB744BF8D717717EFC,
)

CRYPTOPRO_C = Curve(
    name="id-GostR3410-2001-CryptoPro-C-ParamSet",
    p=_P_C,
    a=_P_C - 3,
    b=0x805A,
    q=0x9B9F605F5A858107AB1EC85E6B41C8AA582CA3511EDDFB74F02F3A6598980BB9,
    gx=0,
    gy=0x41ECE55743711A8C3CBF3783CD08C0EE4D4DC440D4641A8F366E550DFDB3BB67,
)

TC26_256_A = Curve(
    name="id-tc26-gost-3410-2012-256-paramSetA",
    p=_P_A,
    a=0xC2173F1513981673AF4892C23035A27CE25E2013BF95AA33B22C656F277E7335,
    b=0x295F9BAE7428ED9CCC20E7C359A9D41A22FCCD9108E17BF7BA9337A6F8AE9513,
    q=0x400000000000000000000000000000000FD8CDDFC87B6635C115AF556C360C67,
    gx=0x91E38443A5E82C0D880923425712B2BB658B9196932E02C78B2582FE742DAA28,
    gy=0x32879423AB1A0375895786C4BB46E9565FDE0B5344766740AF268ADB32322E5C,
    cofactor=4,
)

#: Parameter-set OID -> curve (every 256-bit set ESIA and CryptoPro use).
CURVES_BY_OID: dict[str, Curve] = {
    "1.2.643.2.2.35.1": CRYPTOPRO_A,
    "1.2.643.2.2.35.2": CRYPTOPRO_B,
    "1.2.643.2.2.35.3": CRYPTOPRO_C,
    "1.2.643.2.2.36.0": CRYPTOPRO_A,  # XchA
    "1.2.643.2.2.36.1": CRYPTOPRO_C,  # XchB
    "1.2.643.7.1.2.1.1.1": TC26_256_A,
    "1.2.643.7.1.2.1.1.2": CRYPTOPRO_A,
    "1.2.643.7.1.2.1.1.3": CRYPTOPRO_B,
    "1.2.643.7.1.2.1.1.4": CRYPTOPRO_C,
}

#: Parameter-set OID -> its registered name (for messages and the CLI).
PARAM_SET_NAMES: dict[str, str] = {
    "1.2.643.2.2.35.1": "id-GostR3410-2001-CryptoPro-A-ParamSet",
    "1.2.643.2.2.35.2": "id-GostR3410-2001-CryptoPro-B-ParamSet",
    "1.2.643.2.2.35.3": "id-GostR3410-2001-CryptoPro-C-ParamSet",
    "1.2.643.2.2.36.0": "id-GostR3410-2001-CryptoPro-XchA-ParamSet",
    "1.2.643.2.2.36.1": "id-GostR3410-2001-CryptoPro-XchB-ParamSet",
    "1.2.643.7.1.2.1.1.1": "id-tc26-gost-3410-2012-256-paramSetA",
    "1.2.643.7.1.2.1.1.2": "id-tc26-gost-3410-2012-256-paramSetB",
    "1.2.643.7.1.2.1.1.3": "id-tc26-gost-3410-2012-256-paramSetC",
    "1.2.643.7.1.2.1.1.4": "id-tc26-gost-3410-2012-256-paramSetD",
}


def curve_for_oid(oid: str) -> Curve | None:
    """The curve of a 256-bit parameter-set OID, or ``None`` if we do not support it."""
    return CURVES_BY_OID.get(oid)
