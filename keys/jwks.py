"""JSON Web Key helpers: RFC 7638 thumbprints, public-only export, key objects.

Library-neutral on purpose: the OAuth layer signs with Authlib/joserfc, the ESIA client
with its own JOSE helpers, tests with joserfc. Everything here speaks plain JWK dicts
(RFC 7517) and ``cryptography`` key objects, which every Python JOSE library imports.

Publishing rule (SECURITY.md T2, RFC 7517 §4.5, OIDC Core §10.1): a JWK that leaves the
gateway carries the public members of its key type only, plus ``kid``, ``alg`` and
``use: "sig"``. :func:`public_jwk` builds it from an allow-list (so a member added to a
private JWK later can never leak) and :func:`validate_public_jwk` checks the result
against the deny-list of private members as a second, independent line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import rsa

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
"""A ``cryptography`` private key object as JOSE libraries import it."""

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
"""A ``cryptography`` public key object as JOSE libraries import it."""

MIN_RSA_BITS = 2048
"""RSA keys shorter than this are refused (RFC 7518 §3.3; SECURITY.md T2)."""

PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
"""JWK members that carry secret material (RFC 7518 §6.2.2, §6.3.2, §6.4.1)."""

_THUMBPRINT_MEMBERS: dict[str, tuple[str, ...]] = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "oct": ("k", "kty"),
}
"""Required members per key type, in lexicographic order (RFC 7638 §3.2, §3.3)."""

_PUBLIC_MEMBERS: dict[str, tuple[str, ...]] = {
    "RSA": ("kty", "n", "e"),
    "EC": ("kty", "crv", "x", "y"),
}
"""What a published key of each type may carry besides ``kid``, ``alg`` and ``use``."""

_ALG_KEY_TYPE: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "ES256": ("EC", "P-256"),
}
"""The key type (and curve) each signing algorithm needs (RFC 7518 §3.1)."""

_CURVES: dict[str, ec.EllipticCurve] = {"P-256": ec.SECP256R1()}


class InvalidJwk(ValueError):
    """A JWK is malformed, of the wrong type for its ``alg``, or not public-only."""


def b64url_uint(value: int, length: int | None = None) -> str:
    """Base64url (no padding) of a non-negative integer, big-endian.

    :param length: fixed octet length (EC coordinates, RFC 7518 §6.2.1.2); by default the
        minimum number of octets, with zero as one octet (RFC 7518 §2 ``Base64urlUInt``).
    """
    if value < 0:
        raise ValueError("Base64urlUInt values are non-negative")
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return base64.urlsafe_b64encode(value.to_bytes(size, "big")).rstrip(b"=").decode("ascii")


def b64url_to_uint(value: object, member: str) -> int:
    """The integer a ``Base64urlUInt`` member holds; :class:`InvalidJwk` when malformed."""
    if not isinstance(value, str) or not value:
        raise InvalidJwk(f"JWK member {member!r} must be a non-empty base64url string")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidJwk(f"JWK member {member!r} is not base64url") from exc
    return int.from_bytes(raw, "big")


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url without padding) used as ``kid``.

    Only the required members of the key type take part, serialised as JSON with the
    members in lexicographic order and no whitespace (RFC 7638 §3.1–3.3); ``kid``,
    ``alg``, ``use`` and private members never change the result, so a private JWK and
    its public export share one thumbprint.
    """
    kty = jwk.get("kty")
    members = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise InvalidJwk(f"unsupported JWK key type {kty!r}")
    required: dict[str, str] = {}
    for name in members:
        value = jwk.get(name)
        if not isinstance(value, str) or not value:
            raise InvalidJwk(f"JWK of type {kty} lacks the member {name!r}")
        required[name] = value
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def public_jwk(jwk: Mapping[str, Any]) -> dict[str, Any]:
    """The publishable form of a (private or public) signing JWK.

    Copies the public members of the key type from an allow-list, and sets ``kid`` to the
    RFC 7638 thumbprint, ``alg`` from the source and ``use: "sig"`` (RFC 7517 §4.2).

    :raises InvalidJwk: unsupported key type, missing ``alg``, a ``kid`` that is not the
        thumbprint, or a key that fails :func:`validate_public_jwk`.
    """
    kty = jwk.get("kty")
    members = _PUBLIC_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise InvalidJwk(f"only RSA and EC signing keys are published, not {kty!r}")
    kid = thumbprint(jwk)
    if "kid" in jwk and jwk["kid"] != kid:
        raise InvalidJwk("the JWK's kid is not its RFC 7638 thumbprint")
    out: dict[str, Any] = {name: jwk[name] for name in members}
    out["kid"] = kid
    out["alg"] = jwk.get("alg")
    out["use"] = "sig"
    validate_public_jwk(out)
    return out


def validate_public_jwk(jwk: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidJwk` unless ``jwk`` may be published in ``jwks_uri``.

    Checks: no private member (``d p q dp dq qi oth k``), ``kid`` present, ``use: "sig"``,
    a supported ``alg`` matching the key type and curve, RSA modulus ≥ 2048 bits
    (SECURITY.md T2; RFC 7517 §4.5; OIDC Core §10.1).
    """
    leaked = sorted(PRIVATE_MEMBERS.intersection(jwk))
    if leaked:
        raise InvalidJwk(f"private JWK members {leaked} must never be published")
    if not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
        raise InvalidJwk("a published JWK needs a kid")
    if jwk.get("use") != "sig":
        raise InvalidJwk('a published signing JWK needs use "sig"')
    _check_alg(jwk)
    if jwk["kty"] == "RSA":
        bits = b64url_to_uint(jwk.get("n"), "n").bit_length()
        if bits < MIN_RSA_BITS:
            raise InvalidJwk(f"RSA keys need at least {MIN_RSA_BITS} bits, this one has {bits}")


def jwk_set(jwks: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A JWK Set document ``{"keys": [...]}`` (RFC 7517 §5) of validated public keys.

    :raises InvalidJwk: a key is not public-only, or two keys share a ``kid`` (RFC 7517
        §4.5: "different keys within the JWK Set SHOULD use distinct kid values"; the
        conformance suite's CheckDistinctKeyIdValueInServerJWKs fails otherwise).
    """
    keys: list[dict[str, Any]] = []
    seen: set[str] = set()
    for jwk in jwks:
        validate_public_jwk(jwk)
        if jwk["kid"] in seen:
            raise InvalidJwk(f"duplicate kid {jwk['kid']!r} in the JWK Set")
        seen.add(jwk["kid"])
        keys.append(dict(jwk))
    return {"keys": keys}


def private_key_from_jwk(jwk: Mapping[str, Any]) -> PrivateKey:
    """The ``cryptography`` private key of an RSA (with CRT members) or P-256 JWK.

    :raises InvalidJwk: missing or inconsistent members.
    """
    _check_alg(jwk)
    try:
        if jwk["kty"] == "RSA":
            public = rsa.RSAPublicNumbers(_uint(jwk, "e"), _uint(jwk, "n"))
            numbers = rsa.RSAPrivateNumbers(
                p=_uint(jwk, "p"),
                q=_uint(jwk, "q"),
                d=_uint(jwk, "d"),
                dmp1=_uint(jwk, "dp"),
                dmq1=_uint(jwk, "dq"),
                iqmp=_uint(jwk, "qi"),
                public_numbers=public,
            )
            return numbers.private_key()
        curve = _CURVES[jwk["crv"]]
        key = ec.derive_private_key(_uint(jwk, "d"), curve)
        point = key.public_key().public_numbers()
        if (point.x, point.y) != (_uint(jwk, "x"), _uint(jwk, "y")):
            raise InvalidJwk("the EC JWK's public point does not match its private value")
        return key
    except (KeyError, ValueError) as exc:
        if isinstance(exc, InvalidJwk):
            raise
        raise InvalidJwk(f"the private JWK cannot be loaded: {exc}") from exc


def public_key_from_jwk(jwk: Mapping[str, Any]) -> PublicKey:
    """The ``cryptography`` public key of an RSA or P-256 JWK (private members ignored).

    :raises InvalidJwk: missing or invalid members (e.g. a point not on the curve).
    """
    _check_alg(jwk)
    try:
        if jwk["kty"] == "RSA":
            return rsa.RSAPublicNumbers(_uint(jwk, "e"), _uint(jwk, "n")).public_key()
        curve = _CURVES[jwk["crv"]]
        return ec.EllipticCurvePublicNumbers(_uint(jwk, "x"), _uint(jwk, "y"), curve).public_key()
    except (KeyError, ValueError) as exc:
        if isinstance(exc, InvalidJwk):
            raise
        raise InvalidJwk(f"the public JWK cannot be loaded: {exc}") from exc


def _uint(jwk: Mapping[str, Any], member: str) -> int:
    return b64url_to_uint(jwk.get(member), member)


def _check_alg(jwk: Mapping[str, Any]) -> None:
    alg = jwk.get("alg")
    expected = _ALG_KEY_TYPE.get(alg) if isinstance(alg, str) else None
    if expected is None:
        raise InvalidJwk(f"unsupported or missing JWK alg {alg!r}")
    kty, crv = expected
    if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
        raise InvalidJwk(f"alg {alg} needs a {kty} key" + (f" on {crv}" if crv else ""))
