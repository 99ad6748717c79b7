"""The blueprint's guard: every admin request but sign-in, invite and logout needs an admin
session (:mod:`gateway.admin.sessions`), and its unsafe methods the admin-bound CSRF token.

Without a session, API routes answer 403 JSON; pages redirect an anonymous browser (or an
admin whose admin session lapsed) to ``/admin/login`` and show a signed-in non-admin a 403
page. Nothing else is read before the check.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response
from flask import g
from flask import request
from flask import url_for

from gateway.admin.admins import is_admin
from gateway.admin.sessions import AdminSession
from gateway.admin.subjects import subject_digest
from gateway.core.errors import JourneyRejected
from gateway.core.logs import log_event
from gateway.http.admin.common import ADMIN_COOKIE
from gateway.http.admin.common import API_PREFIX
from gateway.http.admin.common import OPENAPI_PATH
from gateway.http.admin.common import admin_sessions
from gateway.http.admin.common import bp
from gateway.http.admin.common import to_json
from gateway.http.deps import services
from gateway.http.errors import error_page
from gateway.http.login import rejected_page
from gateway.http.login import sso_sessions
from gateway.http.security import CsrfRejected
from gateway.http.security import check_csrf
from gateway.http.security import cookie_name
from gateway.http.security import csrf_token
from gateway.http.session_cookie import read_session_cookie
from gateway.http.session_cookie import see_other

log = logging.getLogger("gateway.http.admin")

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

PUBLIC_ENDPOINTS = frozenset(
    {
        "admin.login",
        "admin.logout",
        "admin.invite",
        "admin.invite_signin",
        "admin.invite_accept",
    }
)
"""Reachable without an admin session (sign-in, invite, logout): they show no data."""
BROWSER_CSRF_ENDPOINTS = frozenset({"admin.logout", "admin.invite_accept"})
"""POSTs made without an admin session: the generic browser-bound CSRF check applies."""


def load_admin() -> AdminSession | None:
    """The admin session of this request, renewed; ``None`` when there is none or it no
    longer holds (:meth:`gateway.admin.sessions.AdminSessions.load`)."""
    cookie = request.cookies.get(cookie_name(ADMIN_COOKIE), "")
    return admin_sessions(services()).load(
        cookie, lambda: sso_sessions().current(read_session_cookie())
    )


def _is_api() -> bool:
    return request.path.startswith(API_PREFIX) or request.path == OPENAPI_PATH


def _refused(status: int, code: str, description: str, page_text: str) -> Response:
    if _is_api():
        return to_json({"error": code, "error_description": description}, status)
    return error_page(status, "admin_forbidden_title", page_text)


@bp.before_request
def _guard() -> Response | None:
    endpoint = request.endpoint or ""
    if endpoint in PUBLIC_ENDPOINTS:
        return None
    admin = load_admin()
    if admin is None:
        log_event(log, "admin.refused", endpoint=endpoint, method=request.method)
        if not _is_api() and request.method in _SAFE_METHODS:
            sso = sso_sessions().current(read_session_cookie())
            if sso is None or is_admin(services().uow, sso.subject_id):
                return see_other(url_for("admin.login"))
        return _refused(403, "forbidden", "An admin session is required.", "admin_forbidden_text")
    g.vhod_admin = admin
    if request.method not in _SAFE_METHODS:
        try:
            check_csrf(admin.csrf_binding())
        except CsrfRejected as exc:
            log_event(log, "csrf.rejected", logging.WARNING, reason=str(exc), endpoint=endpoint)
            return _refused(403, "csrf_rejected", "Missing or invalid CSRF token.", "error_csrf")
    return None


@bp.context_processor
def _template_globals() -> dict[str, Any]:
    admin = g.get("vhod_admin")
    if not isinstance(admin, AdminSession):
        return {"admin_csrf": "", "admin_subject": ""}
    svc = services()
    return {
        "admin_csrf": csrf_token(admin.csrf_binding()),
        "admin_subject": subject_digest(svc.pepper, admin.subject_id),
    }


@bp.errorhandler(JourneyRejected)
def _rejected(err: JourneyRejected) -> Response:
    return rejected_page(err)
