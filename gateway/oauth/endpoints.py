"""Revocation (RFC 7009) and introspection (RFC 7662) on Authlib's endpoint classes.

**Revocation** (SECURITY.md T47–T49): the client authenticates as at the token endpoint.
The token is looked up as every kind we issue whatever ``token_type_hint`` says (RFC 7009
§2.1: "MUST extend its search"), so an unknown hint is ignored rather than refused. A
refresh token revokes its whole grant — every refresh and access token of it (§2.1: "SHOULD
also invalidate all access tokens based on the same authorization grant"). An access token
is revoked alone. A token issued to another client, an unknown token or garbage: nothing
happens and the answer is the same 200 (§2.2: no oracle). ``unsupported_token_type``
(§2.2.1) answers a token we issued but do not revoke: an ID token or a logout token.

**Introspection** (T50, T51): only an authenticated client may ask (RFC 7662 §2.1), and
it learns about a token only if the token was issued to it or it is registered as a
resource server (``introspection_allowed``) [POLICY]. Anything else — unknown, expired,
revoked, not yours — is exactly ``{"active": false}`` (§2.2). Access and refresh tokens
are both introspectable. A token acting for a child answers ``sub`` = the child's pairwise
id and ``act``; once the guardianship ended it is inactive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from typing import ClassVar

from authlib.consts import default_json_headers
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from gateway.core.errors import InvalidRequestError
from gateway.core.errors import UnsupportedTokenTypeError
from gateway.core.types import CLIENT_AUTH_METHODS
from gateway.core.types import Grant
from gateway.core.types import RefreshToken
from gateway.oauth.adapters import ClientModel
from gateway.oauth.adapters import VhodOAuth2Request
from gateway.oauth.children import still_linked
from gateway.oauth.context import OAuthContext
from gateway.oauth.families import revoke_grant
from gateway.oauth.tokens import AccessTokenInfo


@dataclass(frozen=True)
class FoundToken:
    """A token we issued, as found by value (one of the two fields is set)."""

    raw: str
    access: AccessTokenInfo | None = None
    refresh: RefreshToken | None = None
    grant: Grant | None = None

    @property
    def client_id(self) -> str:
        if self.access is not None:
            return self.access.client_id
        if self.refresh is None:  # pragma: no cover - one of the two is always set
            raise ValueError("empty FoundToken")
        return self.refresh.client_id


def _ctx(endpoint: Any) -> OAuthContext:
    ctx: OAuthContext = endpoint.server.vhod
    return ctx


def _token_param(request: VhodOAuth2Request) -> str:
    datalist = request.payload.datalist
    if any(len(values) > 1 for values in datalist.values()):
        raise InvalidRequestError("A parameter was sent more than once.")
    token = request.form.get("token")
    if not token:
        raise InvalidRequestError("token is required.")
    return token


def find_token(
    ctx: OAuthContext, token: str, read: Callable[[str, str], bytes | None] | None = None
) -> FoundToken | None:
    """Look the token up as an access token, then as a refresh token (hint ignored).

    :param read: how an opaque access token's record is read (see
        :meth:`~gateway.oauth.tokens.TokenService.check_access_token`).
    """
    info = ctx.tokens.check_access_token(token, read)
    if info is not None:
        return FoundToken(raw=token, access=info)
    if len(token) > 512:
        return None
    with ctx.uow(read_only=True) as uow:
        stored = uow.refresh_tokens.get(ctx.tokens.digest("refresh_token", token))
        grant = uow.grants.get(stored.grant_id) if stored is not None else None
    if stored is None:
        return None
    return FoundToken(raw=token, refresh=stored, grant=grant)


def _issuer_side_live(
    ctx: OAuthContext, query_client: Callable[[str], ClientModel | None], info: AccessTokenInfo
) -> bool:
    """SECURITY.md T97: an access token is active only while its client is enabled (the
    server's ``query_client``: the client cache, checked against the client table's
    version) and its grant is not revoked — read from the durable store, so that a revoked
    consent or a removed scope (``gateway.admin``) shows at once even if the ephemeral
    ``revoked_grant`` marker were lost — and, acting for a child, while the guardianship
    holds."""
    if query_client(info.client_id) is None:
        return False
    if info.grant_id is None:
        return True
    with ctx.uow(read_only=True) as uow:
        grant = uow.grants.get(info.grant_id)
        linked = grant is None or still_linked(
            uow, grant.subject_id, grant.acting_for, info.client_id, ctx.clock.now()
        )
    return linked and grant is not None and grant.revoked_at is None


class VhodRevocationEndpoint(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(CLIENT_AUTH_METHODS)

    def authenticate_token(self, request: VhodOAuth2Request, client: ClientModel) -> Any:
        token = _token_param(request)
        ctx = _ctx(self)
        found = find_token(ctx, token)
        if found is None:
            if ctx.tokens.peek_other_jwt(token) is not None:
                raise UnsupportedTokenTypeError("Only access and refresh tokens are revocable.")
            return None
        if found.client_id != client.client_id:
            ctx.event("token.revoke_refused", client_id=client.client_id)
            return None
        return found

    def revoke_token(self, token: FoundToken, request: VhodOAuth2Request) -> None:
        ctx = _ctx(self)
        if token.access is not None:
            ctx.tokens.revoke_access_token(token.access, token.raw)
            ctx.event("access_token.revoked", client_id=token.access.client_id)
            return
        if token.grant is not None and token.grant.revoked_at is None:
            revoke_grant(ctx, token.grant, "revoked")

    def create_endpoint_response(
        self, request: VhodOAuth2Request
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client = self.authenticate_endpoint_client(request)
        token = self.authenticate_token(request, client)
        if token is not None:
            self.revoke_token(token, request)
        return 200, {}, list(default_json_headers)


class VhodIntrospectionEndpoint(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(CLIENT_AUTH_METHODS)

    def authenticate_token(self, request: VhodOAuth2Request, client: ClientModel) -> Any:
        token = _token_param(request)
        found = find_token(_ctx(self), token, self.server.read_ahead)
        if found is not None and self.check_permission(found, client, request):
            return found
        return None

    def check_permission(
        self, token: FoundToken, client: ClientModel, request: VhodOAuth2Request
    ) -> bool:
        return client.client.introspection_allowed or token.client_id == client.client_id

    def create_endpoint_response(
        self, request: VhodOAuth2Request
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client = self.authenticate_endpoint_client(request)
        token = self.authenticate_token(request, client)
        return 200, self.introspect(token), list(default_json_headers)

    def introspect(self, token: FoundToken | None) -> dict[str, Any]:
        """RFC 7662 §2.2; inactive tokens get ``{"active": false}`` and nothing else."""
        ctx = _ctx(self)
        if token is None:
            return {"active": False}
        if token.access is not None:
            if not _issuer_side_live(ctx, self.server.query_client, token.access):
                return {"active": False}
            claims = token.access.claims
            body: dict[str, Any] = {
                "active": True,
                "token_type": "Bearer",
                "scope": " ".join(token.access.scopes),
                "client_id": token.access.client_id,
                "sub": token.access.sub,
                "aud": token.access.aud,
                "iss": ctx.issuer,
                "exp": token.access.exp,
                "iat": token.access.iat,
                "jti": token.access.jti,
            }
            for name in ("acr", "amr", "auth_time", "act", "sid"):
                if name in claims:
                    body[name] = claims[name]
            return body
        refresh, grant = token.refresh, token.grant
        now = ctx.clock.now()
        if (
            refresh is None
            or grant is None
            or refresh.used_at is not None
            or refresh.expires_at <= now
            or grant.revoked_at is not None
            or grant.expires_at <= now
            or ctx.tokens.is_grant_revoked(grant.grant_id)
            or ctx.tokens.predates_restore(grant.created_at)
        ):
            return {"active": False}
        body = {
            "active": True,
            "token_type": "refresh_token",
            "scope": " ".join(refresh.scopes),
            "client_id": refresh.client_id,
            "sub": grant.sub,
            "iss": ctx.issuer,
            "exp": int(refresh.expires_at),
            "iat": int(refresh.created_at),
        }
        if grant.acting_for is not None:
            with ctx.uow(read_only=True) as uow:
                client = uow.clients.get(grant.client_id)
                linked = still_linked(uow, grant.subject_id, grant.acting_for, grant.client_id, now)
            if client is None or not linked:
                return {"active": False}
            body["act"] = {"sub": ctx.tokens.subject(client, grant.subject_id)}
        return body
