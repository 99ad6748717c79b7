"""The answers to a client at the end of an authorization request — the seam between the
login journey (``gateway.http.login``) and the OAuth provider.

* :func:`authorization_success` — issue the code and send the browser to the client's
  redirect URI with ``code``, ``state`` and ``iss`` (RFC 6749 §4.1.2; RFC 9207 §2), and
  remember the client in the SSO session (for back-channel logout).
* :func:`authorization_error` — send ``error``, ``error_description``, ``state`` and
  ``iss`` to the client (RFC 6749 §4.1.2.1).

Both answer ``303 See Other``: the journey often ends with a form post (consent), and a
307/308 would re-post it to the client (RFC 9700 §4.12; SECURITY.md T12). A request that
no longer holds (the client was disabled, its redirect URI removed) gets vhod's error page
instead: a redirect only ever goes to a URI that is registered now.

This module must not import ``gateway.http.login`` (which imports it).
"""

from __future__ import annotations

import logging

from flask import Response
from flask import g
from flask import render_template

from gateway.core.errors import ProtocolError
from gateway.core.logs import log_event
from gateway.core.types import AuthorizationRequest
from gateway.core.types import JourneyOutcome
from gateway.core.types import SsoSession
from gateway.http.deps import services
from gateway.oauth.authorize import AuthorizationFailure
from gateway.oauth.provider import OAuthProvider

log = logging.getLogger(__name__)


def see_other(location: str) -> Response:
    """``303 See Other`` to ``location`` (an absolute URL built by ``gateway.oauth``)."""
    response = Response(status=303)
    response.headers["Location"] = location
    return response


def oauth_provider() -> OAuthProvider:
    """The app's OAuth provider (built by ``gateway.compose``)."""
    return services().oauth


def authorization_success(
    req: AuthorizationRequest, outcome: JourneyOutcome, session: SsoSession | None = None
) -> Response:
    """Issue the authorization code for a finished journey and redirect to the client.

    :param session: the SSO session the journey finished in, when known: a session that
        already names the client (a fresh login's always does) is not written again.
    """
    provider = oauth_provider()
    try:
        location = provider.authorization_success(req, outcome)
    except AuthorizationFailure as failure:
        return failure_response(failure)
    if session is None or req.client_id not in session.clients:
        services().sso_sessions.add_client(outcome.sid, req.client_id)
    return see_other(location)


def authorization_error(req: AuthorizationRequest, err: ProtocolError) -> Response:
    """Send an error for a validated request to the client (e.g. ``login_required`` under
    ``prompt=none``, ``access_denied`` when the person cancels)."""
    provider = oauth_provider()
    client = provider.server.query_client(req.client_id)
    if client is None or not client.check_redirect_uri(req.redirect_uri):
        return failure_response(AuthorizationFailure(err))
    return failure_response(AuthorizationFailure(err, req.redirect_uri, req.state))


def failure_response(failure: AuthorizationFailure) -> Response:
    """A redirect to the validated redirect URI, or vhod's error page when there is none
    (RFC 6749 §4.1.2.1: never redirect to an unverified URI)."""
    err = failure.error
    log_event(
        log,
        "authorize.failed",
        logging.INFO,
        error=err.error,
        redirected=failure.redirect_uri is not None,
        debug=err.debug,
    )
    if failure.redirect_uri is not None:
        location = oauth_provider().error_location(failure.redirect_uri, err, failure.state)
        return see_other(location)
    body = render_template(
        "oauth_error.html",
        error_page=True,
        error_code=err.error,
        request_id=g.get("vhod_request_id", ""),
    )
    status = err.status if 400 <= err.status < 500 and err.status != 401 else 400
    return Response(body, status=status, mimetype="text/html")
