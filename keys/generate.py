"""Signing-key generation: RSA for ``RS256`` and P-256 for ``ES256``, as private JWKs.

Keys are made with ``cryptography`` and written out as JSON Web Keys by hand so that the
result does not depend on which JOSE library the OAuth layer uses:

* RSA members ``n e d p q dp dq qi`` are base64url big-endian integers in the minimum
  number of octets (RFC 7518 §6.3.1, §6.3.2);
* EC members ``x y d`` are the full 32 octets of the P-256 field, leading zeros kept
  (RFC 7518 §6.2.1.2, §6.2.2.1).

Every generated JWK carries ``kid`` (the RFC 7638 thumbprint, see :mod:`keys.jwks`),
``alg`` and ``use: "sig"`` (RFC 7517 §4.2–4.5).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import rsa

from keys.jwks import MIN_RSA_BITS
from keys.jwks import b64url_uint
from keys.jwks import thumbprint

SUPPORTED_ALGS: tuple[str, ...] = ("RS256", "ES256")
"""The JWS algorithms vhod signs with (OIDC Core §15.1 requires RS256; ES256 for ATs)."""

_RSA_PUBLIC_EXPONENT = 65537
_P256_OCTETS = 32


def generate_private_jwk(alg: str, *, rsa_bits: int = MIN_RSA_BITS) -> dict[str, Any]:
    """A fresh private JWK for ``alg`` with ``kid``, ``alg`` and ``use`` set.

    :param alg: ``"RS256"`` or ``"ES256"``.
    :param rsa_bits: modulus size for ``RS256`` (``KeySettings.rsa_bits``); at least 2048.
    :raises ValueError: for an unsupported ``alg`` or a too short RSA modulus.
    """
    if alg == "RS256":
        jwk = _rsa_jwk(rsa_bits)
    elif alg == "ES256":
        jwk = _p256_jwk()
    else:
        raise ValueError(f"unsupported signing algorithm {alg!r}; use one of {SUPPORTED_ALGS}")
    jwk["kid"] = thumbprint(jwk)
    jwk["alg"] = alg
    jwk["use"] = "sig"
    return jwk


def _rsa_jwk(bits: int) -> dict[str, Any]:
    if bits < MIN_RSA_BITS:
        raise ValueError(f"RSA keys must have at least {MIN_RSA_BITS} bits, got {bits}")
    key = rsa.generate_private_key(public_exponent=_RSA_PUBLIC_EXPONENT, key_size=bits)
    priv = key.private_numbers()
    pub = priv.public_numbers
    return {
        "kty": "RSA",
        "n": b64url_uint(pub.n),
        "e": b64url_uint(pub.e),
        "d": b64url_uint(priv.d),
        "p": b64url_uint(priv.p),
        "q": b64url_uint(priv.q),
        "dp": b64url_uint(priv.dmp1),
        "dq": b64url_uint(priv.dmq1),
        "qi": b64url_uint(priv.iqmp),
    }


def _p256_jwk() -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    priv = key.private_numbers()
    pub = priv.public_numbers
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_uint(pub.x, _P256_OCTETS),
        "y": b64url_uint(pub.y, _P256_OCTETS),
        "d": b64url_uint(priv.private_value, _P256_OCTETS),
    }
