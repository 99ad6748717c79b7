"""The authorization endpoint: validate a request, push one (PAR), issue the code.

Validation is an ordered list of checks, like node-oidc-provider's authorization
pipeline; the first failure decides. Until the client and its redirect URI are known to
be good, failures are shown on vhod's own error page and never redirected (RFC 6749
§4.1.2.1 "MUST NOT automatically redirect"; SECURITY.md T5, T6, T23); afterwards they
are redirected with ``error``, ``error_description`` (ASCII), the exact ``state`` and
``iss`` (RFC 9207 §2; T8, T20).

1. ``client_id`` once, registered and enabled.
2. ``request_uri``: a pushed request of this client (RFC 9126 §4; T52–T55) replaces every
   other parameter; any other ``request_uri`` is ``request_uri_not_supported``. A client
   registered with ``require_par`` may not send front-channel requests (T56).
3. ``redirect_uri`` once, present (OIDC Core §3.1.2.1: REQUIRED — no default even with a
   single registered URI) and exactly one of the registered strings (RFC 9700 §4.1.3).
4. ``state`` once and at most ``oauth.max_state_length`` characters (error page beyond:
   never truncated; T19). From here on errors are redirected.
5. No parameter more than once (RFC 6749 §3.1; T9); empty values count as absent.
6. ``request`` → ``request_not_supported`` (OIDC Core §6).
7. ``response_type=code`` only (T8); ``response_mode`` absent or ``query``.
8. ``scope`` with ``openid`` [POLICY], every value in the catalogue and registered for the
   client → else ``invalid_scope``; with ``child`` (acting for a child) every value must
   be ``delegable`` in the catalogue → else ``invalid_scope`` (never silently dropped;
   SECURITY.md T96).
9. ``nonce`` at most ``oauth.max_nonce_length`` characters (T21).
10. PKCE: ``code_challenge`` present, ``code_challenge_method=S256`` exactly (T14–T16).
11. ``prompt`` (``none`` alone), ``max_age`` (a non-negative integer), ``acr_values``
    (kept: the known ones), ``resource`` (RFC 8707: the client's registered resource or
    ``invalid_target``).
12. ``id_token_hint``: an ID token we signed (any published key; expired accepted) for this
    client; its pairwise ``sub`` is mapped back to the internal subject. A hint that does
    not verify is ``login_required`` under ``prompt=none``, else ``invalid_request``.
13. Authlib's own validation (``get_consent_grant``: client, redirect URI, response type,
    scope, the S256 PKCE extension) runs last as a second line.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import NamedTuple

from authlib.oauth2.rfc6749 import OAuth2Error

from gateway.config.schema import ACR_VALUES
from gateway.config.schema import ScopeSettings
from gateway.core.errors import AccessDeniedError
from gateway.core.errors import InvalidRequestError
from gateway.core.errors import InvalidRequestUriError
from gateway.core.errors import InvalidScopeError
from gateway.core.errors import InvalidTargetError
from gateway.core.errors import LoginRequiredError
from gateway.core.errors import ProtocolError
from gateway.core.errors import ReplayDetected
from gateway.core.errors import UnauthorizedClientError
from gateway.core.errors import UnsupportedResponseTypeError
from gateway.core.ids import new_code
from gateway.core.types import CLIENT_AUTH_METHODS
from gateway.core.types import AuthorizationRequest
from gateway.core.types import JourneyOutcome
from gateway.oauth.adapters import ClientModel
from gateway.oauth.adapters import VhodOAuth2Request
from gateway.oauth.context import PATH_AUTHORIZE
from gateway.oauth.context import PATH_PAR
from gateway.oauth.context import IncomingRequest
from gateway.oauth.context import OAuthContext
from gateway.oauth.errors import RequestNotSupportedError
from gateway.oauth.errors import RequestUriNotSupportedError
from gateway.oauth.errors import from_authlib
from gateway.oauth.grants import S256_CHALLENGE
from gateway.oauth.grants import append_query
from gateway.oauth.jose import InvalidJwt
from gateway.oauth.records import NS_PAR
from gateway.oauth.records import PushedRequest
from gateway.oauth.server import VhodAuthorizationServer
from gateway.oauth.tokens import DIGEST_PAR
from gateway.oauth.tokens import audiences

PAR_PREFIX = "urn:ietf:params:oauth:request_uri:"
PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account"})
CLIENT_AUTH_PARAMS = frozenset({"client_secret", "client_assertion", "client_assertion_type"})
MAX_AGE_LIMIT = 10 * 365 * 86400
MAX_HINT_LENGTH = 512
MAX_ID_TOKEN_HINT_LENGTH = 8192
CHILD_SCOPE = "child"
"""The scope that asks to act for a child (only with delegable scopes)."""


class AuthorizationFailure(Exception):
    """A failed authorization request.

    :param redirect_uri: the validated redirect URI to send the error to, or ``None``
        when it must be shown on vhod's own page.
    """

    def __init__(
        self, error: ProtocolError, redirect_uri: str | None = None, state: str | None = None
    ) -> None:
        super().__init__(error.error)
        self.error = error
        self.redirect_uri = redirect_uri
        self.state = state


class Authorizer:
    """Authorization requests, pushed requests and code issuance."""

    def __init__(self, ctx: OAuthContext, server: VhodAuthorizationServer) -> None:
        self._ctx = ctx
        self._server = server

    # --------------------------------------------------------------- validation

    def validate(self, incoming: IncomingRequest) -> AuthorizationRequest:
        """Validate a front-channel authorization request (GET or POST).

        :raises AuthorizationFailure: see the module docstring for where it goes.
        """
        with self._server.one_client_read():
            return self._validate(incoming.params, pushed=False)

    def _validate(
        self, raw_params: tuple[tuple[str, str], ...], *, pushed: bool
    ) -> AuthorizationRequest:
        """The checks of the module docstring, in its order (the first failure decides)."""
        params = _Params.of(tuple((k, v) for k, v in raw_params if v != ""))
        client_id, client = self._client(params)
        params, par_urn, pending = self._request_source(params, client_id, client, pushed=pushed)
        redirect_uri = self._redirect_uri(params, client_id, client)
        state = _checked_state(params, redirect_uri, self._ctx.settings.max_state_length)

        def fail(error: ProtocolError) -> AuthorizationFailure:
            return AuthorizationFailure(error, redirect_uri, state)

        first = params.first
        try:
            _check_request_shape(params, pending)
            _check_response_type(first, client)
            scopes = _checked_scopes(first, client, self._ctx.config.scopes)
            nonce = first.get("nonce")
            if nonce is not None and len(nonce) > self._ctx.settings.max_nonce_length:
                raise InvalidRequestError("nonce is too long.")
            challenge = _checked_challenge(first)
            options = _checked_options(first, self._ctx.tokens.audience(client.client))
        except ProtocolError as error:
            raise fail(error) from None

        hint_subject: str | None = None
        hint = first.get("id_token_hint")
        if hint is not None:
            hint_subject = self._hint_subject(hint, client)
            if hint_subject is None:
                if "none" in options.prompt:
                    raise fail(LoginRequiredError("The id_token_hint is not valid."))
                raise fail(InvalidRequestError("The id_token_hint is not valid."))

        request = VhodOAuth2Request("GET", self._ctx.url(PATH_AUTHORIZE), params.items)
        request.vhod_ctx = self._ctx
        try:
            self._server.get_consent_grant(request, end_user=None)
        except OAuth2Error as error:
            raise fail(from_authlib(error)) from None
        except ProtocolError as error:
            raise fail(error) from None

        kept = {k: v for k, v in first.items() if k not in CLIENT_AUTH_PARAMS}
        if par_urn is not None:
            kept["request_uri"] = par_urn
        return AuthorizationRequest(
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            code_challenge=challenge,
            state=state,
            nonce=nonce,
            prompt=options.prompt,
            max_age=options.max_age,
            acr_values=options.acr_values,
            ui_locales=first.get("ui_locales"),
            login_hint=first.get("login_hint"),
            id_token_hint_subject=hint_subject,
            resource=(options.resource,) if options.resource else (),
            params=kept,
        )

    def _client(self, params: _Params) -> tuple[str, ClientModel]:
        """Check 1: ``client_id`` once, registered and enabled (else vhod's error page)."""
        if params.counts["client_id"] > 1:
            raise AuthorizationFailure(InvalidRequestError("client_id sent more than once."))
        client_id = params.first.get("client_id")
        if not client_id:
            raise AuthorizationFailure(InvalidRequestError("client_id is required."))
        client = self._server.query_client(client_id)
        if client is None:
            raise AuthorizationFailure(InvalidRequestError("Unknown client."))
        return client_id, client

    def _request_source(
        self, params: _Params, client_id: str, client: ClientModel, *, pushed: bool
    ) -> tuple[_Params, str | None, ProtocolError | None]:
        """Check 2: the parameters to go on with (a pushed request's, when ``request_uri``
        names one), its ``request_uri``, and the error to redirect once the redirect URI is
        known (``None`` when there is none)."""
        if "request_uri" in params.counts and not pushed:
            if params.counts["request_uri"] > 1:
                raise AuthorizationFailure(InvalidRequestError("request_uri sent twice."))
            request_uri = params.first["request_uri"]
            if request_uri.startswith(PAR_PREFIX):
                return _Params.of(self._load_pushed(request_uri, client_id)), request_uri, None
            return params, None, RequestUriNotSupportedError()
        if "request_uri" in params.counts:
            pending = InvalidRequestError("request_uri is not allowed in a pushed request.")
            return params, None, pending
        if client.client.require_par and not pushed:
            pending = InvalidRequestError("This client must use pushed authorization requests.")
            return params, None, pending
        return params, None, None

    def _redirect_uri(self, params: _Params, client_id: str, client: ClientModel) -> str:
        """Check 3: ``redirect_uri`` once, present, one of the registered strings."""
        if params.counts["redirect_uri"] > 1:
            raise AuthorizationFailure(InvalidRequestError("redirect_uri sent more than once."))
        redirect_uri = params.first.get("redirect_uri")
        if not redirect_uri:
            raise AuthorizationFailure(InvalidRequestError("redirect_uri is required."))
        if not client.check_redirect_uri(redirect_uri):
            self._ctx.event("authorize.bad_redirect_uri", logging.WARNING, client_id=client_id)
            raise AuthorizationFailure(InvalidRequestError("redirect_uri is not registered."))
        return redirect_uri

    def _hint_subject(self, hint: str, client: ClientModel) -> str | None:
        """The internal subject an ``id_token_hint`` names, or ``None`` when the hint is
        not an ID token we issued to this client (OIDC Core §3.1.2.1)."""
        if len(hint) > MAX_ID_TOKEN_HINT_LENGTH:
            return None
        try:
            claims = self._ctx.tokens.verify_id_token(hint)
        except InvalidJwt:
            return None
        if client.client_id not in audiences(claims):
            return None
        with self._ctx.uow(read_only=True) as uow:
            return uow.grants.find_subject(client.client_id, str(claims["sub"]))

    # --------------------------------------------------------------- PAR

    def _par_key(self, request_uri: str) -> str:
        return self._ctx.tokens.digest(DIGEST_PAR, request_uri)

    def _load_pushed(self, request_uri: str, client_id: str) -> tuple[tuple[str, str], ...]:
        """The parameters of a pushed request, usable until it expires or its
        authorization completes (RFC 9126 §4, §7.3); bound to its client (§2.2; T54)."""
        if len(request_uri) > 256:
            raise AuthorizationFailure(InvalidRequestUriError())
        raw = self._ctx.ephemeral.get(NS_PAR, self._par_key(request_uri))
        if raw is None:
            raise AuthorizationFailure(InvalidRequestUriError())
        pushed = PushedRequest.from_bytes(raw)
        if pushed.expires_at <= self._ctx.clock.now():
            raise AuthorizationFailure(InvalidRequestUriError())
        if pushed.client_id != client_id:
            self._ctx.event("par.wrong_client", logging.WARNING, client_id=client_id)
            raise AuthorizationFailure(InvalidRequestUriError())
        return (("client_id", client_id), *pushed.params)

    def push(self, incoming: IncomingRequest) -> dict[str, Any]:
        """RFC 9126 §2: authenticate the client as at the token endpoint, validate the
        request like any other, store it under a fresh ``request_uri`` (256 bits).

        :raises ProtocolError: answered as JSON (400, or 401 for ``invalid_client``).
        """
        counts = Counter(k for k, _ in incoming.params)
        if any(c > 1 for c in counts.values()):
            raise InvalidRequestError("A parameter was sent more than once.")
        request = VhodOAuth2Request(
            "POST",
            self._ctx.url(PATH_PAR),
            incoming.params,
            authorization=incoming.authorization,
            remote_addr=incoming.remote_addr,
        )
        request.vhod_ctx = self._ctx
        client = self._server.authenticate_client(request, list(CLIENT_AUTH_METHODS), "par")
        if "request_uri" in counts:
            raise InvalidRequestError("request_uri must not be pushed.")
        form_client = request.form.get("client_id")
        if form_client and form_client != client.client_id:
            raise InvalidRequestError("client_id does not match the authenticated client.")
        params = tuple(
            (k, v)
            for k, v in incoming.params
            if k not in CLIENT_AUTH_PARAMS and k != "client_id" and v != ""
        )
        try:
            self._validate((("client_id", client.client_id), *params), pushed=True)
        except AuthorizationFailure as failure:
            raise failure.error from None
        ttl = self._ctx.settings.par_ttl_seconds
        request_uri = PAR_PREFIX + new_code()
        record = PushedRequest(
            client_id=client.client_id, params=params, expires_at=self._ctx.clock.now() + ttl
        )
        self._ctx.ephemeral.put(NS_PAR, self._par_key(request_uri), record.to_bytes(), ttl)
        self._ctx.event("par.stored", client_id=client.client_id)
        return {"request_uri": request_uri, "expires_in": ttl}

    # --------------------------------------------------------------- responses

    def complete(self, req: AuthorizationRequest, outcome: JourneyOutcome) -> str:
        """Issue the code for a finished journey; return where to send the browser.

        The request is resumed through Authlib (``create_authorization_response``), which
        validates it again against the client as registered *now* (a client disabled or a
        redirect URI removed meanwhile gets no code), saves the code and adds ``iss``.
        The granted scope is what the journey granted, within what was asked, and must
        keep ``openid``.

        Both checks use one read of the client (``one_client_read``).

        :raises AuthorizationFailure: with or without a redirect target.
        """
        with self._server.one_client_read():
            return self._complete(req, outcome)

    def _complete(self, req: AuthorizationRequest, outcome: JourneyOutcome) -> str:
        client = self._server.query_client(req.client_id)
        if client is None or not client.check_redirect_uri(req.redirect_uri):
            raise AuthorizationFailure(InvalidRequestError("The client is no longer valid."))
        granted = tuple(s for s in req.scopes if s in outcome.granted_scopes)
        if "openid" not in granted:
            raise AuthorizationFailure(
                AccessDeniedError("The openid scope was not granted."), req.redirect_uri, req.state
            )
        params = tuple(req.params.items())
        request = VhodOAuth2Request("GET", self._ctx.url(PATH_AUTHORIZE), params)
        request.vhod_ctx = self._ctx
        request.vhod_authz = req
        request.vhod_scopes = granted
        try:
            grant = self._server.get_authorization_grant(request)
            response = self._server.create_authorization_response(
                request, grant_user=outcome, grant=grant
            )
        except OAuth2Error as error:
            raise AuthorizationFailure(from_authlib(error), req.redirect_uri, req.state) from None
        except ProtocolError as error:
            raise AuthorizationFailure(error, req.redirect_uri, req.state) from None
        location = response.location
        if not isinstance(location, str):  # pragma: no cover - Authlib always redirects
            raise AuthorizationFailure(InvalidRequestError(), None)
        self._finish_pushed(req)
        return location

    def _finish_pushed(self, req: AuthorizationRequest) -> None:
        """A pushed request is one-time once its authorization completed (RFC 9126 §7.3)."""
        urn = req.params.get("request_uri")
        if not urn:
            return
        try:
            self._ctx.ephemeral.consume(
                NS_PAR, self._par_key(urn), self._ctx.settings.par_ttl_seconds
            )
        except ReplayDetected:
            pass

    def error_location(self, redirect_uri: str, error: ProtocolError, state: str | None) -> str:
        """An error redirect (RFC 6749 §4.1.2.1; RFC 9207 §2): ``error``,
        ``error_description`` (ASCII only), ``state`` exactly as received, ``iss``."""
        params = [("error", error.error), ("error_description", error.public_description)]
        if state is not None:
            params.append(("state", state))
        params.append(("iss", self._ctx.issuer))
        return append_query(redirect_uri, params)


@dataclass(frozen=True)
class _Params:
    """A request's parameters, how often each name was sent, and each name's first value."""

    items: tuple[tuple[str, str], ...]
    counts: Counter[str]
    first: dict[str, str]

    @classmethod
    def of(cls, items: tuple[tuple[str, str], ...]) -> _Params:
        return cls(items, Counter(k for k, _ in items), _first(items))


class _Options(NamedTuple):
    prompt: tuple[str, ...]
    max_age: int | None
    acr_values: tuple[str, ...]
    resource: str | None


def _first(params: tuple[tuple[str, str], ...]) -> dict[str, str]:
    first: dict[str, str] = {}
    for name, value in params:
        first.setdefault(name, value)
    return first


def _checked_state(params: _Params, redirect_uri: str, max_length: int) -> str | None:
    """Check 4: ``state`` once (else redirected, without a state) and not too long (else
    vhod's error page: never truncated)."""
    state: str | None = params.first.get("state")
    if params.counts["state"] > 1:
        raise AuthorizationFailure(
            InvalidRequestError("state sent more than once."), redirect_uri, None
        )
    if state is not None and len(state) > max_length:
        raise AuthorizationFailure(InvalidRequestError("state is too long."))
    return state


def _check_request_shape(params: _Params, pending: ProtocolError | None) -> None:
    """The error check 2 left pending, then checks 5 (no parameter twice) and 6 (no
    ``request``)."""
    if pending is not None:
        raise pending
    duplicated = sorted(k for k, c in params.counts.items() if c > 1)
    if duplicated:
        names = ", ".join(d for d in duplicated if d.isascii() and d.isprintable())[:200]
        raise InvalidRequestError(f"Parameters sent more than once: {names}.")
    if "request" in params.counts:
        raise RequestNotSupportedError()


def _check_response_type(first: dict[str, str], client: ClientModel) -> None:
    """Check 7: ``response_type=code`` (allowed for the client), ``response_mode=query``."""
    response_type = first.get("response_type")
    if not response_type:
        raise InvalidRequestError("response_type is required.")
    if response_type != "code":
        raise UnsupportedResponseTypeError("Only response_type=code is supported.")
    if not client.check_response_type(response_type):
        raise UnauthorizedClientError("The client may not use the code flow.")
    if first.get("response_mode", "query") != "query":
        raise InvalidRequestError("Only response_mode=query is supported.")


def _checked_scopes(
    first: dict[str, str], client: ClientModel, catalogue: Mapping[str, ScopeSettings]
) -> tuple[str, ...]:
    """Check 8: ``openid``, every scope in the catalogue and registered for the client, none
    that is only for a school system's own tokens (``roster``); with ``child`` (acting for a
    child) only scopes the catalogue marks ``delegable``."""
    scopes = tuple(dict.fromkeys(first.get("scope", "").split()))
    if "openid" not in scopes:
        raise InvalidScopeError("The openid scope is required.")
    if not set(scopes) <= set(catalogue):
        raise InvalidScopeError("Unknown scope.")
    if not set(scopes) <= set(client.client.scopes):
        raise InvalidScopeError("Scope not registered for the client.")
    if any(catalogue[s].machine_only for s in scopes):
        raise InvalidScopeError("Scope not available in a sign-in.")
    if CHILD_SCOPE in scopes and not all(catalogue[s].delegable for s in scopes):
        raise InvalidScopeError("A scope that cannot be used when acting for a child.")
    return scopes


def _checked_challenge(first: dict[str, str]) -> str:
    """Check 10: PKCE, ``code_challenge`` with ``code_challenge_method=S256``."""
    challenge = first.get("code_challenge")
    if not challenge:
        raise InvalidRequestError("code_challenge is required (PKCE).")
    if first.get("code_challenge_method") != "S256":
        raise InvalidRequestError("code_challenge_method must be S256.")
    if not S256_CHALLENGE.match(challenge):
        raise InvalidRequestError("code_challenge is malformed.")
    return challenge


def _checked_options(first: dict[str, str], audience: str) -> _Options:
    """Check 11: ``prompt``, ``max_age``, ``acr_values`` (the known ones kept), ``resource``
    (only the client's ``audience``), and the length of ``login_hint`` / ``ui_locales``."""
    prompt = tuple(dict.fromkeys(first.get("prompt", "").split()))
    if not set(prompt) <= PROMPT_VALUES:
        raise InvalidRequestError("Unsupported prompt value.")
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequestError("prompt=none cannot be combined.")
    max_age = _max_age(first.get("max_age"))
    if "max_age" in first and max_age is None:
        raise InvalidRequestError("max_age must be a non-negative integer.")
    acr_values = tuple(a for a in first.get("acr_values", "").split() if a in ACR_VALUES)
    resource = first.get("resource")
    if resource is not None and resource != audience:
        raise InvalidTargetError("The resource is not registered for the client.")
    for name in ("login_hint", "ui_locales"):
        if len(first.get(name, "")) > MAX_HINT_LENGTH:
            raise InvalidRequestError(f"{name} is too long.")
    return _Options(prompt, max_age, acr_values, resource)


def _max_age(value: str | None) -> int | None:
    if value is None or not value.isdigit() or not value.isascii():
        return None
    number = int(value)
    return number if number <= MAX_AGE_LIMIT else None
