"""GOST R 34.10-2012 (256-bit): the standard's example, gostcrypto both ways, edge cases.

Every test here runs three times: with the point multiplications in pure Python, in OpenSSL's
libcrypto (``ec_openssl.py``) and in the C code (``ec_native.py``); see ``ec_backends.py``.
Backend-specific tests are in ``test_gost_ec.py`` and ``test_gost_ec_native.py``.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterator
from typing import Any

import gostcrypto.gostsignature as gostsignature
import pytest

from providers.upstream.esia import gost
from providers.upstream.esia.gost import GostError
from providers.upstream.esia.gost import PrivateKey
from providers.upstream.esia.gost import PublicKey
from providers.upstream.esia.gost import decode_signature
from providers.upstream.esia.gost import encode_signature
from providers.upstream.esia.gost_curves import CRYPTOPRO_A
from providers.upstream.esia.gost_curves import CRYPTOPRO_B
from providers.upstream.esia.gost_curves import CRYPTOPRO_C
from providers.upstream.esia.gost_curves import CURVES_BY_OID
from providers.upstream.esia.gost_curves import TC26_256_A
from providers.upstream.esia.gost_curves import Curve
from providers.upstream.esia.gost_curves import curve_for_oid
from providers.upstream.esia.streebog import streebog256
from tests.unit.providers.esia.ec_backends import BACKENDS
from tests.unit.providers.esia.ec_backends import use_backend


@pytest.fixture(scope="module", autouse=True, params=BACKENDS)
def ec_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the whole module once per backend (module scope: tests are grouped by backend)."""
    with use_backend(request.param):
        yield request.param


CURVES = [CRYPTOPRO_A, CRYPTOPRO_B, CRYPTOPRO_C, TC26_256_A]

# R 1323565.1.024-2019 names, as gostcrypto knows them (ESIA.md §10.2).
GOSTCRYPTO_NAMES = {
    CRYPTOPRO_A: "id-tc26-gost-3410-2012-256-paramSetB",
    CRYPTOPRO_B: "id-tc26-gost-3410-2012-256-paramSetC",
    CRYPTOPRO_C: "id-tc26-gost-3410-2012-256-paramSetD",
    TC26_256_A: "id-tc26-gost-3410-2012-256-paramSetA",
}

# GOST R 34.10-2012 Appendix A.1 / RFC 7091 §7.1: the test curve and the worked example.
TEST_CURVE = Curve(
    name="GOST R 34.10-2012 example curve",
    p=0x8000000000000000000000000000000000000000000000000000000000000431,
    a=7,
    b=0x5FBFF498AA938CE739B8E022FBAFEF40563F6E6A3472FC2A514C0CE9DAE23B7E,
    q=0x8000000000000000000000000000000150FE8A1892976154C59CFC193ACCF5B3,
    gx=2,
    gy=0x08E2A8A0E65147D4BD6316030E16D19C85C97F0A9CA267122B96ABBCEA7E8FC8,
)
EXAMPLE_D = 0x7A929ADE789BB9BE10ED359DD39A72C11B60961F49397EEE1D19CE9891EC3B28
EXAMPLE_QX = 0x7F2B49E270DB6D90D8595BEC458B50C58585BA1D4E9B788F6689DBD8E56FD80B
EXAMPLE_QY = 0x26F1B489D6701DD185C8413A977B3CBBAF64D1C593D26627DFFB101A87FF77DA
EXAMPLE_E = 0x2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5
EXAMPLE_K = 0x77105C9B20BCD3122823C8CF6FCC7B956DE33814E95B7FE64FED924594DCEAB3
EXAMPLE_R = 0x41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493
EXAMPLE_S = 0x01456C64BA4642A1653C235A98A60249BCD6D3F746B631DF928014F6C5BF9C40


def _example_digest() -> bytes:
    # The standard gives e directly; our API takes the digest, read little-endian (§10.3).
    return EXAMPLE_E.to_bytes(32, "little")


def _affine(curve: Curve, point: tuple[int, int, int]) -> tuple[int, int] | None:
    """Jacobian -> affine (None for infinity)."""
    x, y, z = point
    if not z:
        return None
    zinv = pow(z, -1, curve.p)
    return x * zinv * zinv % curve.p, y * zinv**3 % curve.p


def _affine_add(
    curve: Curve, p1: tuple[int, int] | None, p2: tuple[int, int] | None
) -> tuple[int, int] | None:
    """Textbook affine addition, the reference for the fast formulas."""
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    p = curve.p
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % p == 0:
        return None
    if p1 == p2:
        lam = (3 * x1 * x1 + curve.a) * pow(2 * y1, -1, p) % p
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, p) % p
    x3 = (lam * lam - x1 - x2) % p
    return x3, (lam * (x1 - x3) - y1) % p


def _random_point(curve: Curve) -> tuple[int, int]:
    k = secrets.randbelow(curve.q - 1) + 1
    point = _affine(curve, gost._mul_vartime(curve, k, curve.gx, curve.gy))
    assert point is not None
    return point


# --------------------------------------------------------------------------- the standard


def test_standard_example_public_key() -> None:
    key = PrivateKey(TEST_CURVE, EXAMPLE_D)
    public = key.public_key()
    assert (public.x, public.y) == (EXAMPLE_QX, EXAMPLE_QY)


def test_standard_example_signature_is_reproduced_with_its_k() -> None:
    key = PrivateKey(TEST_CURVE, EXAMPLE_D)
    signature = key._sign_with_k(_example_digest(), EXAMPLE_K)
    assert signature == encode_signature(EXAMPLE_R, EXAMPLE_S)
    assert decode_signature(signature) == (EXAMPLE_R, EXAMPLE_S)
    # Wire form: s then r, big-endian each.
    assert signature[:32] == EXAMPLE_S.to_bytes(32, "big")


def test_standard_example_signature_verifies() -> None:
    public = PublicKey(TEST_CURVE, EXAMPLE_QX, EXAMPLE_QY)
    signature = encode_signature(EXAMPLE_R, EXAMPLE_S)
    assert public.verify_digest(_example_digest(), signature)
    assert not public.verify_digest(_example_digest(), encode_signature(EXAMPLE_R, EXAMPLE_S + 1))


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_curve_parameters_match_gostcrypto(curve: Curve) -> None:
    theirs = gostsignature.new(
        gostsignature.MODE_256, gostsignature.CURVES_R_1323565_1_024_2019[GOSTCRYPTO_NAMES[curve]]
    )
    assert (theirs._p, theirs._a, theirs._b, theirs._q) == (curve.p, curve.a, curve.b, curve.q)
    assert (theirs._x, theirs._y) == (curve.gx, curve.gy)


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_base_point_has_order_q(curve: Curve) -> None:
    assert curve.contains(curve.gx, curve.gy)
    assert gost._mul_vartime(curve, curve.q, curve.gx, curve.gy)[2] == 0
    assert gost._mul_vartime(curve, curve.q - 1, curve.gx, curve.gy)[2] != 0


def test_oid_aliases_share_one_curve() -> None:
    assert curve_for_oid("1.2.643.2.2.36.0") is CRYPTOPRO_A  # XchA
    assert curve_for_oid("1.2.643.7.1.2.1.1.2") is CRYPTOPRO_A  # TC26-B
    assert curve_for_oid("1.2.643.2.2.36.1") is CRYPTOPRO_C  # XchB
    assert curve_for_oid("1.2.643.7.1.2.1.1.1") is TC26_256_A
    assert curve_for_oid("1.2.643.7.1.2.1.2.1") is None  # 512-bit set: unsupported
    assert len(CURVES_BY_OID) == 9


# --------------------------------------------------------------------------- gostcrypto


def _theirs(curve: Curve) -> Any:
    return gostsignature.new(
        gostsignature.MODE_256, gostsignature.CURVES_R_1323565_1_024_2019[GOSTCRYPTO_NAMES[curve]]
    )


@pytest.mark.parametrize("oid", sorted(CURVES_BY_OID))
def test_signatures_cross_verify_with_gostcrypto(oid: str) -> None:
    curve = CURVES_BY_OID[oid]
    theirs = _theirs(curve)
    d = secrets.randbelow(curve.q - 1) + 1
    key = PrivateKey(curve, d)
    public = key.public_key()
    # gostcrypto: big-endian key and digest, r || s (ESIA.md §10.3).
    public_be = bytearray(public.x.to_bytes(32, "big") + public.y.to_bytes(32, "big"))
    assert theirs.public_key_generate(bytearray(d.to_bytes(32, "big"))) == public_be
    message = secrets.token_bytes(secrets.randbelow(200))
    digest = streebog256(message)
    digest_be = bytearray(digest[::-1])

    ours = key.sign(message)
    assert theirs.verify(public_be, digest_be, bytearray(ours[32:] + ours[:32]))

    their_sig = bytes(theirs.sign(bytearray(d.to_bytes(32, "big")), digest_be))
    assert public.verify(message, their_sig[32:] + their_sig[:32])
    assert not public.verify(message + b"!", their_sig[32:] + their_sig[:32])


# --------------------------------------------------------------------------- arithmetic


@pytest.mark.parametrize("curve", [*CURVES, TEST_CURVE], ids=lambda c: c.name)
def test_complete_addition_agrees_with_affine_reference(curve: Curve) -> None:
    math = gost._math_for(curve)
    p = curve.p
    for _ in range(5):
        p1, p2 = _random_point(curve), _random_point(curve)
        neg2 = (p2[0], p - p2[1])
        z = secrets.randbelow(p - 1) + 1  # a random projective representative of p1
        proj = (p1[0] * z % p, p1[1] * z % p, z)
        for q2, expected in (
            (p2, _affine_add(curve, p1, p2)),
            (p1, _affine_add(curve, p1, p1)),  # doubling, same code path
            ((p1[0], p - p1[1]), None),  # P + (-P)
            (neg2, _affine_add(curve, p1, neg2)),
        ):
            x, y, zz = gost._add_complete_mixed(*proj, *q2, p, math.a, math.b3)
            if expected is None:
                assert zz == 0
            else:
                zinv = pow(zz, -1, p)
                assert (x * zinv % p, y * zinv % p) == expected
        # infinity + Q = Q
        x, y, zz = gost._add_complete_mixed(0, 1, 0, *p2, p, math.a, math.b3)
        zinv = pow(zz, -1, p)
        assert (x * zinv % p, y * zinv % p) == p2


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_uniform_base_multiplication_matches_double_and_add(curve: Curve) -> None:
    math = gost._math_for(curve)
    q = curve.q
    scalars = [1, 2, 3, 15, 16, 17, q - 1, q - 2, q // 2, 1 << 200, (1 << 255) % q]
    scalars += [secrets.randbelow(q - 1) + 1 for _ in range(5)]
    for k in scalars:
        expected = _affine(curve, gost._mul_vartime(curve, k, curve.gx, curve.gy))
        assert gost._mul_base_uniform(math, k) == expected, k


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_recoding_digits_are_odd_and_sum_to_k(curve: Curve) -> None:
    q = curve.q
    for k in [0, 1, 2, q - 1, *[secrets.randbelow(q) for _ in range(20)]]:
        digits = gost._recode(k, q)
        assert len(digits) == 65
        assert all(d % 2 == 1 and -15 <= d <= 15 for d in digits)
        assert sum(d << (4 * i) for i, d in enumerate(digits)) % q == k % q


def test_wnaf_digits() -> None:
    for k in [1, 7, 255, secrets.randbits(256)]:
        digits = gost._wnaf(k, 5)
        assert sum(d << i for i, d in enumerate(digits)) == k
        assert all(d == 0 or (d % 2 == 1 and -15 <= d <= 15) for d in digits)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_sign_verify_round_trip_and_randomized(curve: Curve) -> None:
    key = PrivateKey.generate(curve)
    public = key.public_key()
    for length in (0, 1, 64, 110, 300):
        message = secrets.token_bytes(length)
        one, two = key.sign(message), key.sign(message)
        assert one != two  # fresh k each time
        assert public.verify(message, one)
        assert public.verify(message, two)


def test_key_bytes_round_trip() -> None:
    key = PrivateKey.generate(CRYPTOPRO_A)
    public = key.public_key()
    assert PublicKey.from_bytes(CRYPTOPRO_A, public.to_bytes()) == public
    raw = public.to_bytes()
    assert raw[:32] == public.x.to_bytes(32, "little")


# --------------------------------------------------------------------------- negatives


@pytest.fixture(scope="module")
def signed(ec_backend: str) -> tuple[PrivateKey, bytes, bytes]:
    key = PrivateKey.generate(CRYPTOPRO_A)
    message = b"client_id" + secrets.token_bytes(40)
    return key, message, key.sign(message)


def test_tampered_message_fails(signed: tuple[PrivateKey, bytes, bytes]) -> None:
    key, message, signature = signed
    assert key.public_key().verify(message, signature)
    assert not key.public_key().verify(message[:-1] + bytes([message[-1] ^ 1]), signature)
    assert not key.public_key().verify(message + b"\x00", signature)


@pytest.mark.parametrize("position", [0, 31, 32, 63])
def test_tampered_signature_fails(signed: tuple[PrivateKey, bytes, bytes], position: int) -> None:
    key, message, signature = signed
    bad = bytearray(signature)
    bad[position] ^= 0x01
    assert not key.public_key().verify(message, bytes(bad))


def test_swapped_halves_fail(signed: tuple[PrivateKey, bytes, bytes]) -> None:
    key, message, signature = signed
    assert not key.public_key().verify(message, signature[32:] + signature[:32])


def test_wrong_key_fails(signed: tuple[PrivateKey, bytes, bytes]) -> None:
    _, message, signature = signed
    other = PrivateKey.generate(CRYPTOPRO_A).public_key()
    assert not other.verify(message, signature)


def test_same_scalar_other_curve_fails(signed: tuple[PrivateKey, bytes, bytes]) -> None:
    _, message, signature = signed
    assert not PrivateKey.generate(CRYPTOPRO_B).public_key().verify(message, signature)


@pytest.mark.parametrize(
    ("r", "s"),
    [
        (0, 1),
        (1, 0),
        (0, 0),
        (CRYPTOPRO_A.q, 1),
        (1, CRYPTOPRO_A.q),
        (CRYPTOPRO_A.q + 5, 7),
        ((1 << 256) - 1, (1 << 256) - 1),
    ],
)
def test_r_or_s_out_of_range_rejected(
    signed: tuple[PrivateKey, bytes, bytes], r: int, s: int
) -> None:
    key, message, _ = signed
    assert not key.public_key().verify(message, encode_signature(r, s))


def test_r_or_s_plus_q_alias_rejected() -> None:
    # On TC26-A q is about 2^254, so r + q and s + q still fit the 32-byte fields.
    key = PrivateKey.generate(TC26_256_A)
    message = b"alias"
    r, s = decode_signature(key.sign(message))
    q = TC26_256_A.q
    assert key.public_key().verify(message, encode_signature(r, s))
    assert not key.public_key().verify(message, encode_signature(r, s + q))
    assert not key.public_key().verify(message, encode_signature(r + q, s))


@pytest.mark.parametrize("length", [0, 63, 65, 128])
def test_wrong_signature_length_rejected(
    signed: tuple[PrivateKey, bytes, bytes], length: int
) -> None:
    key, message, _ = signed
    assert not key.public_key().verify(message, b"\x01" * length)
    with pytest.raises(GostError):
        decode_signature(b"\x01" * length)


def test_wrong_digest_length(signed: tuple[PrivateKey, bytes, bytes]) -> None:
    key, _, signature = signed
    assert not key.public_key().verify_digest(b"\x00" * 31, signature)
    with pytest.raises(GostError):
        key.sign_digest(b"\x00" * 64)


def test_point_not_on_curve_rejected() -> None:
    public = PrivateKey.generate(CRYPTOPRO_A).public_key()
    with pytest.raises(GostError, match="not on the curve"):
        PublicKey(CRYPTOPRO_A, public.x, public.y ^ 1)
    with pytest.raises(GostError):
        PublicKey(CRYPTOPRO_A, public.x + CRYPTOPRO_A.p, public.y)  # coordinate out of range
    with pytest.raises(GostError):
        PublicKey(CRYPTOPRO_A, 0, 0)
    raw = bytearray(public.to_bytes())
    raw[40] ^= 0x80
    with pytest.raises(GostError):
        PublicKey.from_bytes(CRYPTOPRO_A, bytes(raw))
    with pytest.raises(GostError):
        PublicKey.from_bytes(CRYPTOPRO_A, public.to_bytes()[:63])


def test_point_outside_the_subgroup_rejected_on_tc26a() -> None:
    curve = TC26_256_A  # cofactor 4
    p = curve.p
    assert p % 4 == 3
    x = 1
    while True:
        x += 1
        rhs = (x**3 + curve.a * x + curve.b) % p
        y = pow(rhs, (p + 1) // 4, p)
        if y * y % p != rhs:
            continue
        if gost._mul_vartime(curve, curve.q, x, y)[2]:
            break
    assert curve.contains(x, y)
    with pytest.raises(GostError, match="subgroup"):
        PublicKey(curve, x, y)


def test_private_key_range() -> None:
    for bad in (0, CRYPTOPRO_A.q, CRYPTOPRO_A.q + 1, -1):
        with pytest.raises(GostError):
            PrivateKey(CRYPTOPRO_A, bad)
    with pytest.raises(GostError):
        PrivateKey.from_bytes(CRYPTOPRO_A, b"\x01" * 31)
    key = PrivateKey(TEST_CURVE, EXAMPLE_D)
    with pytest.raises(GostError):
        key._sign_with_k(_example_digest(), 0)
    with pytest.raises(GostError):
        key._sign_with_k(_example_digest(), TEST_CURVE.q)


def test_private_key_is_not_shown_or_copied() -> None:
    d = secrets.randbelow(CRYPTOPRO_A.q - 1) + 1
    key = PrivateKey(CRYPTOPRO_A, d)
    text = repr(key) + str(key)
    for form in (str(d), hex(d)[2:], d.to_bytes(32, "little").hex(), d.to_bytes(32, "big").hex()):
        assert form not in text.lower()
    assert "hidden" in text
    with pytest.raises(TypeError):
        copy.copy(key)
    with pytest.raises(TypeError):
        copy.deepcopy(key)
    with pytest.raises(TypeError):
        key.__reduce__()


def test_digest_zero_mod_q_uses_e_equal_1() -> None:
    # §6.1 step 2: e = 1 when alpha = 0 mod q. A digest equal to q (little-endian) is such.
    key = PrivateKey.generate(CRYPTOPRO_A)
    digest_q = CRYPTOPRO_A.q.to_bytes(32, "little")
    digest_1 = (1).to_bytes(32, "little")
    signature = key.sign_digest(digest_q)
    assert key.public_key().verify_digest(digest_1, signature)


# --------------------------------------------------------------------------- per-key tables


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_verification_paths_agree(curve: Curve) -> None:
    """First use (wNAF) and later uses (the key's own table) compute the same point."""
    public = PrivateKey.generate(curve).public_key()
    gost._key_tables.pop((curve, public.x, public.y), None)
    u1, u2 = secrets.randbelow(curve.q), secrets.randbelow(curve.q)
    cold = _affine(curve, gost._mul_add_vartime(curve, u1, public.x, public.y, u2))
    assert gost._key_tables[(curve, public.x, public.y)] is None  # seen once, no table yet
    warm = _affine(curve, gost._mul_add_vartime(curve, u1, public.x, public.y, u2))
    assert gost._key_tables[(curve, public.x, public.y)] is not None
    again = _affine(curve, gost._mul_add_vartime(curve, u1, public.x, public.y, u2))
    g = _affine(curve, gost._mul_vartime(curve, u1, curve.gx, curve.gy))
    q = _affine(curve, gost._mul_vartime(curve, u2, public.x, public.y))
    assert cold == warm == again == _affine_add(curve, g, q)


def test_repeated_verification_keeps_rejecting_forgeries() -> None:
    key = PrivateKey.generate(CRYPTOPRO_C)
    public = key.public_key()
    signature = key.sign(b"m")
    for _ in range(4):
        assert public.verify(b"m", signature)
        assert not public.verify(b"n", signature)


def test_key_table_cache_is_bounded() -> None:
    for _ in range(gost._KEY_TABLES_MAX + 5):
        public = PrivateKey.generate(CRYPTOPRO_A).public_key()
        public.verify(b"x", b"\x01" * 64)
    assert len(gost._key_tables) <= gost._KEY_TABLES_MAX
