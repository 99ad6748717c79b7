"""The authorization code grant (RFC 6749 §4.1) with atomic, replay-punishing redemption.

Codes are 256-bit random values stored as keyed digests; redemption is an atomic
``EphemeralStore.consume`` (Authlib reads then deletes), whose tombstone keeps the grant
so that a replay revokes every token issued from it (RFC 6749 §4.1.2, §10.5; T26–T28).
Codes are bound to client, redirect URI and PKCE challenge (``.extensions``).

A code of a journey that acts for a child carries the child (``CodeRecord.acting_for``);
its grant records it, ``Grant.sub`` is the child's pairwise id (so an ``id_token_hint``
still maps back to the person who signed in), and ``token.issued_for_child`` is audited.
"""

from __future__ import annotations

import logging
from typing import Any
from typing import ClassVar

from authlib.oauth2.rfc6749 import AuthorizationCodeGrant

from gateway.core.errors import InvalidGrantError
from gateway.core.errors import ReplayDetected
from gateway.core.faults import crash_point
from gateway.core.ids import new_code
from gateway.core.ids import new_id
from gateway.core.types import CLIENT_AUTH_METHODS
from gateway.core.types import AuthorizationRequest
from gateway.core.types import JourneyOutcome
from gateway.oauth.adapters import ClientModel
from gateway.oauth.adapters import CodeModel
from gateway.oauth.adapters import VhodOAuth2Request
from gateway.oauth.children import audit_issued_for_child
from gateway.oauth.families import revoke_grant
from gateway.oauth.grants.base import append_query
from gateway.oauth.grants.base import context_of
from gateway.oauth.grants.base import principal_of
from gateway.oauth.grants.base import refresh_link
from gateway.oauth.records import NS_CODE
from gateway.oauth.records import CodeRecord
from gateway.oauth.records import Principal
from gateway.oauth.tokens import DIGEST_CODE


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
        ctx = context_of(self)
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
        ctx = context_of(self)
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
        ctx = context_of(self)
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
        return principal_of(record, nonce=record.nonce)

    def save_token(self, token: dict[str, Any]) -> None:
        """Write the grant and the first refresh token (digest only) in one transaction,
        committed before the answer (never 200 without durable records; R2)."""
        crash_point("token.code_consumed")
        ctx = context_of(self)
        record: CodeRecord = self.request.authorization_code.record
        client: ClientModel = self.request.client
        now = ctx.clock.now()
        family_expires = now + ctx.settings.refresh_absolute_seconds
        sub, _act = ctx.tokens.token_subject(client.client, principal_of(record))
        grant = record.grant(sub, family_expires)
        refresh = token.get("refresh_token")
        with ctx.uow() as uow:
            uow.grants.add(grant)
            audit_issued_for_child(ctx, uow, now, grant, self.GRANT_TYPE)
            if isinstance(refresh, str):
                uow.refresh_tokens.add(
                    refresh_link(
                        ctx,
                        refresh,
                        grant,
                        generation=1,
                        scopes=grant.scopes,
                        now=now,
                    )
                )
            uow.commit()
        crash_point("token.code_saved")
        ctx.event("token.issued", client_id=grant.client_id, grant_id=grant.grant_id)
