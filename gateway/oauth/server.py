"""The Authlib authorization server, framework-neutral, wired to vhod's ports.

:func:`build_authorization_server` registers the grants (authorization code + S256 PKCE
+ ID token, refresh token + ID token, client credentials, RFC 8693 token exchange), the
client authentication methods (``client_secret_basic``, ``client_secret_post``,
``private_key_jwt``), the
revocation and introspection endpoints and the RFC 9207 issuer extension.

The server never produces an HTTP response itself: :meth:`handle_response` returns an
:class:`AuthlibResponse` (status, body, headers) and :meth:`handle_error_response` turns
every Authlib error into a new :class:`gateway.core.errors.ProtocolError` and raises it,
so all errors leave ``gateway.oauth`` through the one error tree.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Error

from gateway.core.errors import InvalidClientError
from gateway.core.errors import InvalidScopeError
from gateway.core.errors import ProtocolError
from gateway.core.types import Client
from gateway.core.types import TokenFormat
from gateway.oauth.adapters import ClientModel
from gateway.oauth.adapters import VhodOAuth2Request
from gateway.oauth.client_cache import VERSION
from gateway.oauth.client_cache import ClientCache
from gateway.oauth.clientauth import ClientThrottle
from gateway.oauth.clientauth import PrivateKeyJwt
from gateway.oauth.clientauth import SecretAuthentication
from gateway.oauth.clientauth import check_single_method
from gateway.oauth.clientauth import claimed_client_id
from gateway.oauth.context import OAuthContext
from gateway.oauth.deferred import DeferredCheck
from gateway.oauth.deferred import StaleAuthentication
from gateway.oauth.deferred import defer
from gateway.oauth.endpoints import VhodIntrospectionEndpoint
from gateway.oauth.endpoints import VhodRevocationEndpoint
from gateway.oauth.errors import from_authlib
from gateway.oauth.grants import ClientCredentials
from gateway.oauth.grants import CodeGrant
from gateway.oauth.grants import IdTokenExtension
from gateway.oauth.grants import RefreshGrant
from gateway.oauth.grants import S256CodeChallenge
from gateway.oauth.grants import TokenExchange
from gateway.oauth.grants import VhodIssuerParameter
from gateway.oauth.records import Principal

CLIENT_SECRET_PURPOSE = "client_secret"

_same_reads: ContextVar[_Reads | None] = ContextVar("vhod_client_reads", default=None)


@dataclass
class _Reads:
    """One use case's view of the clients: the client-table version read once, and each
    client as first seen."""

    version: bytes | None = None
    version_read: bool = False
    clients: dict[str, ClientModel | None] = field(default_factory=dict)
    may_defer: bool = False
    """The use case may authenticate its client against the cache and check the version
    and the throttle with its write (``gateway.oauth.deferred``)."""
    ahead: tuple[tuple[str, str], ...] = ()
    """Ephemeral (namespace, key)s to read with the version (the token an endpoint looks
    up next), so that the use case makes one round trip to the store."""
    fetched: dict[tuple[str, str], bytes | None] = field(default_factory=dict)


@dataclass
class AuthlibResponse:
    """What Authlib hands back: status, body (a dict for JSON, ``""`` for redirects) and
    headers."""

    status: int
    body: Any
    headers: list[tuple[str, str]]

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != "location"]
        self.headers.append(("Location", value))


class VhodAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's server over vhod's stores (see the module docstring)."""

    def __init__(self, ctx: OAuthContext) -> None:
        super().__init__(scopes_supported=list(ctx.config.scopes))
        self.vhod = ctx
        self._throttle = ClientThrottle(ctx)
        self._clients = ClientCache(ctx)

    # ----------------------------------------------------------- Authlib contract

    def query_client(self, client_id: str) -> ClientModel | None:
        """A registered, enabled client.

        From this process's :class:`~gateway.oauth.client_cache.ClientCache`, checked
        against the client table's version (one ephemeral read). Inside
        :meth:`one_client_read` the version is read once and each answer reused for the
        rest of that block (one use case); everywhere else every call reads the version.
        """
        if not isinstance(client_id, str) or not client_id or len(client_id) > 255:
            return None
        reads = _same_reads.get()
        if reads is None:
            return self._model(self._clients.get(client_id, self._clients.version()))
        if client_id in reads.clients:
            return reads.clients[client_id]
        if not reads.version_read:
            reads.version, reads.version_read = self._clients.version(), True
        model = self._model(self._clients.get(client_id, reads.version))
        reads.clients[client_id] = model
        return model

    def _model(self, client: Client | None) -> ClientModel | None:
        if client is None or client.disabled:
            return None
        return ClientModel(client, self.client_secret_digest)

    @contextmanager
    def one_client_read(
        self, ahead: tuple[tuple[str, str], ...] = (), may_defer: bool = False
    ) -> Iterator[None]:
        """Within the block, :meth:`query_client` checks the client table's version once
        and reads each client once.

        For one use case that consults the client several times (vhod's checks, then
        Authlib's): the block sees the client as registered when it first looked, and
        nothing outlives the block, so a disabled client or a removed redirect URI still
        counts for the next request at once (SECURITY.md T97).

        :param ahead: ephemeral keys the use case reads next; they come in the round trip
            of the client authentication (:meth:`read_ahead` answers them).
        :param may_defer: see :meth:`authenticate_client` (inside
            :func:`gateway.oauth.deferred.deferred_check`).
        """
        token = _same_reads.set(_Reads(ahead=ahead, may_defer=may_defer))
        try:
            yield
        finally:
            _same_reads.reset(token)

    def read_ahead(self, namespace: str, key: str) -> bytes | None:
        """The value of a key named to :meth:`one_client_read`, as read with the client
        authentication; read now if it was not (no block, or no authentication yet)."""
        reads = _same_reads.get()
        if reads is not None and (namespace, key) in reads.fetched:
            return reads.fetched.pop((namespace, key))
        return self.vhod.ephemeral.get(namespace, key)

    def client_secret_digest(self, secret: str) -> str:
        """The keyed digest client secrets are registered under (``gateway.admin.clients``
        computes the same ``keyed_digest(pepper, "client_secret", secret)``)."""
        return self.vhod.tokens.digest(CLIENT_SECRET_PURPOSE, secret)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Each grant persists its own tokens (see ``gateway.oauth.grants``)."""

    def generate_bearer(
        self,
        grant_type: str,
        client: ClientModel,
        user: Principal | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        """The token generator for every grant (registered as ``"default"``)."""
        del grant_type, expires_in
        scopes = tuple(dict.fromkeys((scope or "").split()))
        access, ttl = self.vhod.tokens.access_token(client.client, scopes, user)
        token: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": " ".join(scopes),
        }
        if include_refresh_token and user is not None:
            token["refresh_token"], _ = self.vhod.tokens.refresh_token()
        return token

    def create_oauth2_request(self, request: Any) -> VhodOAuth2Request:
        if not isinstance(request, VhodOAuth2Request):
            raise TypeError("gateway.oauth builds its own request objects")
        request.vhod_ctx = self.vhod
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError

    def handle_response(self, status: int, body: Any, headers: Any) -> AuthlibResponse:
        return AuthlibResponse(status, body, list(headers))

    def handle_error_response(self, request: Any, error: Any) -> AuthlibResponse:
        raise from_authlib(error)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's signals are not used; events are logged by the grants."""

    def validate_requested_scope(self, scope: str | None) -> None:
        """Every requested scope must be in the catalogue (RFC 6749 §3.3)."""
        if scope and not set(scope.split()) <= set(self.vhod.config.scopes):
            raise InvalidScopeError("Unknown scope.")

    def authenticate_client(
        self, request: VhodOAuth2Request, methods: list[str], endpoint: str = "token"
    ) -> ClientModel:
        """Authenticate with the registered method, throttling failures per client id.

        :raises InvalidClientError: 401 whatever went wrong (one answer for "no such
            client", "wrong secret" and "wrong method"; RFC 6749 §5.2).
        :raises RateLimited: too many failures (see ``gateway.oauth.clientauth``).
        """
        check_single_method(request)
        claimed = claimed_client_id(request)
        address = request.vhod_remote_addr
        reads = _same_reads.get()
        deferred = False
        if reads is None or reads.version_read:
            self._throttle.before(claimed, address)
        else:
            # Checked with the use case's write, or the client table's version and the
            # keys read ahead come with the throttle's read (one round trip either way).
            deferred = self._defer(reads, claimed)
            if not deferred:
                values = self._throttle.before(claimed, address, also=(VERSION, *reads.ahead))
                reads.version, reads.version_read = self._clients.seen(values[0]), True
                reads.fetched = dict(zip(reads.ahead, values[1:], strict=True))
        try:
            client: ClientModel = super().authenticate_client(request, methods, endpoint)
        except (OAuth2Error, InvalidClientError) as error:
            if deferred:  # perhaps a secret rotated since: decide (and count) with the reads
                raise StaleAuthentication() from None
            self.vhod.event(
                "client_auth.failed",
                logging.WARNING,
                endpoint=endpoint,
                client_id=(claimed or "")[:128],
            )
            self._throttle.failed(claimed, address)
            debug = error.debug if isinstance(error, ProtocolError) else str(error.description)
            raise InvalidClientError(debug=debug) from None
        return client

    def _defer(self, reads: _Reads, claimed: str | None) -> bool:
        """Assume the version this process last read, when the use case allows it and the
        claimed client is cached under it with opaque access tokens and has not failed
        lately (``ClientThrottle.quiet``); its one write then checks the version and the
        failure counter (``gateway.oauth.deferred``)."""
        if not reads.may_defer or reads.ahead or claimed is None:
            return False
        if not self._throttle.quiet(claimed):
            return False
        assumed = self._clients.assumed(claimed)
        if assumed is None:
            return False
        version, client = assumed
        if client.disabled or client.token_format is not TokenFormat.OPAQUE:
            return False
        throttle = self._throttle

        def accept(values: list[bytes | None]) -> bool:
            fresh = not throttle.over_limit(claimed, values[0])  # notes a failure
            return values[1] == version and fresh

        defer(DeferredCheck((throttle.failure_key(claimed), VERSION), accept))
        reads.version, reads.version_read = version, True
        return True


def build_authorization_server(ctx: OAuthContext) -> VhodAuthorizationServer:
    """The configured Authlib server (see the module docstring)."""
    server = VhodAuthorizationServer(ctx)
    server.register_token_generator("default", server.generate_bearer)
    secrets = SecretAuthentication(server.client_secret_digest)
    server.register_client_auth_method("client_secret_basic", secrets.basic)
    server.register_client_auth_method("client_secret_post", secrets.post)
    server.register_client_auth_method("private_key_jwt", PrivateKeyJwt(ctx))
    server.register_grant(CodeGrant, [S256CodeChallenge(required=True), IdTokenExtension()])
    server.register_grant(RefreshGrant, [IdTokenExtension()])
    server.register_grant(ClientCredentials)
    server.register_grant(TokenExchange)
    server.register_endpoint(VhodRevocationEndpoint)
    server.register_endpoint(VhodIntrospectionEndpoint)
    server.register_extension(VhodIssuerParameter(ctx.issuer))
    return server
