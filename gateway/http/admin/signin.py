"""Signing in and out of the admin side, and accepting an invite.

``/admin/login`` starts a sign-in (a journey of kind ``account`` asking for
:attr:`~gateway.admin.sessions.AdminSessions.min_acr`: ``urn:vhod:acr:esia-mfa`` with
``[admin] require_second_factor``) unless the SSO session is younger than
``session.admin_idle_seconds``; a fresh SSO session with too weak an acr steps up (the
journey resumes it and asks only for the second factor). Then it starts an admin session
(:mod:`gateway.admin.sessions`) named by the cookie ``vhod_admin`` (``__Host-`` outside dev;
``HttpOnly``, ``SameSite=Strict``). The journey comes back to ``/admin/login?signed_in=1``:
an acr still too weak there is refused (403), never a loop of sign-ins.

The invite link ``/admin/invite?token=…`` is looked up once, the token is moved out of the
URL into a short-lived record bound to this browser, and the person signs in (with the
factor, the same way) and confirms with a form
(:func:`gateway.admin.admins.accept_invite`: one use, expiring, audited).
"""

from __future__ import annotations

import logging

from flask import Response
from flask import render_template
from flask import request
from flask import url_for

from gateway.admin.admins import InviteRejected
from gateway.admin.admins import accept_invite
from gateway.admin.admins import invite_usable
from gateway.admin.sessions import AdminSessions
from gateway.core.ids import keyed_digest
from gateway.core.logs import log_event
from gateway.core.types import SsoSession
from gateway.http.admin.common import ADMIN_COOKIE
from gateway.http.admin.common import admin_sessions
from gateway.http.admin.common import bp
from gateway.http.admin.common import message
from gateway.http.admin.common import page
from gateway.http.deps import services
from gateway.http.login import journeys
from gateway.http.login import respond
from gateway.http.login import sso_sessions
from gateway.http.security import cookie_name
from gateway.http.session_cookie import journey_binding
from gateway.http.session_cookie import read_binding
from gateway.http.session_cookie import read_session_cookie
from gateway.http.session_cookie import see_other

log = logging.getLogger("gateway.http.admin")

INVITE_NAMESPACE = "admin_invite"
AFTER_SIGN_IN = "signed_in"
"""The query flag of ``/admin/login`` when a sign-in journey comes back to it."""

_REFUSAL_TEXTS = {
    "not_admin": "admin_forbidden_text",
    "second_factor_required": "admin_second_factor_text",
}


@bp.get("/")
def home() -> Response:
    return page("admin_home.html")


def _sign_in(sessions: AdminSessions, sso: SsoSession | None, return_to: str) -> Response:
    """The admin sign-in journey: a new sign-in, or a step-up in the fresh ``sso``; both
    ask for the admin side's acr (the factor page follows ESIA, or comes alone)."""
    reuse = sso if sessions.sign_in_needed(sso) != "sign_in" else None
    step = journeys().begin_account(
        journey_binding(), return_to, session=reuse, min_acr=sessions.min_acr
    )
    return respond(step)


@bp.get("/login")
def login() -> Response:
    """Start an admin session: after a fresh sign-in with the admin side's acr."""
    sessions = admin_sessions(services())
    sso = sso_sessions().current(read_session_cookie())
    needed = sessions.sign_in_needed(sso)
    back = f"{url_for('admin.login')}?{AFTER_SIGN_IN}=1"
    if sso is None or needed == "sign_in":
        return _sign_in(sessions, sso, back)
    refusal = sessions.refusal(sso)
    if refusal == "second_factor_required" and AFTER_SIGN_IN not in request.args:
        return _sign_in(sessions, sso, back)
    if refusal is not None:
        log_event(log, "admin.login_refused", reason=refusal)
        return message("admin_forbidden_title", _REFUSAL_TEXTS[refusal], 403)
    _, cookie = sessions.start(sso)
    # A page, not a redirect: after a cross-site sign-in chain a SameSite=Strict cookie
    # would not ride on the redirect, and the browser would loop back here.
    response = message("admin_signed_in_title", "admin_signed_in_text", link=url_for("admin.home"))
    response.set_cookie(
        cookie_name(ADMIN_COOKIE),
        cookie,
        secure=cookie_name("x") != "x",
        httponly=True,
        samesite="Strict",
        path="/",
    )
    return response


@bp.post("/logout")
def logout() -> Response:
    """End the admin session (the SSO session stays)."""
    admin_sessions(services()).end(request.cookies.get(cookie_name(ADMIN_COOKIE), ""))
    response = see_other("/", 303)
    response.delete_cookie(
        cookie_name(ADMIN_COOKIE), path="/", secure=cookie_name("x") != "x", httponly=True
    )
    return response


def _invite_key() -> str:
    return keyed_digest(services().pepper, "admin_invite_stash", read_binding() or "-")


def _stashed_invite() -> str | None:
    raw = services().ephemeral.get(INVITE_NAMESPACE, _invite_key())
    return None if raw is None else raw.decode()


@bp.get("/invite")
def invite() -> Response:
    """The link of ``vhod admins invite`` (``/admin/invite?token=…``: a query string, so that
    access logs, which record the path only, never see it). The token is moved into the
    ephemeral store at once and the browser continues without it in the URL."""
    svc = services()
    link_token = request.args.get("token")
    if link_token is not None:
        if not invite_usable(svc.uow, svc.clock, svc.pepper, link_token):
            return message("admin_invite_title", "admin_invite_invalid", 404)
        key = keyed_digest(svc.pepper, "admin_invite_stash", journey_binding())
        svc.ephemeral.put(
            INVITE_NAMESPACE, key, link_token.encode(), svc.config.session.journey_ttl_seconds
        )
        return see_other(url_for("admin.invite"), 303)
    token = _stashed_invite()
    if token is None or not invite_usable(svc.uow, svc.clock, svc.pepper, token):
        return message("admin_invite_title", "admin_invite_invalid", 404)
    sso = sso_sessions().current(read_session_cookie())
    signed_in = admin_sessions(svc).sign_in_needed(sso) is None
    body = render_template("admin_invite.html", signed_in=signed_in)
    return Response(body, mimetype="text/html")


@bp.get("/invite/sign-in")
def invite_signin() -> Response:
    sso = sso_sessions().current(read_session_cookie())
    return _sign_in(admin_sessions(services()), sso, url_for("admin.invite"))


@bp.post("/invite")
def invite_accept() -> Response:
    """Accept the stashed invite as the person signed in now (one use, audited)."""
    svc = services()
    sessions = admin_sessions(svc)
    token = _stashed_invite()
    sso = sso_sessions().current(read_session_cookie())
    if token is None or sso is None or not sessions.fresh(sso.auth.auth_time):
        return message("admin_invite_title", "admin_invite_invalid", 403)
    if not sessions.acr_ok(sso.auth.acr):
        return message("admin_forbidden_title", "admin_second_factor_text", 403)
    try:
        accept_invite(svc.uow, svc.clock, svc.pepper, token, sso.subject_id)
    except InviteRejected as exc:
        log_event(log, "admin.invite_rejected", reason=exc.reason)
        return message("admin_invite_title", "admin_invite_invalid", 403)
    svc.ephemeral.delete(INVITE_NAMESPACE, _invite_key())
    return see_other(url_for("admin.login"), 303)
