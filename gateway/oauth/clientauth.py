"""Client authentication at the token, PAR, introspection and revocation endpoints.

Methods (RFC 7591 names; a client may use only the one it registered):

* ``client_secret_basic`` — RFC 6749 §2.3.1: id and secret form-urlencoded, then joined
  by ``:`` and base64-encoded in ``Authorization: Basic``;
* ``client_secret_post`` — the same two values in the form body;
* ``private_key_jwt`` — RFC 7523 §2.2/§3 via Authlib's ``JWTBearerClientAssertion``:
  ``iss`` = ``sub`` = client id, ``aud`` = the token endpoint or the issuer (or the URL of
  the endpoint called), ``exp`` required and not more than 10 minutes ahead, ``jti``
  single-use (ephemeral store), algorithms RS256/ES256 only — never ``none`` or an HMAC.

Secrets are compared as keyed digests with ``hmac.compare_digest`` (one code path for
"unknown client" and "wrong secret": same status, same body). Credentials are read from
the header and the form body only, never from the query string (RFC 6749 §2.3.1). Using
two methods at once is ``invalid_request`` (RFC 6749 §2.3).

**Brute-force throttle** (RFC 6749 §2.3.1 "MUST protect … against brute force attacks";
SECURITY.md T32). Failures are counted per client id per minute (``incr`` with a fixed
one-minute window) and per (client id, address). Below
``oauth.client_auth_failures_per_minute`` every attempt is evaluated normally. Above it,
attempts from an address that has failed in this window get ``429`` + ``Retry-After``
without being evaluated, so guessing stops; a correct secret from an address that has
not failed keeps working, so an attacker cannot lock the real client out [POLICY]. The
bound on guesses is therefore the limit plus one per attacking address per minute, on
secrets of 256 bits.

A client this process has seen fail within the window is **unquiet**
(:meth:`ClientThrottle.quiet`): its requests always read the counter before the secret
is evaluated. Only quiet clients may have their check deferred to the token's write
(``gateway.oauth.deferred``), where the secret is evaluated first — so a node evaluates a
locked-out client's secret at most once a window before it has seen the failures.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote_plus

from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from gateway.core.errors import InvalidClientError
from gateway.core.errors import InvalidRequestError
from gateway.core.errors import RateLimited
from gateway.core.ids import keyed_digest
from gateway.oauth.adapters import ClientModel
from gateway.oauth.adapters import VhodOAuth2Request
from gateway.oauth.context import PATH_TOKEN
from gateway.oauth.context import OAuthContext
from gateway.oauth.records import NS_CLIENT_AUTH_FAILURES
from gateway.oauth.records import NS_CLIENT_AUTH_FAILURES_IP
from gateway.oauth.records import NS_JTI

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGS = ("RS256", "ES256")
MAX_ASSERTION_LIFETIME_SECONDS = 600
THROTTLE_WINDOW_SECONDS = 60
_MAX_UNQUIET = 4096


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """``(client_id, secret)`` from ``Authorization: Basic`` (scheme case-insensitive,
    RFC 9110 §11.1), each form-urldecoded (RFC 6749 §2.3.1); ``None`` if absent or
    malformed."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


_DECOY_DIGEST = "0" * 64
"""Compared against when the client is unknown or has no secret, so that both cases do
the same work as a wrong secret (SECURITY.md E: one code path)."""


class SecretAuthentication:
    """``client_secret_basic`` and ``client_secret_post`` over one check: the presented
    secret's keyed digest is always computed and compared in constant time, whether the
    client exists, has a secret, or not.

    :param secret_digest: the keyed digest of a presented secret (the server's).
    """

    def __init__(self, secret_digest: Callable[[str], str]) -> None:
        self._digest = secret_digest

    def basic(self, query_client: Any, request: VhodOAuth2Request) -> Any:
        credentials = parse_basic(request.headers.get("Authorization"))
        if credentials is None or not credentials[0] or not credentials[1]:
            return None
        return self._check(query_client, *credentials)

    def post(self, query_client: Any, request: VhodOAuth2Request) -> Any:
        client_id = request.form.get("client_id")
        secret = request.form.get("client_secret")
        if not client_id or not secret:
            return None
        return self._check(query_client, client_id, secret)

    def _check(self, query_client: Any, client_id: str, secret: str) -> Any:
        client = query_client(client_id)
        presented = self._digest(secret)
        stored = None if client is None else client.client.secret_digest
        matches = hmac.compare_digest(presented, stored or _DECOY_DIGEST)
        return client if matches and stored is not None else None


def claimed_client_id(request: VhodOAuth2Request) -> str | None:
    """The client id a request claims, before anything is verified (throttle key)."""
    basic = parse_basic(request.headers.get("Authorization"))
    if basic is not None and basic[0]:
        return basic[0]
    assertion = request.form.get("client_assertion")
    if assertion:
        try:
            segment = assertion.split(".")[1]
            payload = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
            sub = payload.get("sub") if isinstance(payload, dict) else None
        except (IndexError, ValueError, UnicodeDecodeError):
            sub = None
        if isinstance(sub, str) and sub:
            return sub
    client_id = request.form.get("client_id")
    return client_id or None


def check_single_method(request: VhodOAuth2Request) -> None:
    """RFC 6749 §2.3: "MUST NOT use more than one authentication method in each
    request"."""
    used = 0
    if parse_basic(request.headers.get("Authorization")) is not None:
        used += 1
    if request.form.get("client_secret"):
        used += 1
    if request.form.get("client_assertion") or request.form.get("client_assertion_type"):
        used += 1
    if used > 1:
        raise InvalidRequestError("More than one client authentication method was used.")


class PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
    """``private_key_jwt`` (RFC 7523 §3; OIDC Core §9) with vhod's clock and stores."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, ctx: OAuthContext) -> None:
        super().__init__(validate_jti=True, leeway=ctx.settings.leeway_seconds)
        self._ctx = ctx
        self._current = threading.local()
        """The URL of the endpoint being called, per thread (one instance serves all)."""

    def __call__(self, query_client: Any, request: VhodOAuth2Request) -> Any:
        self._current.uri = request.uri
        form_client_id = request.form.get("client_id")
        if request.form.get("client_assertion") and (
            request.form.get("client_assertion_type") != ASSERTION_TYPE
        ):
            raise InvalidClientError("Unsupported client_assertion_type.")
        client = super().__call__(query_client, request)
        if client is not None and form_client_id and form_client_id != client.client_id:
            raise InvalidClientError("client_id does not match the assertion.")
        return client

    def get_audiences(self) -> list[str]:
        """RFC 7523 §3 item 3: the token endpoint URL; the issuer is accepted too (OIDC
        Core §9, FAPI 2), and the URL of the endpoint being called (PAR, introspection)."""
        audiences = [self._ctx.url(PATH_TOKEN), self._ctx.issuer]
        uri = getattr(self._current, "uri", None)
        if isinstance(uri, str) and uri not in audiences:
            audiences.append(uri)
        return audiences

    def resolve_client_public_key(self, client: ClientModel) -> KeySet:
        if not client.client.jwks:
            raise InvalidClientError("The client has no registered keys.")
        try:
            data = json.loads(client.client.jwks)
            if isinstance(data, dict) and "keys" not in data:
                data = {"keys": [data]}
            return KeySet.import_key_set(data)
        except (ValueError, TypeError, JoseError) as error:
            raise InvalidClientError("The client's registered keys are unusable.") from error

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        """Verify the signature with RS256/ES256 only (RFC 8725 §3.1), then the claims."""
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=list(ASSERTION_ALGS))
        except (JoseError, ValueError) as error:
            raise InvalidClientError("The client assertion is invalid.") from error
        claims = dict(token.claims)
        self.verify_claims(claims)
        return claims

    def verify_claims(self, claims: dict[str, Any]) -> None:
        """RFC 7523 §3: ``iss`` = ``sub``, ``aud`` ours, ``exp`` in the future (with
        ``leeway``) but not too far, ``nbf``/``iat`` not in the future, ``jti`` unused."""
        now = self._ctx.clock.now()
        leeway = self.leeway
        iss, sub = claims.get("iss"), claims.get("sub")
        if not isinstance(sub, str) or iss != sub:
            raise InvalidClientError("iss and sub of the assertion must be the client id.")
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if not any(a in self.get_audiences() for a in audiences if isinstance(a, str)):
            raise InvalidClientError("The assertion is not addressed to this server.")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise InvalidClientError("The assertion has no exp.")
        if exp + leeway < now:
            raise InvalidClientError("The assertion expired.")
        if exp > now + MAX_ASSERTION_LIFETIME_SECONDS + leeway:
            raise InvalidClientError("The assertion lives too long.")
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if isinstance(value, int | float) and value > now + leeway:
                raise InvalidClientError(f"The assertion {name} is in the future.")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 512:
            raise InvalidClientError("The assertion has no usable jti.")
        if not self.validate_jti(claims, jti):
            raise InvalidClientError("The assertion was already used.")

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        """Single use within the assertion's lifetime: the first ``incr`` sees 1."""
        key = keyed_digest(b"jti", str(claims.get("sub")), jti)
        ttl = MAX_ASSERTION_LIFETIME_SECONDS + 2 * self.leeway + 60
        return self._ctx.ephemeral.incr(NS_JTI, key, ttl) == 1


class ClientThrottle:
    """Counts failed client authentications (see the module docstring)."""

    def __init__(self, ctx: OAuthContext, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._ctx = ctx
        self._monotonic = monotonic
        self._unquiet: dict[str, float] = {}

    def quiet(self, client_id: str) -> bool:
        """No failure of the client seen by this process within the window."""
        until = self._unquiet.get(client_id)
        return until is None or until <= self._monotonic()

    def _note(self, client_id: str) -> None:
        if len(self._unquiet) >= _MAX_UNQUIET:
            self._unquiet.clear()
        self._unquiet[client_id] = self._monotonic() + THROTTLE_WINDOW_SECONDS

    def _keys(self, client_id: str, address: str) -> tuple[str, str]:
        per_address = keyed_digest(b"throttle", "client_ip", f"{client_id}\x00{address}")
        return self.failure_key(client_id)[1], per_address

    def failure_key(self, client_id: str) -> tuple[str, str]:
        """The (namespace, key) of the client's failure counter."""
        return NS_CLIENT_AUTH_FAILURES, keyed_digest(b"throttle", "client", client_id)

    def over_limit(self, client_id: str, raw: bytes | None) -> bool:
        """Whether the client's failure counter (its value ``raw``) is at or over the
        limit; any failure makes the client unquiet."""
        try:
            failures = int(raw) if raw is not None else 0
        except ValueError:
            failures = 0
        if failures:
            self._note(client_id)
        return failures >= self._ctx.settings.client_auth_failures_per_minute

    def before(
        self, client_id: str | None, address: str, also: Sequence[tuple[str, str]] = ()
    ) -> list[bytes | None]:
        """Refuse, unevaluated, attempts from an address that failed while over the limit.

        :param also: other ephemeral (namespace, key)s to read in the same round trip (the
            client table's version, a token looked up next); their values are returned.
        """
        if client_id is None:
            return self._ctx.ephemeral.get_many(also) if also else []
        per_client, per_address = self._keys(client_id, address)
        values = self._ctx.ephemeral.get_many([(NS_CLIENT_AUTH_FAILURES, per_client), *also])
        if self.over_limit(client_id, values[0]) and (
            self._ctx.ephemeral.get(NS_CLIENT_AUTH_FAILURES_IP, per_address) is not None
        ):
            raise RateLimited("client_auth", THROTTLE_WINDOW_SECONDS)
        return values[1:]

    def failed(self, client_id: str | None, address: str) -> None:
        """Count a failure; :raises RateLimited: once the client is over the limit."""
        if client_id is None:
            return
        self._note(client_id)
        per_client, per_address = self._keys(client_id, address)
        count = self._ctx.ephemeral.incr(
            NS_CLIENT_AUTH_FAILURES, per_client, THROTTLE_WINDOW_SECONDS
        )
        self._ctx.ephemeral.incr(NS_CLIENT_AUTH_FAILURES_IP, per_address, THROTTLE_WINDOW_SECONDS)
        if count > self._ctx.settings.client_auth_failures_per_minute:
            self._ctx.event("client_auth.throttled", logging.WARNING, client_id=client_id[:128])
            raise RateLimited("client_auth", THROTTLE_WINDOW_SECONDS)
