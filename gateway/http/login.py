"""Blueprint ``login``: the browser side of the login journey.

* :func:`start_journey` — called by ``/authorize`` (``gateway.http.oauth``) with the
  validated request; without a usable SSO session it sends the browser straight to the
  upstream (one fixed callback URI per upstream).
* ``GET /login/callback/<provider>`` — the upstream's callback; the journey is found
  through the upstream ``state`` and checked against this browser's binding cookie.
* ``GET /login/<jid>/denied`` + ``POST /login/<jid>/abort`` — a denial explained to the
  person (e.g. an unconfirmed account), then ``access_denied`` for the client.

Every journey step ends in :func:`respond`, which turns a :class:`Step` into a redirect,
a page, or — through ``gateway.http.authz_response`` — the answer to the client. After a
POST every redirect is a 303 (SECURITY.md T12).
"""

from __future__ import annotations

import logging

from flask import Blueprint
from flask import Response
from flask import render_template
from flask import request
from flask import url_for

from gateway.core.errors import JourneyRejected
from gateway.core.types import AuthorizationRequest
from gateway.core.types import JourneyKind
from gateway.http.authz_response import authorization_error
from gateway.http.authz_response import authorization_success
from gateway.http.deps import services
from gateway.http.errors import error_page
from gateway.http.i18n import DEFAULT_LANGUAGE
from gateway.http.i18n import catalogue
from gateway.http.session_cookie import journey_binding
from gateway.http.session_cookie import read_binding
from gateway.http.session_cookie import read_session_cookie
from gateway.http.session_cookie import see_other
from gateway.http.session_cookie import set_new_binding
from gateway.http.session_cookie import set_session_cookie
from gateway.journey.service import JourneyService
from gateway.journey.service import Step
from gateway.journey.service import StepKind
from gateway.journey.sessions import EphemeralSsoSessions

log = logging.getLogger(__name__)

bp = Blueprint("login", __name__)
bp.after_app_request(set_new_binding)

_REDIRECTS = (301, 302, 303, 307, 308)


def journeys() -> JourneyService:
    return services().journeys


def sso_sessions() -> EphemeralSsoSessions:
    return services().sso_sessions


def start_journey(req: AuthorizationRequest) -> Response:
    """Begin the login for a validated authorization request (the seam with /authorize)."""
    session = sso_sessions().current(read_session_cookie())
    return respond(journeys().begin(req, session, journey_binding()))


def respond(step: Step) -> Response:
    """What the browser gets for a journey step."""
    response = _respond(step)
    if request.method == "POST" and response.status_code in _REDIRECTS:
        response.status_code = 303
    return response


def _respond(step: Step) -> Response:
    if step.kind is StepKind.UPSTREAM:
        if step.location is None:  # pragma: no cover - begin() always sets it
            raise RuntimeError("an upstream step without the upstream's URL")
        return see_other(step.location)
    if step.kind is StepKind.CONSENT:
        return see_other(url_for("consent.consent", jid=step.jid))
    if step.kind is StepKind.FACTOR:
        return see_other(url_for("factors.factor", jid=step.jid))
    if step.kind is StepKind.CHILD:
        return see_other(url_for("child_choice.choice", jid=step.jid))
    if step.kind is StepKind.PAGE:
        return see_other(url_for("login.denied", jid=step.jid))
    if step.kind is StepKind.FINISH:
        return _finish(step)
    if step.request is not None and step.error is not None:
        return authorization_error(step.request, step.error)
    return failure_page(step.reason)


def failure_page(reason: str | None) -> Response:
    """The page for a failed journey that has no client to answer (vhod's own pages): the
    upstream's explanation when its reason has one (``upstream_denied:esia_cancelled`` →
    the ``esia_cancelled`` texts registered by ``gateway.app``), else the generic page."""
    kind, _, detail = (reason or "").partition(":")
    if kind.startswith("upstream_") and f"{detail}_title" in catalogue()[DEFAULT_LANGUAGE]:
        return error_page(503 if kind == "upstream_unavailable" else 403, f"{detail}_title", detail)
    return error_page(403, "login_failed_title", "login_failed_text")


def _finish(step: Step) -> Response:
    done = journeys().finish(step, read_binding(), read_session_cookie())
    if done.kind is JourneyKind.ACCOUNT:
        response = see_other(done.return_to or url_for("account.home"))
    elif done.request is None:
        response = error_page(400, "login_failed_title", "login_failed_text")
    elif done.error is not None or done.outcome is None:
        error = done.error
        if error is None:  # pragma: no cover - finish() always sets one of the two
            raise RuntimeError("journey finished without an outcome")
        response = authorization_error(done.request, error)
    else:
        response = authorization_success(done.request, done.outcome, done.session)
    if done.session_cookie is not None:
        set_session_cookie(response, done.session_cookie)
    return response


def rejected_page(err: JourneyRejected) -> Response:
    """The one page for a journey that cannot be resumed (the reason goes to the log)."""
    return error_page(400, "login_expired_title", "login_expired_text")


@bp.errorhandler(JourneyRejected)
def _rejected(err: JourneyRejected) -> Response:
    return rejected_page(err)


@bp.get("/login/callback/<provider>")
def callback(provider: str) -> Response:
    params = {k: v for k, v in request.args.items() if len(v) <= 4096}
    return respond(journeys().complete_upstream(provider, params, read_binding()))


@bp.get("/login/<jid>/denied")
def denied(jid: str) -> Response:
    service = journeys()
    binding = read_binding()
    reason = service.failure_reason(jid, binding) or "access_denied"
    token = service.page_token(jid, binding)
    body = render_template("login_denied.html", jid=jid, reason=reason, step_token=token)
    return Response(body, status=403, mimetype="text/html")


@bp.post("/login/<jid>/abort")
def abort_journey(jid: str) -> Response:
    step = journeys().abort(jid, read_binding(), request.form.get("step", ""))
    return respond(step)
