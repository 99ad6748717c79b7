"""Blueprint ``admin``: the admin pages (``/admin/...``) and the admin JSON API
(``/admin/api/...``, described by ``/admin/openapi.json``).

**Who.** Admins are people with the ``admin`` role on their subject. The first one comes
through ``vhod admins invite``: the link ``/admin/invite?token=…`` is looked up once, the
token is moved out of the URL into a short-lived record bound to this browser, and the
person signs in through the same journey as ``/account`` and confirms with a form
(:func:`gateway.admin.admins.accept_invite`: one use, expiring, audited).

**Admin sessions** are separate from the SSO session and short: ``/admin/login`` starts
a fresh sign-in (a journey of kind ``account``) unless the SSO session is younger than
``session.admin_idle_seconds``, then creates an admin session — a random cookie
``vhod_admin`` (``__Host-`` outside dev; ``HttpOnly``, ``SameSite=Strict``, SECURITY.md
T69) naming a record in the ephemeral store whose TTL is ``admin_idle_seconds`` and is
renewed by every admin request (idle timeout). On every request the record must still
match the browser's live SSO session, the subject must still hold the admin role, and —
with ``[admin] require_second_factor`` (the default) — the SSO session's acr must be
``urn:vhod:acr:esia-mfa``. Until vhod has second factors nobody reaches that acr, so
admins can sign in only with the setting off (dev stack, tests).

**Refusals.** Without an admin session: API routes answer 403 JSON; pages redirect an
anonymous browser (or an admin whose admin session lapsed) to ``/admin/login`` and show
a signed-in non-admin a 403 page. Nothing else is read before the check.

**CSRF** (T68). The gateway's one check (:func:`gateway.http.security.check_csrf`: fetch
site, origin, token) runs in this blueprint's guard instead of the generic hook, with
the token bound to the *admin session* rather than to the browser: the form field
``csrf_token`` or the header ``X-CSRF-Token`` (JSON API; ``GET /admin/api/session`` returns
it). The two forms used before an admin session exists (invite acceptance, admin logout)
are checked by the generic hook with the browser binding.

**Audit.** Every state change is audited by its use case with ``actor`` = the admin's
subject digest; explain and dry runs too (they read about people). Pages are Russian by
default (``?lang=en``), need no JavaScript, and every POST of a form ends in a 303 — except
validate, dry run and explain, which change nothing and show their result directly.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from functools import wraps
from typing import Any
from typing import TypeVar

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import g
from flask import render_template
from flask import request
from flask import url_for

from gateway.admin.admins import InviteRejected
from gateway.admin.admins import accept_invite
from gateway.admin.admins import invite_usable
from gateway.admin.admins import is_admin
from gateway.admin.audit import verify_audit_chain
from gateway.admin.client_changes import change_client
from gateway.admin.client_changes import disable_client
from gateway.admin.clients import describe_client
from gateway.admin.clients import register_client
from gateway.admin.clients import rotate_client_secret
from gateway.admin.clients import set_client_disabled
from gateway.admin.consents import revoke_consent
from gateway.admin.consents import search_consents
from gateway.admin.keys import list_signing_keys
from gateway.admin.keys import rotate_signing_keys
from gateway.admin.openapi import openapi_document
from gateway.admin.policies import AgeOf
from gateway.admin.policies import ExplainQuery
from gateway.admin.policies import apply_document
from gateway.admin.policies import dry_run_text
from gateway.admin.policies import explain_query
from gateway.admin.policies import policy_history
from gateway.admin.policies import record_dict
from gateway.admin.policies import rollback_document
from gateway.admin.policies import show_document
from gateway.admin.policies import validate_document
from gateway.admin.subjects import looks_like_digest
from gateway.admin.subjects import resolve_subject
from gateway.admin.subjects import subject_digest
from gateway.config.schema import ACR_ESIA
from gateway.config.schema import ACR_ESIA_MFA
from gateway.config.schema import ACR_VALUES
from gateway.core.audit import audit
from gateway.core.errors import Conflict
from gateway.core.errors import JourneyRejected
from gateway.core.errors import NotFound
from gateway.core.errors import ValidationFailed
from gateway.core.ids import constant_time_equals
from gateway.core.ids import keyed_digest
from gateway.core.ids import new_code
from gateway.core.logs import log_event
from gateway.core.ports import GrantRevoker
from gateway.core.types import Client
from gateway.core.types import Subject
from gateway.core.types import TokenFormat
from gateway.http.deps import Services
from gateway.http.deps import services
from gateway.http.errors import error_page
from gateway.http.errors import json_errors
from gateway.http.login import journeys
from gateway.http.login import rejected_page
from gateway.http.login import respond
from gateway.http.login import sso_sessions
from gateway.http.security import CsrfRejected
from gateway.http.security import check_csrf
from gateway.http.security import cookie_name
from gateway.http.security import csrf_exempt
from gateway.http.security import csrf_token
from gateway.http.session_cookie import journey_binding
from gateway.http.session_cookie import read_binding
from gateway.http.session_cookie import read_session_cookie
from gateway.http.session_cookie import see_other
from gateway.journey.subjects import age_on
from gateway.journey.subjects import open_profile
from gateway.journey.subjects import today
from policies.documents.source import ActiveRuleDocuments

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")

F = TypeVar("F", bound=Callable[..., Any])

ADMIN_COOKIE = "vhod_admin"
SESSION_NAMESPACE = "admin_session"
FLASH_NAMESPACE = "admin_flash"
INVITE_NAMESPACE = "admin_invite"
FLASH_TTL_SECONDS = 120
API_PREFIX = "/admin/api/"
OPENAPI_PATH = "/admin/openapi.json"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_COOKIE_MIN, _COOKIE_MAX = 32, 64

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


# --------------------------------------------------------------------------- wiring


def rule_documents(svc: Services) -> ActiveRuleDocuments:
    documents = svc.policy_documents
    if documents is None:
        raise RuntimeError("rule documents are not wired (gateway.app.build_services)")
    return documents


def age_reader(svc: Services) -> AgeOf:
    """Ages for the policy use cases, read from the sealed profile (``gateway.journey``)."""

    def age(subject: Subject) -> int | None:
        birthdate = open_profile(svc.sealer, subject).get("birthdate")
        return age_on(birthdate if isinstance(birthdate, str) else None, today(svc.clock.now()))

    return age


def _revoker(svc: Services) -> GrantRevoker | None:
    return svc.grant_revoker if svc.grant_revoker is not None else svc.oauth


def init_admin(app: Flask) -> None:
    """Register the blueprint; exempt its views from the generic CSRF check (the admin
    check applies instead, see the module docstring)."""
    app.register_blueprint(bp)
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith("admin.") and endpoint not in BROWSER_CSRF_ENDPOINTS:
            csrf_exempt(view)


# --------------------------------------------------------------------------- sessions


@dataclass(frozen=True)
class AdminSession:
    key: str
    subject_id: str
    sid: str
    created_at: float

    def csrf_binding(self) -> str:
        """What this session's CSRF tokens are bound to (``security.check_csrf``)."""
        return f"admin\x00{self.key}"


def _session_key(svc: Services, cookie: str) -> str:
    return keyed_digest(svc.pepper, "admin_session", cookie)


def _save_session(svc: Services, session: AdminSession) -> None:
    body = {"subject_id": session.subject_id, "sid": session.sid, "created_at": session.created_at}
    svc.ephemeral.put(
        SESSION_NAMESPACE,
        session.key,
        json.dumps(body).encode(),
        svc.config.session.admin_idle_seconds,
    )


def _acr_ok(svc: Services, acr: str) -> bool:
    return not svc.config.admin.require_second_factor or acr == ACR_ESIA_MFA


def load_admin() -> AdminSession | None:
    """The admin session of this request, renewed; ``None`` when there is none or it no
    longer holds (SSO session ended or changed, role removed, acr too weak)."""
    svc = services()
    cookie = request.cookies.get(cookie_name(ADMIN_COOKIE), "")
    if not _COOKIE_MIN <= len(cookie) <= _COOKIE_MAX:
        return None
    key = _session_key(svc, cookie)
    raw = svc.ephemeral.get(SESSION_NAMESPACE, key)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        session = AdminSession(
            key, str(data["subject_id"]), str(data["sid"]), float(data["created_at"])
        )
    except (ValueError, KeyError, TypeError):
        return None
    sso = sso_sessions().current(read_session_cookie())
    if (
        sso is None
        or not constant_time_equals(sso.sid, session.sid)
        or sso.subject_id != session.subject_id
        or not _acr_ok(svc, sso.auth.acr)
        or not is_admin(svc.uow, session.subject_id)
    ):
        svc.ephemeral.delete(SESSION_NAMESPACE, key)
        return None
    _save_session(svc, session)
    return session


def current_admin() -> AdminSession:
    admin = g.get("vhod_admin")
    if not isinstance(admin, AdminSession):
        raise RuntimeError("no admin session (the blueprint guard did not run)")
    return admin


def actor() -> str:
    """The acting admin as audit events name them."""
    return subject_digest(services().pepper, current_admin().subject_id)


def _is_api() -> bool:
    return request.path.startswith(API_PREFIX) or request.path == OPENAPI_PATH


def _refused(status: int, code: str, description: str, page_text: str) -> Response:
    if _is_api():
        return _json({"error": code, "error_description": description}, status)
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


# --------------------------------------------------------------------------- helpers


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        mimetype="application/json",
    )


def _page(template: str, status: int = 200, **context: Any) -> Response:
    flash = _take_flash() if request.method == "GET" else None
    body = render_template(template, flash=flash, **context)
    return Response(body, status=status, mimetype="text/html")


def _message(title: str, text: str, status: int = 200, link: str | None = None) -> Response:
    body = render_template("admin_message.html", title_key=title, text_key=text, link=link)
    return Response(body, status=status, mimetype="text/html")


def _flash(message: str, **values: Any) -> None:
    """A one-time message for the next admin page (sealed: it may hold a new secret)."""
    svc = services()
    admin = current_admin()
    raw = json.dumps({"message": message, "values": values}).encode()
    sealed = svc.sealer.seal(raw, f"admin_flash:{admin.key}")
    svc.ephemeral.put(FLASH_NAMESPACE, admin.key, sealed, FLASH_TTL_SECONDS)


def _take_flash() -> dict[str, Any] | None:
    admin = g.get("vhod_admin")
    if not isinstance(admin, AdminSession):
        return None
    svc = services()
    sealed = svc.ephemeral.get(FLASH_NAMESPACE, admin.key)
    if sealed is None:
        return None
    svc.ephemeral.delete(FLASH_NAMESPACE, admin.key)
    data: dict[str, Any] = json.loads(svc.sealer.open(sealed, f"admin_flash:{admin.key}"))
    return data


def _api(view: F) -> F:
    """JSON errors for the admin API: 400 with every problem, 404, 409."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except ValidationFailed as exc:
            body = {
                "error": "invalid_request",
                "error_description": "The request failed validation.",
                "problems": exc.problems,
            }
            return _json(body, 400)
        except NotFound:
            return _json({"error": "not_found", "error_description": "No such record."}, 404)
        except Conflict:
            return _json({"error": "conflict", "error_description": "The record exists."}, 409)

    return json_errors(wrapper)  # type: ignore[return-value]


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed(["body: a JSON object is required"])
    return data


def _str(data: dict[str, Any], key: str, *, required: bool = False, limit: int = 255) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationFailed([f"{key}: a string of at most {limit} characters"])
    if required and not value:
        raise ValidationFailed([f"{key}: required"])
    return value


def _str_list(data: dict[str, Any], key: str) -> tuple[str, ...] | None:
    if key not in data:
        return None
    value = data[key]
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed([f"{key}: a list of strings"])
    if len(value) > 100:
        raise ValidationFailed([f"{key}: at most 100 entries"])
    return tuple(dict.fromkeys(value))


def _lines(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


def _form_scopes() -> tuple[str, ...]:
    return tuple(dict.fromkeys(request.form.getlist("scope")))


def _when(value: float | None) -> str:
    if value is None:
        return ""
    return datetime.fromtimestamp(value, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


bp.add_app_template_filter(_when, "admin_time")


# --------------------------------------------------------------------------- sign-in


def _fresh(auth_time: int) -> bool:
    svc = services()
    return svc.clock.now() - auth_time <= svc.config.session.admin_idle_seconds


@bp.get("/login")
def login() -> Response:
    """Start an admin session: after a fresh sign-in (the ``/account`` journey)."""
    svc = services()
    sso = sso_sessions().current(read_session_cookie())
    if sso is None or not _fresh(sso.auth.auth_time):
        return respond(journeys().begin_account(journey_binding(), url_for("admin.login")))
    if not is_admin(svc.uow, sso.subject_id):
        log_event(log, "admin.login_refused", reason="not_admin")
        return _message("admin_forbidden_title", "admin_forbidden_text", 403)
    if not _acr_ok(svc, sso.auth.acr):
        log_event(log, "admin.login_refused", reason="second_factor_required")
        return _message("admin_forbidden_title", "admin_second_factor_text", 403)
    cookie = new_code()
    session = AdminSession(_session_key(svc, cookie), sso.subject_id, sso.sid, svc.clock.now())
    _save_session(svc, session)
    with svc.uow() as tx:
        who = subject_digest(svc.pepper, sso.subject_id)
        audit(tx, svc.clock.now(), "admin.signed_in", actor=who, acr=sso.auth.acr)
        tx.commit()
    # A page, not a redirect: after a cross-site sign-in chain a SameSite=Strict cookie
    # would not ride on the redirect, and the browser would loop back here.
    response = _message("admin_signed_in_title", "admin_signed_in_text", link=url_for("admin.home"))
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
    svc = services()
    cookie = request.cookies.get(cookie_name(ADMIN_COOKIE), "")
    if _COOKIE_MIN <= len(cookie) <= _COOKIE_MAX:
        svc.ephemeral.delete(SESSION_NAMESPACE, _session_key(svc, cookie))
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
            return _message("admin_invite_title", "admin_invite_invalid", 404)
        key = keyed_digest(svc.pepper, "admin_invite_stash", journey_binding())
        svc.ephemeral.put(
            INVITE_NAMESPACE, key, link_token.encode(), svc.config.session.journey_ttl_seconds
        )
        return see_other(url_for("admin.invite"), 303)
    token = _stashed_invite()
    if token is None or not invite_usable(svc.uow, svc.clock, svc.pepper, token):
        return _message("admin_invite_title", "admin_invite_invalid", 404)
    sso = sso_sessions().current(read_session_cookie())
    signed_in = sso is not None and _fresh(sso.auth.auth_time)
    body = render_template("admin_invite.html", signed_in=signed_in)
    return Response(body, mimetype="text/html")


@bp.get("/invite/sign-in")
def invite_signin() -> Response:
    return respond(journeys().begin_account(journey_binding(), url_for("admin.invite")))


@bp.post("/invite")
def invite_accept() -> Response:
    """Accept the stashed invite as the person signed in now (one use, audited)."""
    svc = services()
    token = _stashed_invite()
    sso = sso_sessions().current(read_session_cookie())
    if token is None or sso is None or not _fresh(sso.auth.auth_time):
        return _message("admin_invite_title", "admin_invite_invalid", 403)
    if not _acr_ok(svc, sso.auth.acr):
        return _message("admin_forbidden_title", "admin_second_factor_text", 403)
    try:
        accept_invite(svc.uow, svc.clock, svc.pepper, token, sso.subject_id)
    except InviteRejected as exc:
        log_event(log, "admin.invite_rejected", reason=exc.reason)
        return _message("admin_invite_title", "admin_invite_invalid", 403)
    svc.ephemeral.delete(INVITE_NAMESPACE, _invite_key())
    return see_other(url_for("admin.login"), 303)


# --------------------------------------------------------------------------- pages


@bp.get("/")
def home() -> Response:
    return _page("admin_home.html")


def _client_list() -> list[Client]:
    with services().uow(read_only=True) as tx:
        return sorted(tx.clients.list(), key=lambda c: c.client_id)


@bp.get("/clients")
def clients_page() -> Response:
    return _page("admin_clients.html", clients=_client_list(), catalogue=services().config.scopes)


def _token_format(value: str) -> TokenFormat:
    try:
        return TokenFormat(value)
    except ValueError:
        raise ValidationFailed(["token_format: jwt or opaque"]) from None


def _register(data: dict[str, Any]) -> tuple[Client, str | None]:
    svc = services()
    client_id = _str(data, "client_id", required=True, limit=128)
    client = Client(
        client_id=client_id,
        redirect_uris=_str_list(data, "redirect_uris") or (),
        scopes=_str_list(data, "scopes") or ("openid",),
        grant_types=_str_list(data, "grant_types") or ("authorization_code", "refresh_token"),
        name=_str(data, "name") or client_id,
        token_endpoint_auth_method=_str(data, "token_endpoint_auth_method")
        or "client_secret_basic",
        token_format=_token_format(_str(data, "token_format") or "jwt"),
        post_logout_redirect_uris=_str_list(data, "post_logout_redirect_uris") or (),
        backchannel_logout_uri=_str(data, "backchannel_logout_uri") or None,
        introspection_allowed=bool(data.get("introspection_allowed", False)),
    )
    stored, secret = register_client(
        svc.uow, svc.clock, svc.pepper, svc.config.scopes, client, None
    )
    with svc.uow() as tx:
        audit(tx, svc.clock.now(), "admin.client_registered", client_id=client_id, actor=actor())
        tx.commit()
    return stored, secret


@bp.post("/clients")
def clients_register() -> Response:
    data = {
        "client_id": request.form.get("client_id", ""),
        "name": request.form.get("name", ""),
        "redirect_uris": list(_lines(request.form.get("redirect_uris", ""))),
        "scopes": list(_form_scopes()),
        "introspection_allowed": request.form.get("introspection_allowed") == "1",
    }
    try:
        client, secret = _register(data)
    except (ValidationFailed, Conflict) as exc:
        problems = exc.problems if isinstance(exc, ValidationFailed) else [str(exc)]
        return _page(
            "admin_clients.html",
            400,
            clients=_client_list(),
            catalogue=services().config.scopes,
            problems=problems,
        )
    _flash("admin_client_registered", client_id=client.client_id, secret=secret)
    return see_other(url_for("admin.client_page", client_id=client.client_id), 303)


def _client_or_404(client_id: str) -> Client:
    with services().uow(read_only=True) as tx:
        client = tx.clients.get(client_id) if len(client_id) <= 255 else None
    if client is None:
        raise NotFound("client not found")
    return client


@bp.get("/clients/<client_id>")
def client_page(client_id: str) -> Response:
    try:
        client = _client_or_404(client_id)
    except NotFound:
        return _message("error_title", "error_not_found", 404)
    return _page("admin_client.html", client=client, catalogue=services().config.scopes)


@bp.post("/clients/<client_id>")
def client_update(client_id: str) -> Response:
    svc = services()
    changes: dict[str, object] = {
        "redirect_uris": _lines(request.form.get("redirect_uris", "")),
        "scopes": _form_scopes(),
    }
    name = request.form.get("name", "").strip()
    if name:
        changes["name"] = name
    try:
        _, revoked = change_client(
            svc.uow, svc.clock, svc.config.scopes, client_id, changes, actor(), _revoker(svc)
        )
    except NotFound:
        return _message("error_title", "error_not_found", 404)
    except ValidationFailed as exc:
        client = _client_or_404(client_id)
        return _page(
            "admin_client.html",
            400,
            client=client,
            catalogue=svc.config.scopes,
            problems=exc.problems,
        )
    _flash("admin_client_updated", grants=revoked)
    return see_other(url_for("admin.client_page", client_id=client_id), 303)


@bp.post("/clients/<client_id>/rotate-secret")
def client_rotate(client_id: str) -> Response:
    svc = services()
    try:
        secret = rotate_client_secret(svc.uow, svc.clock, svc.pepper, client_id, actor=actor())
    except NotFound:
        return _message("error_title", "error_not_found", 404)
    _flash("admin_secret_rotated", secret=secret)
    return see_other(url_for("admin.client_page", client_id=client_id), 303)


@bp.post("/clients/<client_id>/disable")
def client_disable(client_id: str) -> Response:
    svc = services()
    try:
        _, revoked = disable_client(svc.uow, svc.clock, client_id, actor(), _revoker(svc))
    except NotFound:
        return _message("error_title", "error_not_found", 404)
    _flash("admin_client_disabled", grants=revoked)
    return see_other(url_for("admin.client_page", client_id=client_id), 303)


@bp.post("/clients/<client_id>/enable")
def client_enable(client_id: str) -> Response:
    svc = services()
    try:
        set_client_disabled(svc.uow, svc.clock, client_id, False, actor=actor())
    except NotFound:
        return _message("error_title", "error_not_found", 404)
    _flash("admin_client_enabled")
    return see_other(url_for("admin.client_page", client_id=client_id), 303)


def _policies_page(status: int = 200, **context: Any) -> Response:
    svc = services()
    active = show_document(svc.uow)
    context.setdefault("text", active.text)
    return _page(
        "admin_policies.html",
        status,
        active=active,
        history=policy_history(svc.uow, 50),
        **context,
    )


@bp.get("/policies")
def policies_page() -> Response:
    return _policies_page()


def _posted_text() -> str:
    return request.form.get("text", "").replace("\r\n", "\n")


@bp.post("/policies/validate")
def policies_validate() -> Response:
    svc = services()
    text = _posted_text()
    report = validate_document(svc.uow, svc.config.scopes, text)
    return _policies_page(200 if report.ok else 400, text=text, report=report)


@bp.post("/policies/dry-run")
def policies_dry_run() -> Response:
    text = _posted_text()
    try:
        report = _dry_run(text)
    except ValidationFailed as exc:
        return _policies_page(400, text=text, problems=exc.problems)
    return _policies_page(text=text, dry_run=report.to_dict())


@bp.post("/policies/apply")
def policies_apply() -> Response:
    svc = services()
    text = _posted_text()
    try:
        record = apply_document(
            svc.uow,
            svc.clock,
            svc.config.scopes,
            text,
            actor(),
            request.form.get("comment", ""),
            rule_documents(svc),
        )
    except ValidationFailed as exc:
        return _policies_page(400, text=text, problems=exc.problems)
    _flash("admin_policy_applied", version=record.version)
    return see_other(url_for("admin.policies_page"), 303)


@bp.get("/policies/<int:version>")
def policy_page(version: int) -> Response:
    try:
        shown = show_document(services().uow, version)
    except NotFound:
        return _message("error_title", "error_not_found", 404)
    return _page("admin_policy.html", shown=shown)


@bp.post("/policies/<int:version>/rollback")
def policy_rollback(version: int) -> Response:
    svc = services()
    try:
        record = rollback_document(
            svc.uow,
            svc.clock,
            svc.config.scopes,
            version,
            actor(),
            request.form.get("comment", ""),
            rule_documents(svc),
        )
    except NotFound:
        return _message("error_title", "error_not_found", 404)
    except ValidationFailed as exc:
        return _policies_page(400, problems=exc.problems)
    _flash("admin_policy_applied", version=record.version)
    return see_other(url_for("admin.policies_page"), 303)


def _explain(query: ExplainQuery) -> dict[str, Any]:
    svc = services()
    subject_id = resolve_subject(svc.uow, svc.pepper, query.subject)
    if subject_id is None:
        raise NotFound("subject not found")
    explanation = explain_query(
        svc.uow,
        svc.clock,
        svc.pepper,
        svc.config.scopes,
        rule_documents(svc),
        dataclasses.replace(query, subject=subject_id),
        age_reader(svc),
    )
    with svc.uow() as tx:
        audit(
            tx,
            svc.clock.now(),
            "policy.explained",
            client_id=query.client_id[:255],
            subject=subject_digest(svc.pepper, subject_id),
            decision=explanation.decision.reason,
            actor=actor(),
        )
        tx.commit()
    return explanation.to_dict()


def _dry_run(text: str) -> Any:
    svc = services()
    report = dry_run_text(
        svc.uow,
        svc.clock,
        svc.pepper,
        svc.config.scopes,
        rule_documents(svc),
        text,
        age_reader(svc),
    )
    with svc.uow() as tx:
        audit(
            tx,
            svc.clock.now(),
            "policy.dry_run",
            cases=report.cases,
            changed=len(report.changes),
            actor=actor(),
        )
        tx.commit()
    return report


@bp.get("/explain")
def explain_page() -> Response:
    return _page("admin_explain.html", acr_values=ACR_VALUES, form={})


@bp.post("/explain")
def explain_run() -> Response:
    form = {
        k: request.form.get(k, "").strip()
        for k in ("client_id", "subject", "scope", "acting_for", "acr")
    }
    query = ExplainQuery(
        client_id=form["client_id"],
        subject=form["subject"],
        scopes=tuple(dict.fromkeys(form["scope"].split())),
        acting_for=form["acting_for"] or None,
        acr=form["acr"] or ACR_ESIA,
    )
    try:
        result = _explain(query)
    except ValidationFailed as exc:
        return _page(
            "admin_explain.html", 400, acr_values=ACR_VALUES, form=form, problems=exc.problems
        )
    except NotFound:
        return _page(
            "admin_explain.html",
            404,
            acr_values=ACR_VALUES,
            form=form,
            problems=["subject not found"],
        )
    return _page("admin_explain.html", acr_values=ACR_VALUES, form=form, result=result)


def _consent_filters(args: Any) -> dict[str, Any]:
    subject = str(args.get("subject", "")).strip()
    if subject and not looks_like_digest(subject):
        raise ValidationFailed(["subject: a subject digest (32 hex characters)"])
    client_id = str(args.get("client_id", "")).strip()[:255]
    try:
        limit = int(args.get("limit", "100"))
    except ValueError:
        raise ValidationFailed(["limit: a number"]) from None
    return {
        "client_id": client_id or None,
        "subject": subject or None,
        "include_revoked": str(args.get("include_revoked", "")) in ("1", "true"),
        "limit": max(1, min(limit, 500)),
    }


@bp.get("/consents")
def consents_page() -> Response:
    svc = services()
    try:
        filters = _consent_filters(request.args)
    except ValidationFailed as exc:
        return _page("admin_consents.html", 400, consents=[], filters={}, problems=exc.problems)
    records = search_consents(svc.uow, svc.pepper, **filters)
    return _page("admin_consents.html", consents=records, filters=filters)


@bp.post("/consents/<consent_id>/revoke")
def consent_revoke(consent_id: str) -> Response:
    svc = services()
    try:
        revoked = revoke_consent(svc.uow, svc.clock, svc.pepper, consent_id, actor(), _revoker(svc))
    except NotFound:
        return _message("error_title", "error_not_found", 404)
    _flash("admin_consent_revoked", grants=revoked)
    return see_other(url_for("admin.consents_page"), 303)


def _audit_events(args: Any) -> list[dict[str, Any]]:
    event = str(args.get("event", "")).strip()[:128]
    since = _date(str(args.get("since", "")), "since")
    until = _date(str(args.get("until", "")), "until", end=True)
    try:
        limit = max(1, min(int(args.get("limit", "200")), 1000))
    except ValueError:
        raise ValidationFailed(["limit: a number"]) from None
    rows: list[dict[str, Any]] = []
    with services().uow(read_only=True) as tx:
        for ev in tx.audit.iter_all():
            if event and not (ev.event == event or ev.event.startswith(event + ".")):
                continue
            if (since is not None and ev.at < since) or (until is not None and ev.at >= until):
                continue
            rows.append(
                {
                    "seq": ev.seq,
                    "at": ev.at,
                    "event": ev.event,
                    "fields": ev.fields,
                    "hash": ev.hash,
                }
            )
    rows.reverse()
    return rows[:limit]


def _date(value: str, name: str, end: bool = False) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        day = datetime.strptime(value[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValidationFailed([f"{name}: a date YYYY-MM-DD"]) from None
    return day.timestamp() + (86400 if end else 0)


@bp.get("/audit")
def audit_page() -> Response:
    try:
        events = _audit_events(request.args)
    except ValidationFailed as exc:
        return _page("admin_audit.html", 400, events=[], args=request.args, problems=exc.problems)
    return _page("admin_audit.html", events=events, args=request.args)


@bp.get("/audit/verify")
def audit_verify_page() -> Response:
    report = verify_audit_chain(services().uow)
    return _page("admin_audit.html", events=[], args={}, chain=report)


@bp.get("/keys")
def keys_page() -> Response:
    return _page("admin_keys.html", keys=list_signing_keys(services().keys))


@bp.post("/keys/rotate")
def keys_rotate() -> Response:
    svc = services()
    alg = request.form.get("alg") or None
    try:
        changes = rotate_signing_keys(svc.keys, svc.uow, svc.clock, alg, actor())
    except ValueError:
        return _message("error_title", "error_bad_request", 400)
    _flash("admin_keys_rotated", changes=changes)
    return see_other(url_for("admin.keys_page"), 303)


# --------------------------------------------------------------------------- JSON API


@bp.get("/openapi.json")
@json_errors
def openapi() -> Response:
    return _json(openapi_document(services().config.server.issuer))


@bp.get("/api/session")
@_api
def api_session() -> Response:
    svc = services()
    admin = current_admin()
    return _json(
        {
            "subject": subject_digest(svc.pepper, admin.subject_id),
            "csrf_token": csrf_token(admin.csrf_binding()),
            "idle_seconds": svc.config.session.admin_idle_seconds,
        }
    )


@bp.get("/api/clients")
@_api
def api_clients() -> Response:
    return _json({"clients": [describe_client(c) for c in _client_list()]})


@bp.post("/api/clients")
@_api
def api_clients_register() -> Response:
    client, secret = _register(_body())
    return _json({"client": describe_client(client), "client_secret": secret}, 201)


@bp.get("/api/clients/<client_id>")
@_api
def api_client(client_id: str) -> Response:
    return _json(describe_client(_client_or_404(client_id)))


@bp.post("/api/clients/<client_id>")
@_api
def api_client_update(client_id: str) -> Response:
    svc = services()
    data = _body()
    allowed = {"redirect_uris", "scopes", "name", "post_logout_redirect_uris"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed([f"{k}: cannot be changed here" for k in unknown])
    changes: dict[str, object] = {}
    for key in ("redirect_uris", "scopes", "post_logout_redirect_uris"):
        values = _str_list(data, key)
        if values is not None:
            changes[key] = values
    if "name" in data:
        changes["name"] = _str(data, "name", required=True)
    client, revoked = change_client(
        svc.uow, svc.clock, svc.config.scopes, client_id, changes, actor(), _revoker(svc)
    )
    return _json({"client": describe_client(client), "grants_revoked": revoked})


@bp.post("/api/clients/<client_id>/rotate-secret")
@_api
def api_client_rotate(client_id: str) -> Response:
    svc = services()
    secret = rotate_client_secret(svc.uow, svc.clock, svc.pepper, client_id, actor=actor())
    return _json({"client_id": client_id, "client_secret": secret})


@bp.post("/api/clients/<client_id>/disable")
@_api
def api_client_disable(client_id: str) -> Response:
    svc = services()
    client, revoked = disable_client(svc.uow, svc.clock, client_id, actor(), _revoker(svc))
    return _json({"client": describe_client(client), "grants_revoked": revoked})


@bp.post("/api/clients/<client_id>/enable")
@_api
def api_client_enable(client_id: str) -> Response:
    svc = services()
    client = set_client_disabled(svc.uow, svc.clock, client_id, False, actor=actor())
    return _json({"client": describe_client(client)})


@bp.get("/api/policies")
@_api
def api_policies() -> Response:
    svc = services()
    active = show_document(svc.uow)
    return _json(
        {
            "active_version": active.version,
            "versions": [record_dict(r) for r in policy_history(svc.uow, 100)],
        }
    )


@bp.post("/api/policies")
@_api
def api_policies_apply() -> Response:
    svc = services()
    data = _body()
    record = apply_document(
        svc.uow,
        svc.clock,
        svc.config.scopes,
        _str(data, "text", required=True, limit=256 * 1024),
        actor(),
        _str(data, "comment", limit=500),
        rule_documents(svc),
    )
    return _json(record_dict(record), 201)


@bp.get("/api/policies/active")
@_api
def api_policy_active() -> Response:
    return _json(show_document(services().uow).to_dict())


@bp.get("/api/policies/<int:version>")
@_api
def api_policy(version: int) -> Response:
    return _json(show_document(services().uow, version).to_dict())


@bp.post("/api/policies/<int:version>/rollback")
@_api
def api_policy_rollback(version: int) -> Response:
    svc = services()
    data = request.get_json(silent=True) or {}
    comment = _str(data, "comment", limit=500) if isinstance(data, dict) else ""
    record = rollback_document(
        svc.uow, svc.clock, svc.config.scopes, version, actor(), comment, rule_documents(svc)
    )
    return _json(record_dict(record), 201)


@bp.post("/api/policies/validate")
@_api
def api_policies_validate() -> Response:
    svc = services()
    text = _str(_body(), "text", required=True, limit=256 * 1024)
    return _json(validate_document(svc.uow, svc.config.scopes, text).to_dict())


@bp.post("/api/policies/dry-run")
@_api
def api_policies_dry_run() -> Response:
    text = _str(_body(), "text", required=True, limit=256 * 1024)
    return _json(_dry_run(text).to_dict())


@bp.post("/api/policies/explain")
@_api
def api_policies_explain() -> Response:
    data = _body()
    scopes = _str_list(data, "scopes") or ()
    acr = _str(data, "acr") or ACR_ESIA
    query = ExplainQuery(
        client_id=_str(data, "client_id", required=True),
        subject=_str(data, "subject", required=True, limit=64),
        scopes=scopes,
        acting_for=_str(data, "acting_for", limit=64) or None,
        acr=acr,
    )
    return _json(_explain(query))


@bp.get("/api/consents")
@_api
def api_consents() -> Response:
    svc = services()
    records = search_consents(svc.uow, svc.pepper, **_consent_filters(request.args))
    return _json({"consents": [r.to_dict() for r in records]})


@bp.post("/api/consents/<consent_id>/revoke")
@_api
def api_consent_revoke(consent_id: str) -> Response:
    svc = services()
    revoked = revoke_consent(svc.uow, svc.clock, svc.pepper, consent_id, actor(), _revoker(svc))
    return _json({"consent_id": consent_id, "grants_revoked": revoked})


@bp.get("/api/audit")
@_api
def api_audit() -> Response:
    return _json({"events": _audit_events(request.args)})


@bp.get("/api/audit/verify")
@_api
def api_audit_verify() -> Response:
    report = verify_audit_chain(services().uow)
    problems = [{"seq": p.seq, "problem": p.problem} for p in report.problems]
    return _json({"ok": report.ok, "rows": report.rows, "head": report.head, "problems": problems})


@bp.get("/api/keys")
@_api
def api_keys() -> Response:
    return _json({"keys": list_signing_keys(services().keys)})


@bp.post("/api/keys/rotate")
@_api
def api_keys_rotate() -> Response:
    svc = services()
    data = request.get_json(silent=True) or {}
    alg = _str(data, "alg", limit=16) if isinstance(data, dict) else ""
    if alg and alg not in ("RS256", "ES256"):
        raise ValidationFailed(["alg: RS256 or ES256"])
    changes = rotate_signing_keys(svc.keys, svc.uow, svc.clock, alg or None, actor())
    return _json({"changes": changes})
