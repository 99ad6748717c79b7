"""Blueprint ``oauth``: ``/authorize``, ``/par``, ``/token``, ``/userinfo``, ``/introspect``,
``/revoke`` — HTTP in, plain data to ``gateway.oauth``, HTTP out.

* Parameters come from the query string of a GET or the form body of a POST, never both
  (credentials in the query string of a POST are not read; RFC 6749 §2.3.1). Duplicates
  are kept so the protocol code can refuse them (RFC 6749 §3.1).
* Back-channel endpoints are client- (or token-) authenticated, not cookie-authenticated:
  CSRF-exempt, JSON errors, ``Cache-Control: no-store`` and ``Pragma: no-cache`` (the app
  default; SECURITY.md T67). ``/authorize`` is CSRF-exempt too: it is entered by
  cross-site navigation by design and protected by client, redirect-URI, PKCE and state
  checks (RFC 6749 §10.12).
* CORS only on ``/token`` (and discovery/JWKS, see ``gateway.http.discovery``), only for
  ``server.cors_origins``, never with credentials; never on ``/authorize`` or any page
  (RFC 9700 §2.6; T3, T4).
* UserInfo (OIDC Core §5.3; RFC 6750): the token from ``Authorization: Bearer`` (scheme
  case-insensitive), or — on a form POST without that header — the ``access_token`` body
  parameter (RFC 6750 §2.2); never from the query string (§2.3 is not supported; a query
  token counts as no token: 401). Both header and body: ``invalid_request``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import request

from gateway.core.errors import InvalidRequestError
from gateway.core.errors import StoreUnavailable
from gateway.core.errors import TemporarilyUnavailableError
from gateway.core.logs import log_event
from gateway.http import discovery
from gateway.http import logout
from gateway.http.authz_response import failure_response
from gateway.http.authz_response import oauth_provider
from gateway.http.deps import client_ip
from gateway.http.deps import services
from gateway.http.discovery import apply_cors
from gateway.http.errors import compact_json
from gateway.http.errors import json_errors
from gateway.http.login import start_journey
from gateway.http.security import csrf_exempt
from gateway.oauth.authorize import AuthorizationFailure
from gateway.oauth.context import IncomingRequest
from gateway.oauth.server import AuthlibResponse

log = logging.getLogger(__name__)

bp = Blueprint("oauth", __name__)

_CORS_VIEWS = frozenset({"oauth.token"})


def incoming(params: tuple[tuple[str, str], ...]) -> IncomingRequest:
    """The neutral request ``gateway.oauth`` works on."""
    return IncomingRequest(
        method=request.method,
        path=request.path,
        params=params,
        authorization=request.headers.get("Authorization"),
        remote_addr=client_ip(services().config.server.trusted_proxy_hops),
    )


def request_params() -> tuple[tuple[str, str], ...]:
    """Query parameters of a GET, form parameters of a POST (duplicates kept)."""
    source = request.args if request.method == "GET" else request.form
    return tuple(source.items(multi=True))


def json_response(body: Any, status: int = 200) -> Response:
    return Response(compact_json(body), status=status, mimetype="application/json")


@bp.route("/authorize", methods=["GET", "POST"])
@csrf_exempt
def authorize() -> Response:
    """OIDC Core §3.1.2.1 (GET and POST; T10): validate, then hand over to the journey."""
    provider = oauth_provider()
    try:
        req = provider.validate_authorization_request(incoming(request_params()))
    except AuthorizationFailure as failure:
        return failure_response(failure)
    try:
        return start_journey(req)
    except StoreUnavailable as error:
        # R1: the client and redirect URI are known good, so the outage travels as
        # ``temporarily_unavailable`` (RFC 6749 §4.1.2.1) rather than a 503 page.
        log_event(log, "authorize.store_unavailable", logging.WARNING, store=error.store)
        unavailable = TemporarilyUnavailableError(debug=error.debug)
        return failure_response(AuthorizationFailure(unavailable, req.redirect_uri, req.state))


@bp.post("/par")
@csrf_exempt
@json_errors
def par() -> Response:
    """RFC 9126 §2: 201 with ``request_uri`` and ``expires_in``."""
    body = oauth_provider().push_authorization_request(incoming(request_params()))
    return json_response(body, 201)


@bp.post("/token")
@csrf_exempt
@json_errors
def token() -> Response:
    """RFC 6749 §3.2 (POST only: GET is 405, T31e)."""
    result = oauth_provider().token(incoming(request_params()))
    response = json_response(result.body, result.status)
    for name, value in token_headers(result):
        response.headers[name] = value
    return response


_SET_BY_EVERY_ANSWER = frozenset({"content-type", "cache-control", "pragma"})


def token_headers(result: AuthlibResponse) -> list[tuple[str, str]]:
    """The token answer's own headers, but those that every API answer sets itself (its
    content type; ``no-store`` caching: ``gateway.http.security.cache_headers``)."""
    return [(k, v) for k, v in result.headers if k.lower() not in _SET_BY_EVERY_ANSWER]


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf_exempt
@json_errors
def userinfo() -> Response:
    """OIDC Core §5.3; errors per RFC 6750 §3 (T45, T46)."""
    access_token = _bearer_token()
    if access_token is None:
        response = Response(status=401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="vhod"'
        return response
    return json_response(oauth_provider().userinfo(access_token))


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization")
    from_header: str | None = None
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            from_header = value.strip()
    from_body: str | None = None
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        values = request.form.getlist("access_token")
        if len(values) > 1:
            raise InvalidRequestError("access_token sent more than once.")
        from_body = values[0] if values and values[0] else None
    if from_header is not None and from_body is not None:
        raise InvalidRequestError("Use one way of sending the access token.")
    return from_header or from_body


@bp.post("/introspect")
@csrf_exempt
@json_errors
def introspect() -> Response:
    """RFC 7662 §2."""
    return json_response(oauth_provider().introspect(incoming(request_params())))


@bp.post("/revoke")
@csrf_exempt
@json_errors
def revoke() -> Response:
    """RFC 7009 §2."""
    return json_response(oauth_provider().revoke(incoming(request_params())))


@bp.after_request
def _cors(response: Response) -> Response:
    if request.endpoint in _CORS_VIEWS:
        apply_cors(response, "POST, OPTIONS")
    return response


def init_oauth(app: Flask) -> None:
    """Register the blueprints ``oauth``, ``discovery`` and ``logout`` (the provider itself
    is built by ``gateway.compose``). Call once from ``gateway.app.create_app``."""
    app.register_blueprint(discovery.bp)
    app.register_blueprint(bp)
    app.register_blueprint(logout.bp)
