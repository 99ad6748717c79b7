"""JWK generation, RFC 7638 thumbprints and public-only export (SECURITY.md T2)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import ECKey
from joserfc.jwk import RSAKey

from keys.generate import generate_private_jwk
from keys.jwks import PRIVATE_MEMBERS
from keys.jwks import InvalidJwk
from keys.jwks import b64url_to_uint
from keys.jwks import b64url_uint
from keys.jwks import jwk_set
from keys.jwks import private_key_from_jwk
from keys.jwks import public_jwk
from keys.jwks import public_key_from_jwk
from keys.jwks import thumbprint
from keys.jwks import validate_public_jwk

# RFC 7638 §3.1: the example RSA key and its thumbprint.
RFC7638_KEY = {
    "kty": "RSA",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
        "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
        "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
        "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    ),
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.fixture(scope="module")
def rsa_jwk() -> dict[str, object]:
    return generate_private_jwk("RS256")


@pytest.fixture(scope="module")
def ec_jwk() -> dict[str, object]:
    return generate_private_jwk("ES256")


def test_thumbprint_matches_rfc7638_example() -> None:
    assert thumbprint(RFC7638_KEY) == RFC7638_THUMBPRINT


def test_thumbprint_ignores_optional_and_private_members(rsa_jwk: dict[str, object]) -> None:
    assert thumbprint(rsa_jwk) == thumbprint(public_jwk(rsa_jwk))
    assert thumbprint({**RFC7638_KEY, "use": "sig", "x5t": "zzz"}) == RFC7638_THUMBPRINT


def test_kid_matches_joserfc_thumbprint(
    rsa_jwk: dict[str, object], ec_jwk: dict[str, object]
) -> None:
    assert rsa_jwk["kid"] == RSAKey.import_key(public_jwk(rsa_jwk)).thumbprint()
    assert ec_jwk["kid"] == ECKey.import_key(public_jwk(ec_jwk)).thumbprint()


def test_generated_rsa_key_shape(rsa_jwk: dict[str, object]) -> None:
    assert rsa_jwk["kty"] == "RSA"
    assert rsa_jwk["alg"] == "RS256"
    assert rsa_jwk["use"] == "sig"
    assert b64url_to_uint(rsa_jwk["n"], "n").bit_length() == 2048
    assert rsa_jwk["e"] == "AQAB"
    assert {"d", "p", "q", "dp", "dq", "qi"} <= rsa_jwk.keys()


def test_rsa_size_follows_settings() -> None:
    jwk = generate_private_jwk("RS256", rsa_bits=3072)
    assert b64url_to_uint(jwk["n"], "n").bit_length() == 3072


def test_short_rsa_refused() -> None:
    with pytest.raises(ValueError, match="2048"):
        generate_private_jwk("RS256", rsa_bits=1024)


def test_unsupported_alg_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        generate_private_jwk("HS256")


def test_generated_p256_key_shape(ec_jwk: dict[str, object]) -> None:
    assert ec_jwk["kty"] == "EC"
    assert ec_jwk["crv"] == "P-256"
    assert ec_jwk["alg"] == "ES256"
    for member in ("x", "y", "d"):
        value = ec_jwk[member]
        assert isinstance(value, str)
        assert len(value) == 43  # 32 octets, full length (RFC 7518 §6.2.1.2)


def test_public_export_has_public_members_only(
    rsa_jwk: dict[str, object], ec_jwk: dict[str, object]
) -> None:
    rsa_pub = public_jwk(rsa_jwk)
    ec_pub = public_jwk(ec_jwk)
    assert set(rsa_pub) == {"kty", "n", "e", "kid", "alg", "use"}
    assert set(ec_pub) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    for pub in (rsa_pub, ec_pub):
        assert not PRIVATE_MEMBERS & pub.keys()
        assert pub["use"] == "sig"


def test_public_export_ignores_unknown_members(rsa_jwk: dict[str, object]) -> None:
    assert "secret_extra" not in public_jwk({**rsa_jwk, "secret_extra": "x"})


@pytest.mark.parametrize("member", sorted(PRIVATE_MEMBERS))
def test_private_member_is_never_published(rsa_jwk: dict[str, object], member: str) -> None:
    leaky = {**public_jwk(rsa_jwk), member: "AQAB"}
    with pytest.raises(InvalidJwk, match="private"):
        validate_public_jwk(leaky)
    with pytest.raises(InvalidJwk):
        jwk_set([leaky])


def test_published_key_needs_kid_use_and_matching_alg(ec_jwk: dict[str, object]) -> None:
    pub = public_jwk(ec_jwk)
    for broken in (
        {k: v for k, v in pub.items() if k != "kid"},
        {**pub, "use": "enc"},
        {**pub, "alg": "RS256"},
        {**pub, "alg": "none"},
    ):
        with pytest.raises(InvalidJwk):
            validate_public_jwk(broken)


def test_short_rsa_key_is_not_published() -> None:
    weak = rsa.generate_private_key(65537, 1024)  # noqa: S505 - deliberately weak: must be refused
    numbers = weak.public_key().public_numbers()
    jwk = {"kty": "RSA", "n": b64url_uint(numbers.n), "e": b64url_uint(numbers.e), "alg": "RS256"}
    with pytest.raises(InvalidJwk, match="2048"):
        public_jwk(jwk)


def test_wrong_kid_refused(rsa_jwk: dict[str, object]) -> None:
    with pytest.raises(InvalidJwk, match="thumbprint"):
        public_jwk({**rsa_jwk, "kid": "my-key"})


def test_jwk_set_refuses_duplicate_kids(rsa_jwk: dict[str, object]) -> None:
    pub = public_jwk(rsa_jwk)
    with pytest.raises(InvalidJwk, match="duplicate"):
        jwk_set([pub, dict(pub)])


def test_jwk_set_document(rsa_jwk: dict[str, object], ec_jwk: dict[str, object]) -> None:
    doc = jwk_set([public_jwk(rsa_jwk), public_jwk(ec_jwk)])
    assert [k["kid"] for k in doc["keys"]] == [rsa_jwk["kid"], ec_jwk["kid"]]


def test_key_objects_round_trip(rsa_jwk: dict[str, object], ec_jwk: dict[str, object]) -> None:
    message = b"header.payload"
    rsa_private = private_key_from_jwk(rsa_jwk)
    assert isinstance(rsa_private, rsa.RSAPrivateKey)
    signature = rsa_private.sign(message, padding.PKCS1v15(), hashes.SHA256())
    rsa_public = public_key_from_jwk(public_jwk(rsa_jwk))
    assert isinstance(rsa_public, rsa.RSAPublicKey)
    rsa_public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())

    ec_private = private_key_from_jwk(ec_jwk)
    assert isinstance(ec_private, ec.EllipticCurvePrivateKey)
    signature = ec_private.sign(message, ec.ECDSA(hashes.SHA256()))
    ec_public = public_key_from_jwk(public_jwk(ec_jwk))
    assert isinstance(ec_public, ec.EllipticCurvePublicKey)
    ec_public.verify(signature, message, ec.ECDSA(hashes.SHA256()))


def test_inconsistent_private_jwk_refused(ec_jwk: dict[str, object]) -> None:
    other = generate_private_jwk("ES256")
    with pytest.raises(InvalidJwk):
        private_key_from_jwk({**ec_jwk, "d": other["d"]})
    with pytest.raises(InvalidJwk):
        private_key_from_jwk({k: v for k, v in ec_jwk.items() if k != "d"})
