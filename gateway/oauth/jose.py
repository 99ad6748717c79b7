"""Signing and verifying vhod's own JWTs (id tokens, access tokens, logout tokens).

Keys come from a :class:`gateway.core.ports.KeySource` (``keys.manager.KeyManager``): the
active key of an algorithm signs, any published key verifies (a token signed before a
rotation keeps verifying until its key leaves the JWKS; SECURITY.md R8). joserfc key
objects are cached per ``kid``: importing an RSA JWK costs tens of milliseconds, a signature
one.

Verification is strict by construction (RFC 8725 §3.1, §3.11):

* the ``kid`` must name one of our published keys, and the header ``alg`` must be that
  key's algorithm — never ``none``, never an HMAC keyed with a public key;
* the header ``typ`` must be one the caller expects (``at+jwt`` for access tokens, RFC
  9068 §4; ``JWT`` for id tokens; ``logout+jwt`` for logout tokens), so one kind of token
  cannot be used as another (SECURITY.md T44).

Claims checks (``iss``, ``exp``…) are the caller's, with vhod's clock.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Collection
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jwk import RSAKey

from gateway.core.ports import KeySource

SIGNING_ALGS = ("RS256", "ES256")

TYP_ID_TOKEN = "JWT"
TYP_ACCESS_TOKEN = "at+jwt"
TYP_LOGOUT_TOKEN = "logout+jwt"

_JoseKey = RSAKey | ECKey


class InvalidJwt(Exception):
    """A JWT that is malformed, not ours, of the wrong type, or badly signed."""


class Jose:
    """Sign with the active key of an algorithm; verify against the published keys."""

    def __init__(self, keys: KeySource) -> None:
        self._keys = keys
        self._lock = threading.Lock()
        self._private: dict[str, _JoseKey] = {}
        self._public: dict[str, _JoseKey] = {}

    def sign(self, claims: dict[str, Any], alg: str, typ: str) -> str:
        """A compact JWS of ``claims`` with header ``{alg, kid, typ}``.

        :raises ValueError: an algorithm outside :data:`SIGNING_ALGS`.
        """
        if alg not in SIGNING_ALGS:
            raise ValueError(f"unsupported signing algorithm {alg!r}")
        active = self._keys.signing_key(alg)
        key = self._private.get(active.kid)
        if key is None:
            key = _import(alg, active.private_key)
            with self._lock:
                self._private = {active.kid: key} | {
                    k: v for k, v in self._private.items() if k != active.kid
                }
        header = {"alg": alg, "kid": active.kid, "typ": typ}
        return jwt.encode(header, claims, key, algorithms=[alg])

    def verify(self, token: str, typ: Collection[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The header and claims of a JWT signed by one of our published keys.

        :param typ: acceptable ``typ`` header values.
        :raises InvalidJwt: anything wrong with the token (never says what, on purpose).
        """
        header = _peek_header(token)
        kid = header.get("kid")
        alg = header.get("alg")
        if not isinstance(kid, str) or not isinstance(alg, str) or alg not in SIGNING_ALGS:
            raise InvalidJwt("unsupported header")
        if header.get("typ") not in typ:
            raise InvalidJwt("unexpected typ")
        published = self._keys.verification_key(kid)
        if published is None or published.alg != alg:
            raise InvalidJwt("unknown key")
        key = self._public.get(kid)
        if key is None:
            key = _import(alg, published.public_key)
            with self._lock:
                self._public[kid] = key
        try:
            decoded = jwt.decode(token, key, algorithms=[alg])
        except (JoseError, ValueError) as error:
            raise InvalidJwt(type(error).__name__) from error
        claims = dict(decoded.claims)
        return dict(decoded.header), claims


def _import(alg: str, key_object: Any) -> _JoseKey:
    if alg == "RS256":
        return RSAKey.import_key(key_object)
    return ECKey.import_key(key_object)


def _peek_header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS, before any verification (to pick the key)."""
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 16_384:
        raise InvalidJwt("not a compact JWS")
    segment = token.split(".", 1)[0]
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidJwt("bad header") from error
    if not isinstance(header, dict):
        raise InvalidJwt("bad header")
    return header


def looks_like_jwt(token: str) -> bool:
    """Cheap shape test used to pick the access-token validation path."""
    return token.startswith("eyJ") and token.count(".") == 2
