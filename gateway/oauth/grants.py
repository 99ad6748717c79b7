"""Authlib grants and extensions, made to meet SECURITY.md where Authlib's defaults do not
(SECURITY.md §6). Their persistence hooks call ports only.

* :class:`S256CodeChallenge` — PKCE is mandatory for every client and only ``S256`` is
  accepted (RFC 9700 §2.1.1; Authlib defaults to ``plain`` and makes the challenge
  optional). A missing or wrong verifier is ``invalid_grant`` (T17) and, because the code
  was consumed first, burns the code [POLICY].
* :class:`CodeGrant` — codes are 256-bit random values stored as keyed digests;
  redemption is an atomic ``EphemeralStore.consume`` (Authlib reads then deletes), whose
  tombstone keeps the grant so that a replay revokes every token issued from it (RFC 6749
  §4.1.2, §10.5; T26–T28). Codes are bound to client, redirect URI and PKCE challenge.
* :class:`RefreshGrant` — rotation on every use, the used token marked by a conditional
  ``UPDATE`` (exactly one concurrent exchange wins); reuse of a used token revokes the
  family (RFC 9700 §4.14.2; T36–T38); idle and absolute expiry (T40); a
  narrower ``scope`` is allowed and the new refresh token keeps the original scope (T39).
* :class:`ClientCredentials` — no refresh token, no id token, scopes limited to the
  client's registration (never the person-bound ``openid``/``offline_access``).
* :class:`IdTokenExtension` — the ID token of the code and refresh responses, signed with
  vhod's keys and clock (Authlib's ``OpenIDCode`` uses ``time.time()`` and decides
  ``prompt`` itself; the journey does that here).
* :class:`VhodIssuerParameter` — RFC 9207 ``iss`` on every authorization response.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from dataclasses import replace
from typing import Any
from typing import ClassVar
from urllib.parse import urlencode

from authlib.oauth2.rfc6749 import AuthorizationCodeGrant
from authlib.oauth2.rfc6749 import ClientCredentialsGrant
from authlib.oauth2.rfc6749 import RefreshTokenGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import OpenIDToken

from gateway.core.errors import InvalidGrantError
from gateway.core.errors import InvalidRequestError
from gateway.core.errors import InvalidScopeError
from gateway.core.errors import ReplayDetected
from gateway.core.ids import new_code
from gateway.core.ids import new_id
from gateway.core.types import CLIENT_AUTH_METHODS
from gateway.core.types import AuthorizationRequest
from gateway.core.types import Grant
from gateway.core.types import JourneyOutcome
from gateway.core.types import RefreshToken
from gateway.oauth.adapters import ClientModel
from gateway.oauth.adapters import CodeModel
from gateway.oauth.adapters import RefreshTokenModel
from gateway.oauth.adapters import VhodOAuth2Request
from gateway.oauth.context import OAuthContext
from gateway.oauth.families import revoke_grant
from gateway.oauth.records import NS_CODE
from gateway.oauth.records import CodeRecord
from gateway.oauth.records import Principal
from gateway.oauth.tokens import DIGEST_CODE

S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
"""An S256 challenge is the unpadded base64url of 32 bytes (RFC 7636 §4.2)."""
VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
"""RFC 7636 §4.1: 43–128 unreserved characters."""
PERSON_ONLY_SCOPES = frozenset({"openid", "offline_access"})


def append_query(uri: str, params: list[tuple[str, str]]) -> str:
    """``uri`` with ``params`` appended to its query, the registered part untouched."""
    if not params:
        return uri
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _ctx(grant: Any) -> OAuthContext:
    ctx: OAuthContext = grant.server.vhod
    return ctx


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
            _ctx(grant).event("code.pkce_failed", logging.WARNING, client_id=record.client_id)
            raise InvalidGrantError("code_verifier does not match the challenge.")


class IdTokenExtension(OpenIDToken):  # type: ignore[misc]
    """Adds ``id_token`` to code and refresh responses whose scope has ``openid``."""

    def encode_id_token(self, token: dict[str, Any], request: VhodOAuth2Request) -> str:
        client: ClientModel = request.client
        principal: Principal = request.user
        ctx: OAuthContext = request.vhod_ctx
        return ctx.tokens.id_token(
            client.client,
            principal,
            nonce=principal.nonce,
            access_token=token.get("access_token"),
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


class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    """The authorization code grant with atomic, replay-punishing redemption."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(CLIENT_AUTH_METHODS)

    def generate_authorization_code(self) -> str:
        """256 bits from ``secrets`` (RFC 6749 §10.10; T34)."""
        return new_code()

    def create_authorization_response(self, redirect_uri: str, grant_user: Any) -> Any:
        """RFC 6749 §4.1.2: ``code`` and the exact ``state``; 303 because the response may
        follow a form post (RFC 9700 §4.12; T12)."""
        self.request.user = grant_user
        code = self.generate_authorization_code()
        self.save_authorization_code(code, self.request)
        params = [("code", code)]
        authz: AuthorizationRequest = self.request.vhod_authz
        if authz.state is not None:
            params.append(("state", authz.state))
        return 303, "", [("Location", append_query(redirect_uri, params))]

    def save_authorization_code(self, code: str, request: VhodOAuth2Request) -> None:
        """Store the code's grant under the code's keyed digest for ``code_ttl_seconds``."""
        ctx = _ctx(self)
        authz: AuthorizationRequest = request.vhod_authz
        outcome: JourneyOutcome = request.user
        scopes: tuple[str, ...] = request.vhod_scopes
        now = ctx.clock.now()
        ttl = ctx.settings.code_ttl_seconds
        record = CodeRecord(
            grant_id=new_id(),
            client_id=authz.client_id,
            redirect_uri=authz.redirect_uri,
            scopes=scopes,
            code_challenge=authz.code_challenge,
            subject_id=outcome.subject_id,
            sid=outcome.sid,
            acr=outcome.auth.acr,
            amr=outcome.auth.amr,
            auth_time=outcome.auth.auth_time,
            issued_at=now,
            expires_at=now + ttl,
            nonce=authz.nonce,
            acting_for=outcome.acting_for,
        )
        ctx.ephemeral.put(NS_CODE, ctx.tokens.digest(DIGEST_CODE, code), record.to_bytes(), ttl)
        ctx.event("code.issued", client_id=authz.client_id, grant_id=record.grant_id)

    def query_authorization_code(self, code: str, client: ClientModel) -> CodeModel:
        """Consume the code atomically (exactly one concurrent caller gets it).

        A replay (the tombstone answers) revokes the grant and every token issued from it
        (RFC 6749 §4.1.2: "SHOULD revoke … all tokens previously issued based on that
        authorization code"). An expired code, or one issued to another client (RFC 6749
        §4.1.3), is ``invalid_grant`` — and stays consumed.
        """
        ctx = _ctx(self)
        digest = ctx.tokens.digest(DIGEST_CODE, code)
        tombstone_ttl = ctx.settings.access_token_ttl_seconds + ctx.settings.code_ttl_seconds
        try:
            raw = ctx.ephemeral.consume(NS_CODE, digest, tombstone_ttl)
        except ReplayDetected as replay:
            self._punish_replay(replay.value)
            raise InvalidGrantError("The code was already used.") from None
        if raw is None:
            raise InvalidGrantError("Unknown or expired code.")
        record = CodeRecord.from_bytes(raw)
        self.request.vhod_consumed = (digest, raw, record.expires_at)
        if record.expires_at <= ctx.clock.now():
            raise InvalidGrantError("Unknown or expired code.")
        if record.client_id != client.client_id:
            ctx.event("code.wrong_client", logging.WARNING, client_id=client.client_id)
            raise InvalidGrantError("The code was issued to another client.")
        return CodeModel(record)

    def _punish_replay(self, raw: bytes) -> None:
        ctx = _ctx(self)
        try:
            record = CodeRecord.from_bytes(raw)
        except (ValueError, KeyError, TypeError):
            return
        ctx.event("code.replayed", logging.WARNING, client_id=record.client_id)
        client = self.server.query_client(record.client_id)
        sub = ctx.tokens.subject(client.client, record.subject_id) if client else ""
        family_expires = record.issued_at + ctx.settings.refresh_absolute_seconds
        revoke_grant(ctx, record.grant(sub, family_expires), "code_replay")

    def delete_authorization_code(self, authorization_code: CodeModel) -> None:
        """Nothing to do: the code was consumed when it was queried."""

    def authenticate_user(self, authorization_code: CodeModel) -> Principal:
        record = authorization_code.record
        return Principal(
            subject_id=record.subject_id,
            grant_id=record.grant_id,
            sid=record.sid,
            acr=record.acr,
            amr=record.amr,
            auth_time=record.auth_time,
            acting_for=record.acting_for,
            nonce=record.nonce,
        )

    def save_token(self, token: dict[str, Any]) -> None:
        """Write the grant and the first refresh token (digest only) in one transaction,
        committed before the answer (never 200 without durable records; R2)."""
        ctx = _ctx(self)
        record: CodeRecord = self.request.authorization_code.record
        client: ClientModel = self.request.client
        now = ctx.clock.now()
        family_expires = now + ctx.settings.refresh_absolute_seconds
        grant = record.grant(ctx.tokens.subject(client.client, record.subject_id), family_expires)
        refresh = token.get("refresh_token")
        with ctx.uow() as uow:
            uow.grants.add(grant)
            if isinstance(refresh, str):
                uow.refresh_tokens.add(
                    RefreshToken(
                        digest=ctx.tokens.digest("refresh_token", refresh),
                        grant_id=grant.grant_id,
                        client_id=grant.client_id,
                        generation=1,
                        scopes=grant.scopes,
                        created_at=now,
                        expires_at=min(now + ctx.settings.refresh_idle_seconds, family_expires),
                    )
                )
            uow.commit()
        ctx.event("token.issued", client_id=grant.client_id, grant_id=grant.grant_id)


class RefreshGrant(RefreshTokenGrant):  # type: ignore[misc]
    """Refresh with rotation and reuse detection."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(CLIENT_AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshTokenModel:
        """Find, check and atomically use the token (RFC 6749 §6; RFC 9700 §4.14.2).

        Another client's token is ``invalid_grant`` and left untouched (T39a), and so is
        a token whose grant holds a scope the client is no longer registered for (T41b). A
        token
        used before — sequentially or by a concurrent request that won the conditional
        ``UPDATE`` — revokes its whole family (T37, T38). The use commits at once: if
        issuing the next link then fails, the chain is broken and the person signs in
        again (fail closed; never two live chains).
        """
        ctx = _ctx(self)
        client: ClientModel = self.request.client
        now = ctx.clock.now()
        digest = ctx.tokens.digest("refresh_token", refresh_token)
        requested = set((self.request.payload.scope or "").split())
        with ctx.uow() as uow:
            stored = uow.refresh_tokens.get(digest)
            if stored is None or stored.client_id != client.client_id:
                raise InvalidGrantError("Unknown refresh token.")
            if not requested <= set(stored.scopes):
                raise InvalidScopeError("The scope exceeds the original grant.")
            if not set(stored.scopes) <= set(client.client.scopes):
                raise InvalidGrantError("A granted scope is no longer registered for the client.")
            grant = uow.grants.get(stored.grant_id)
            reused = stored.used_at is not None or uow.refresh_tokens.use(digest, now) is None
            live = (
                grant is not None
                and grant.revoked_at is None
                and stored.expires_at > now
                and grant.expires_at > now
            )
            if not reused and live:
                uow.commit()
        if reused:
            self._punish_reuse(grant)
        if grant is None or not live or ctx.tokens.is_grant_revoked(grant.grant_id):
            raise InvalidGrantError("The refresh token expired or was revoked.")
        self.request.vhod_grant = grant
        return RefreshTokenModel(replace(stored, used_at=now), now)

    def _validate_token_scope(self, token: RefreshTokenModel) -> None:
        """Checked before the token is used (see :meth:`authenticate_refresh_token`), so
        that a too wide ``scope`` does not burn the token (RFC 6749 §6; T39c)."""

    def _punish_reuse(self, grant: Grant | None) -> None:
        ctx = _ctx(self)
        ctx.event("refresh_token.reused", logging.WARNING, client_id=self.request.client.client_id)
        if grant is not None and grant.revoked_at is None:
            revoke_grant(ctx, grant, "refresh_reuse")
        raise InvalidGrantError("The refresh token was already used.")

    def authenticate_user(self, refresh_token: RefreshTokenModel) -> Principal:
        grant: Grant = self.request.vhod_grant
        return Principal(
            subject_id=grant.subject_id,
            grant_id=grant.grant_id,
            sid=grant.sid,
            acr=grant.acr,
            amr=grant.amr,
            auth_time=grant.auth_time,
            acting_for=grant.acting_for,
        )

    def save_token(self, token: dict[str, Any]) -> None:
        """The next link of the chain: original scope (a narrower request narrows only
        the access token; T39d), idle expiry bounded by the family's absolute expiry."""
        ctx = _ctx(self)
        grant: Grant = self.request.vhod_grant
        old: RefreshTokenModel = self.request.refresh_token
        now = ctx.clock.now()
        refresh = token.get("refresh_token")
        if isinstance(refresh, str):
            with ctx.uow() as uow:
                uow.refresh_tokens.add(
                    RefreshToken(
                        digest=ctx.tokens.digest("refresh_token", refresh),
                        grant_id=grant.grant_id,
                        client_id=grant.client_id,
                        generation=old.token.generation + 1,
                        scopes=old.token.scopes,
                        created_at=now,
                        expires_at=min(now + ctx.settings.refresh_idle_seconds, grant.expires_at),
                    )
                )
                uow.commit()
        ctx.event("token.refreshed", client_id=grant.client_id, grant_id=grant.grant_id)

    def revoke_old_credential(self, refresh_token: RefreshTokenModel) -> None:
        """Nothing to do: the old token was marked used atomically when it was checked."""


class ClientCredentials(ClientCredentialsGrant):  # type: ignore[misc]
    """RFC 6749 §4.4 for school back-ends: tokens about the client itself."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(CLIENT_AUTH_METHODS)

    def validate_token_request(self) -> None:
        super().validate_token_request()
        client: ClientModel = self.request.client
        requested = self.request.payload.scope
        allowed = [s for s in client.client.scopes if s not in PERSON_ONLY_SCOPES]
        if requested:
            wanted = list(dict.fromkeys(requested.split()))
            if not set(wanted) <= set(allowed):
                raise InvalidScopeError("Scope not registered for client credentials.")
        else:
            wanted = allowed
        self.request.vhod_scopes = tuple(wanted)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        scopes: tuple[str, ...] = self.request.vhod_scopes
        token = self.generate_token(scope=" ".join(scopes), include_refresh_token=False)
        client: ClientModel = self.request.client
        _ctx(self).event(
            "token.issued", client_id=client.client_id, grant_type="client_credentials"
        )
        headers: list[tuple[str, str]] = self.TOKEN_RESPONSE_HEADER
        return 200, token, headers
