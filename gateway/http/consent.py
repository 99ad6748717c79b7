"""Blueprint ``consent``: ``/login/<jid>/consent`` — show, approve, deny.

Per client and per scope (the catalogue's Russian or English description; for a parent
acting for a child, the same page names the child), a CSRF-
protected form (SECURITY.md T68) with a one-time step token; the answer is a 303
(T12). "Deny" ends the login with ``access_denied`` and stores nothing (T11).
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import render_template
from flask import request

from gateway.core.errors import JourneyRejected
from gateway.http.deps import services
from gateway.http.i18n import current_language
from gateway.http.login import journeys
from gateway.http.login import rejected_page
from gateway.http.login import respond
from gateway.http.session_cookie import read_binding

bp = Blueprint("consent", __name__)


@bp.errorhandler(JourneyRejected)
def _rejected(err: JourneyRejected) -> Response:
    return rejected_page(err)


@bp.get("/login/<jid>/consent")
def consent(jid: str) -> Response:
    prompt = journeys().consent_prompt(jid, read_binding())
    catalogue = services().config.scopes
    english = current_language() == "en"
    scopes = [
        {
            "name": name,
            "text": (
                (catalogue[name].description_en if english else catalogue[name].description_ru)
                if name in catalogue
                else name
            ),
            "new": name in prompt.new_scopes,
        }
        for name in prompt.scopes
    ]
    body = render_template("consent_form.html", prompt=prompt, scopes=scopes)
    return Response(body, mimetype="text/html")


@bp.post("/login/<jid>/consent")
def answer(jid: str) -> Response:
    approved = request.form.get("decision") == "approve"
    step = journeys().record_consent(jid, read_binding(), request.form.get("step", ""), approved)
    return respond(step)
