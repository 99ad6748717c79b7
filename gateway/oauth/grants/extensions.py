"""Authlib extensions of the code flow.

* :class:`S256CodeChallenge` — PKCE is mandatory for every client and only ``S256`` is
  accepted (RFC 9700 §2.1.1; Authlib defaults to ``plain`` and makes the challenge
  optional). A missing or wrong verifier is ``invalid_grant`` (T17) and, because the code
  was consumed first, burns the code [POLICY].
* :class:`IdTokenExtension` — the ID token of the code and refresh responses, signed with
  vhod's keys and clock (Authlib's ``OpenIDCode`` uses ``time.time()`` and decides
  ``prompt`` itself; the journey does that here); with the ``children`` scope it carries
  the ``children`` claim (as userinfo does).
* :class:`VhodIssuerParameter` — RFC 9207 ``iss`` on every authorization response.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any
from typing import ClassVar

from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import OpenIDToken

from gateway.core.errors import InvalidGrantError
from gateway.core.errors import InvalidRequestError
from gateway.oauth.adapters import ClientModel
from gateway.oauth.adapters import VhodOAuth2Request
from gateway.oauth.children import CHILDREN_CLAIM
from gateway.oauth.children import CHILDREN_SCOPE
from gateway.oauth.children import children_claim
from gateway.oauth.context import OAuthContext
from gateway.oauth.grants.base import S256_CHALLENGE
from gateway.oauth.grants.base import VERIFIER
from gateway.oauth.grants.base import append_query
from gateway.oauth.grants.base import context_of
from gateway.oauth.grants.base import s256
from gateway.oauth.records import CodeRecord
from gateway.oauth.records import Principal


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    """PKCE with ``S256`` only, for every client (RFC 7636; RFC 9700 §2.1.1; T14–T18)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        """Per RFC 7636 §4.4.1: a missing challenge, a missing method (which would mean
        ``plain``, §4.3), any method but ``S256`` (case-sensitive) or a malformed
        challenge is ``invalid_request``."""
        data = grant.request.payload.data
        datalist = grant.request.payload.datalist
        for name in ("code_challenge", "code_challenge_method"):
            if len(datalist.get(name, [])) > 1:
                raise InvalidRequestError(f"{name} sent more than once.")
        challenge = data.get("code_challenge")
        if not challenge:
            raise InvalidRequestError("code_challenge is required (PKCE).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        if not S256_CHALLENGE.match(challenge):
            raise InvalidRequestError("code_challenge is malformed.")

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        """Per RFC 7636 §4.6, compared in constant time. Missing or malformed verifiers
        are ``invalid_grant`` too [POLICY, T16/T17: FAPI 2 expects it]."""
        verifier = grant.request.form.get("code_verifier")
        record: CodeRecord = grant.request.authorization_code.record
        if not verifier:
            raise InvalidGrantError("code_verifier is required.")
        if not VERIFIER.match(verifier):
            raise InvalidGrantError("code_verifier is malformed.")
        if not hmac.compare_digest(s256(verifier), record.code_challenge):
            context_of(grant).event("code.pkce_failed", logging.WARNING, client_id=record.client_id)
            raise InvalidGrantError("code_verifier does not match the challenge.")


class IdTokenExtension(OpenIDToken):  # type: ignore[misc]
    """Adds ``id_token`` to code and refresh responses whose scope has ``openid``."""

    def encode_id_token(self, token: dict[str, Any], request: VhodOAuth2Request) -> str:
        client: ClientModel = request.client
        principal: Principal = request.user
        ctx: OAuthContext = request.vhod_ctx
        scopes = str(token.get("scope", "")).split()
        extra: dict[str, Any] = {}
        if CHILDREN_SCOPE in scopes and principal.acting_for is None:
            extra[CHILDREN_CLAIM] = children_claim(ctx, client.client, principal.subject_id)
        return ctx.tokens.id_token(
            client.client,
            principal,
            nonce=principal.nonce,
            access_token=token.get("access_token"),
            extra=extra,
        )


class VhodIssuerParameter(IssuerParameter):  # type: ignore[misc]
    """RFC 9207 §2: ``iss`` in every authorization response (errors are built by
    ``gateway.oauth.authorize``, which adds it too)."""

    def __init__(self, issuer: str) -> None:
        self._issuer = issuer

    def get_issuer(self) -> str:
        return self._issuer

    def add_issuer_parameter(self, authorization_server: Any, response: Any) -> None:
        if response.location:
            response.location = append_query(response.location, [("iss", self._issuer)])
