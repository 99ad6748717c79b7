"""Signing in and out of the admin side, and accepting an invite.

``/admin/login`` starts a fresh sign-in (a journey of kind ``account``) unless the SSO
session is younger than ``session.admin_idle_seconds``, then starts an admin session
(:mod:`gateway.admin.sessions`) named by the cookie ``vhod_admin`` (``__Host-`` outside dev;
``HttpOnly``, ``SameSite=Strict``). The invite link ``/admin/invite?token=…`` is looked up
once, the token is moved out of the URL into a short-lived record bound to this browser,
and the person signs in and confirms with a form
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
from gateway.core.ids import keyed_digest
from gateway.core.logs import log_event
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

_REFUSAL_TEXTS = {
    "not_admin": "admin_forbidden_text",
    "second_factor_required": "admin_second_factor_text",
}


@bp.get("/")
def home() -> Response:
    return page("admin_home.html")


@bp.get("/login")
def login() -> Response:
    """Start an admin session: after a fresh sign-in (the ``/account`` journey)."""
    sessions = admin_sessions(services())
    sso = sso_sessions().current(read_session_cookie())
    if sso is None or not sessions.fresh(sso.auth.auth_time):
        return respond(journeys().begin_account(journey_binding(), url_for("admin.login")))
    refusal = sessions.refusal(sso)
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
    signed_in = sso is not None and admin_sessions(svc).fresh(sso.auth.auth_time)
    body = render_template("admin_invite.html", signed_in=signed_in)
    return Response(body, mimetype="text/html")


@bp.get("/invite/sign-in")
def invite_signin() -> Response:
    return respond(journeys().begin_account(journey_binding(), url_for("admin.invite")))


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
