"""``OAuthProvider``: the one object the HTTP layer talks to for OAuth / OpenID Connect.

It holds the Authlib server and vhod's own pieces and exposes each endpoint as a plain
method taking an :class:`~gateway.oauth.context.IncomingRequest` (or plain values) and
returning plain data; errors are :class:`gateway.core.errors.ProtocolError` (and
:class:`~gateway.oauth.authorize.AuthorizationFailure` at the authorization endpoint),
rendered by ``gateway.http``.

Token endpoint transactions (SECURITY.md R2, R5): a code exchange writes its grant and
refresh token in one transaction, committed before the answer; if the store fails after
the code was consumed, the code is put back (with its remaining lifetime), so a retry
after the outage can still succeed exactly once. Durable transactions are never held
open across ephemeral writes (on the embedded SQLite default both live in one file).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from gateway.config.schema import GatewayConfig
from gateway.core.errors import InsufficientScopeError
from gateway.core.errors import InvalidRequestError
from gateway.core.errors import InvalidTokenError
from gateway.core.errors import StoreUnavailable
from gateway.core.ports import ClaimsSource
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import KeySource
from gateway.core.ports import RestoreEpoch
from gateway.core.ports import SsoSessions
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.types import AuthorizationRequest
from gateway.core.types import JourneyOutcome
from gateway.oauth.adapters import VhodOAuth2Request
from gateway.oauth.authorize import AuthorizationFailure
from gateway.oauth.authorize import Authorizer
from gateway.oauth.backchannel import BackchannelWorker
from gateway.oauth.children import CHILDREN_CLAIM
from gateway.oauth.children import CHILDREN_SCOPE
from gateway.oauth.children import children_claim
from gateway.oauth.children import still_linked
from gateway.oauth.context import PATH_INTROSPECT
from gateway.oauth.context import PATH_REVOKE
from gateway.oauth.context import PATH_TOKEN
from gateway.oauth.context import IncomingRequest
from gateway.oauth.context import OAuthContext
from gateway.oauth.context import build_oauth_context
from gateway.oauth.deferred import StaleAuthentication
from gateway.oauth.deferred import deferred_check
from gateway.oauth.deferred import unsettled
from gateway.oauth.discovery import metadata
from gateway.oauth.grants import principal_of
from gateway.oauth.logout import LogoutService
from gateway.oauth.records import NS_CODE
from gateway.oauth.server import AuthlibResponse
from gateway.oauth.server import build_authorization_server

__all__ = ["AuthorizationFailure", "OAuthProvider", "build_oauth_provider"]


class OAuthProvider:
    """Authorization, PAR, token, userinfo, introspection, revocation, logout."""

    def __init__(
        self,
        ctx: OAuthContext,
        keys: KeySource,
        sessions: SsoSessions | None = None,
    ) -> None:
        self.ctx = ctx
        self._keys = keys
        self.server = build_authorization_server(ctx)
        self.authorizer = Authorizer(ctx, self.server)
        self.backchannel = BackchannelWorker(ctx)
        self.logout = LogoutService(ctx, sessions, wake_worker=self.backchannel.wake)
        self._metadata: dict[str, Any] | None = None
        self._metadata_json: bytes | None = None

    # ------------------------------------------------------------------ metadata

    def discovery(self) -> dict[str, Any]:
        """The discovery document (built once: it depends on the configuration only)."""
        if self._metadata is None:
            self._metadata = metadata(self.ctx.config)
        return dict(self._metadata)

    def discovery_json(self) -> bytes:
        """:meth:`discovery` as compact JSON, encoded once (the same object every call)."""
        if self._metadata_json is None:
            self._metadata_json = json.dumps(self.discovery(), separators=(",", ":")).encode()
        return self._metadata_json

    def jwks(self) -> dict[str, Any]:
        return dict(self._keys.public_jwks())

    def jwks_json(self) -> bytes:
        """:meth:`jwks` as compact JSON; the same object while the published keys are."""
        return self._keys.public_jwks_json()

    # ------------------------------------------------------------------ authorization

    def validate_authorization_request(self, incoming: IncomingRequest) -> AuthorizationRequest:
        """:raises AuthorizationFailure: redirect it if it has a ``redirect_uri``."""
        return self.authorizer.validate(incoming)

    def push_authorization_request(self, incoming: IncomingRequest) -> dict[str, Any]:
        return self.authorizer.push(incoming)

    def authorization_success(self, req: AuthorizationRequest, outcome: JourneyOutcome) -> str:
        """The redirect with the code, ``state`` and ``iss``.

        :raises AuthorizationFailure: when the request no longer holds.
        """
        return self.authorizer.complete(req, outcome)

    def error_location(self, redirect_uri: str, error: Any, state: str | None) -> str:
        return self.authorizer.error_location(redirect_uri, error, state)

    # ------------------------------------------------------------------ token endpoint

    def token(self, incoming: IncomingRequest) -> AuthlibResponse:
        """RFC 6749 §3.2, §4.1.3, §4.4, §6 (see ``gateway.oauth.grants``)."""
        _no_duplicates(incoming)
        if not any(k == "grant_type" for k, _ in incoming.params):
            raise InvalidRequestError("grant_type is required.")
        may_defer = ("grant_type", "client_credentials") in incoming.params
        try:
            return self._token(incoming, may_defer)
        except StaleAuthentication:
            return self._token(incoming, False)

    def _token(self, incoming: IncomingRequest, may_defer: bool) -> AuthlibResponse:
        """One attempt; a client_credentials request may defer its client checks to its
        write (``gateway.oauth.deferred``): :raises StaleAuthentication: when the
        assumption did not hold or was never checked — run it again without deferring."""
        request = self._request(incoming, PATH_TOKEN)
        try:
            with deferred_check(), self.server.one_client_read(may_defer=may_defer):
                try:
                    response: AuthlibResponse = self.server.create_token_response(request)
                except StaleAuthentication:
                    raise
                except Exception:
                    if unsettled():
                        raise StaleAuthentication() from None
                    raise
                if unsettled():
                    raise StaleAuthentication()
        except StoreUnavailable:
            self._restore_code(request)
            raise
        return response

    def _restore_code(self, request: VhodOAuth2Request) -> None:
        """Put back a code consumed by a request whose tokens were never committed."""
        consumed = getattr(request, "vhod_consumed", None)
        if consumed is None:
            return
        digest, raw, expires_at = consumed
        remaining = int(expires_at - self.ctx.clock.now())
        if remaining <= 0:
            return
        try:
            self.ctx.ephemeral.put(NS_CODE, digest, raw, remaining)
        except StoreUnavailable:
            return
        self.ctx.event("code.restored", logging.WARNING)

    def _request(self, incoming: IncomingRequest, path: str) -> VhodOAuth2Request:
        request = VhodOAuth2Request(
            "POST",
            self.ctx.url(path),
            incoming.params,
            authorization=incoming.authorization,
            remote_addr=incoming.remote_addr,
        )
        request.vhod_ctx = self.ctx
        return request

    def _endpoint(
        self,
        name: str,
        path: str,
        incoming: IncomingRequest,
        ahead: tuple[tuple[str, str], ...] = (),
    ) -> dict[str, Any]:
        request = self._request(incoming, path)
        with self.server.one_client_read(ahead):
            response: AuthlibResponse = self.server.create_endpoint_response(name, request)
        body: dict[str, Any] = response.body
        return body

    def revoke(self, incoming: IncomingRequest) -> dict[str, Any]:
        """RFC 7009 (see ``gateway.oauth.endpoints``)."""
        return self._endpoint("revocation", PATH_REVOKE, incoming)

    def introspect(self, incoming: IncomingRequest) -> dict[str, Any]:
        """RFC 7662 (see ``gateway.oauth.endpoints``). An opaque token's record is read
        with the client authentication's round trip."""
        tokens = [value for name, value in incoming.params if name == "token"]
        key = self.ctx.tokens.opaque_key(tokens[0]) if len(tokens) == 1 else None
        ahead = (key,) if key is not None else ()
        return self._endpoint("introspection", PATH_INTROSPECT, incoming, ahead)

    # ------------------------------------------------------------------ userinfo

    def userinfo(self, token: str) -> dict[str, Any]:
        """OIDC Core §5.3: the person's claims for a valid access token with ``openid``.

        ``sub`` equals the ID token's (§5.3.2): the authenticated person's pairwise id for
        the client — acting for a child, the child's, with ``act.sub`` the person's (RFC
        8693 §4.1) and no other claim. The person's own claims come from the
        :class:`~gateway.core.ports.ClaimsSource`, limited to the token's scopes; the
        ``children`` scope adds the ``children`` claim (pairwise ids, first name, school,
        class). A token acting for a child whose link ended is ``invalid_token``.

        :raises InvalidTokenError: unknown, expired (beyond leeway), revoked.
        :raises InsufficientScopeError: no ``openid`` in the token's scope (RFC 6750 §3.1).
        """
        info = self.ctx.tokens.check_access_token(token)
        if info is None:
            raise InvalidTokenError()
        if "openid" not in info.scopes or info.grant_id is None:
            raise InsufficientScopeError("The openid scope is required.")
        now = self.ctx.clock.now()
        with self.ctx.uow(read_only=True) as uow:
            grant = uow.grants.get(info.grant_id)
            client = uow.clients.get(info.client_id)
            linked = grant is not None and still_linked(
                uow, grant.subject_id, grant.acting_for, info.client_id, now
            )
        if grant is None or grant.revoked_at is not None or client is None or client.disabled:
            raise InvalidTokenError()
        if not linked:
            raise InvalidTokenError()
        sub, act = self.ctx.tokens.token_subject(client, principal_of(grant))
        if act:
            return {"sub": sub, "act": act}
        claims: dict[str, Any] = {}
        if self.ctx.claims is not None:
            claims = dict(self.ctx.claims.claims(grant.subject_id, info.scopes))
        if CHILDREN_SCOPE in info.scopes:
            claims[CHILDREN_CLAIM] = children_claim(self.ctx, client, grant.subject_id)
        claims.pop("sub", None)
        return {"sub": sub, **claims}

    def client_token(self, token: str, scope: str) -> str:
        """The client behind a client-credentials access token that carries ``scope``
        (school back-ends pushing rosters).

        :raises InvalidTokenError: unknown, expired, revoked, a person's token, or the
            client is unknown or disabled.
        :raises InsufficientScopeError: the token lacks ``scope``.
        """
        info = self.ctx.tokens.check_access_token(token)
        if info is None or info.grant_id is not None:
            raise InvalidTokenError()
        with self.ctx.uow(read_only=True) as uow:
            client = uow.clients.get(info.client_id)
        if client is None or client.disabled:
            raise InvalidTokenError()
        if scope not in info.scopes:
            raise InsufficientScopeError(f"The {scope} scope is required.")
        return client.client_id

    # ------------------------------------------------------------------ GrantRevoker

    def mark_grant_revoked(self, grant_id: str) -> None:
        """:class:`gateway.core.ports.GrantRevoker` (consent withdrawal, T97)."""
        self.ctx.tokens.mark_grant_revoked(grant_id)


def _no_duplicates(incoming: IncomingRequest) -> None:
    """RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than
    once"."""
    counts = Counter(k for k, _ in incoming.params)
    if any(c > 1 for c in counts.values()):
        raise InvalidRequestError("A parameter was sent more than once.")


def build_oauth_provider(
    *,
    config: GatewayConfig,
    clock: Clock,
    uow: UnitOfWorkFactory,
    ephemeral: EphemeralStore,
    keys: KeySource,
    pepper: bytes,
    sessions: SsoSessions | None = None,
    claims: ClaimsSource | None = None,
    on_event: Callable[[str], None] | None = None,
    restore_epoch: RestoreEpoch | None = None,
) -> OAuthProvider:
    """Assemble the provider from the composition root's services."""
    ctx = build_oauth_context(
        restore_epoch=restore_epoch,
        config=config,
        clock=clock,
        uow=uow,
        ephemeral=ephemeral,
        keys=keys,
        pepper=pepper,
        claims=claims,
    )
    if on_event is not None:
        ctx.on_event = on_event
    return OAuthProvider(ctx, keys, sessions)
