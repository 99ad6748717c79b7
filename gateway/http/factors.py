"""Blueprint ``factors``: ``/login/<jid>/factor`` — the second-factor page of a login.

* ``GET /login/<jid>/factor`` — the factors on offer (the preferred one first) and, once
  one was started, its form: a code field (SMS, e-mail, TOTP, recovery code) or, for a
  push approval, the two digits to compare on the device and a «Проверить» button (the
  page works without JavaScript).
* ``GET /login/<jid>/factor/status`` — JSON for the push page's script, which polls it and
  submits the page's form once the device answered.
* ``POST /login/<jid>/factor/send`` — start (or resend) the factor the person picked;
  codes go only to the channel ESIA verified (SECURITY.md T89). A send limit answers
  429 with ``Retry-After`` and the page says when to try again (T85–T88).
* ``POST /login/<jid>/factor/cancel`` — «Отменить вход»: back to the service, which hears
  ``access_denied``.
* ``POST /login/<jid>/factor`` — the answer; a wrong, expired or used code gets one
  message for every cause (T75); success sends the journey on (303, T12).

Every form is CSRF-protected and carries the journey's one-time step token.
"""

from __future__ import annotations

import math

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import render_template
from flask import request

from gateway.core.errors import FactorFailed
from gateway.core.errors import JourneyRejected
from gateway.core.errors import RateLimited
from gateway.http.deps import client_ip
from gateway.http.deps import services
from gateway.http.login import journeys
from gateway.http.login import rejected_page
from gateway.http.login import respond
from gateway.http.session_cookie import read_binding
from gateway.journey.service import FactorPage

bp = Blueprint("factors", __name__)

PENDING = "pending"
MAX_ANSWER = 64


@bp.errorhandler(JourneyRejected)
def _rejected(err: JourneyRejected) -> Response:
    return rejected_page(err)


def _ip() -> str:
    return client_ip(services().config.server.trusted_proxy_hops)


def _page(page: FactorPage, status: int = 200, **notice: object) -> Response:
    body = render_template("factor_form.html", page=page, **notice)
    response = Response(body, status=status, mimetype="text/html")
    retry_after = notice.get("retry_after")
    if isinstance(retry_after, int):
        response.headers["Retry-After"] = str(retry_after)
    return response


def _limited(jid: str, err: RateLimited) -> Response:
    page = journeys().factor_prompt(jid, read_binding())
    minutes = max(1, math.ceil(err.retry_after / 60))
    return _page(page, 429, notice="factor_limited", retry_after=err.retry_after, minutes=minutes)


@bp.get("/login/<jid>/factor")
def factor(jid: str) -> Response:
    return _page(journeys().factor_prompt(jid, read_binding()))


@bp.get("/login/<jid>/factor/status")
def status(jid: str) -> Response:
    """``{"state": "pending" | "approved" | "denied" | "expired" | "none"}`` for the push
    page's script (``static/factor-wait.js``), which submits the page's form once the
    device answered; without JavaScript the person presses the button."""
    return jsonify({"state": journeys().factor_status(jid, read_binding())})


@bp.post("/login/<jid>/factor/send")
def send(jid: str) -> Response:
    binding = read_binding()
    kind = request.form.get("kind", "")[:MAX_ANSWER]
    try:
        page = journeys().start_factor(jid, binding, request.form.get("step", ""), kind, _ip())
    except RateLimited as err:
        return _limited(jid, err)
    except FactorFailed:
        return _page(journeys().factor_prompt(jid, binding), 400, notice="factor_failed")
    return _page(page, notice="factor_sent" if page.challenge and page.challenge.hint else None)


@bp.post("/login/<jid>/factor")
def answer(jid: str) -> Response:
    binding = read_binding()
    code = "".join(request.form.get("code", "").split())[:MAX_ANSWER]
    try:
        step = journeys().complete_factor(jid, binding, request.form.get("step", ""), code, _ip())
    except RateLimited as err:
        return _limited(jid, err)
    except FactorFailed as err:
        pending = err.reason == PENDING
        page = journeys().factor_prompt(jid, binding)
        return _page(
            page, 200 if pending else 400, notice="factor_waiting" if pending else "factor_failed"
        )
    return respond(step)


@bp.post("/login/<jid>/factor/cancel")
def cancel(jid: str) -> Response:
    return respond(journeys().cancel_factor(jid, read_binding(), request.form.get("step", "")))
