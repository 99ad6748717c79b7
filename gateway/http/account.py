"""Blueprint ``account``: vhod's own pages for the person (``/account``).

Signing in goes through the same journey as any client (a journey of kind ``account``:
no client, no code, no consent). The page shows the person's name and the consents they
gave, each with a "revoke" form (CSRF-protected POST, 303, audited; the client's tokens
stop, SECURITY.md T97), and a link to log out.

``/account/login?next=…`` follows only local paths from :data:`RETURN_PATHS` (SECURITY.md
T13); anything else — absolute URLs, ``//host``, ``/\\host``, other paths — is ignored.
"""

from __future__ import annotations

import logging

from flask import Blueprint
from flask import Response
from flask import render_template
from flask import request
from flask import url_for

from gateway.core.errors import JourneyRejected
from gateway.core.logs import log_event
from gateway.http.deps import services
from gateway.http.login import journeys
from gateway.http.login import rejected_page
from gateway.http.login import respond
from gateway.http.login import sso_sessions
from gateway.http.session_cookie import journey_binding
from gateway.http.session_cookie import read_session_cookie
from gateway.http.session_cookie import see_other
from gateway.journey.account import AccountService

log = logging.getLogger(__name__)

bp = Blueprint("account", __name__)

HOME = "/account"
LOGOUT_PATH = "/logout"
"""The OP logout endpoint (``gateway.http.logout``); it asks the person to confirm."""
FACTORS = "/account/factors"
"""The factor pages (``gateway.http.account_factors``)."""
RETURN_PATHS = frozenset({HOME, FACTORS})
"""Where a sign-in to vhod's own pages may return (exact local paths)."""


def safe_return_path(value: str | None) -> str:
    """``value`` when it is exactly an allow-listed local path, else the account page."""
    return value if value in RETURN_PATHS else HOME


def accounts() -> AccountService:
    return services().accounts


@bp.errorhandler(JourneyRejected)
def _rejected(err: JourneyRejected) -> Response:
    return rejected_page(err)


def _sign_in(return_to: str) -> Response:
    return respond(journeys().begin_account(journey_binding(), return_to))


@bp.get("/account")
def home() -> Response:
    session = sso_sessions().current(read_session_cookie())
    if session is None:
        return _sign_in(HOME)
    view = accounts().overview(session.subject_id)
    if view is None:
        return _sign_in(HOME)
    catalogue = services().config.scopes
    body = render_template(
        "account_home.html", view=view, catalogue=catalogue, logout_url=LOGOUT_PATH
    )
    return Response(body, mimetype="text/html")


@bp.get("/account/login")
def login() -> Response:
    return _sign_in(safe_return_path(request.args.get("next")))


@bp.post("/account/consents/revoke")
def revoke() -> Response:
    session = sso_sessions().current(read_session_cookie())
    if session is None:
        return see_other(url_for("account.login"), code=303)
    client_id = request.form.get("client_id", "")
    if client_id and len(client_id) <= 255:
        revoker = services().grant_revoker
        revoked = accounts().revoke_consent(session.subject_id, client_id, revoker)
        log_event(log, "consent.revoke_requested", client_id=client_id, revoked=revoked)
    return see_other(url_for("account.home"), code=303)
