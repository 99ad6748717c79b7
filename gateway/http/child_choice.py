"""Blueprint ``child_choice``: ``/login/<jid>/child`` — whom a parent signs in for.

* ``GET /login/<jid>/child`` — the children the parent may act for at this school system
  (first name, school, class), one button each; works without JavaScript.
* ``POST /login/<jid>/child`` — the choice (``child`` = the link's id, with the page's
  one-time step token and the CSRF token); the journey goes on (303, SECURITY.md T12).
  A child that is not one of this parent's here — another parent's, ended, or made up —
  gets the same 404 page with the list again (T94).
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import render_template
from flask import request

from gateway.core.errors import JourneyRejected
from gateway.core.errors import NotFound
from gateway.http.login import journeys
from gateway.http.login import rejected_page
from gateway.http.login import respond
from gateway.http.session_cookie import read_binding
from gateway.journey.service import ChildChoicePage

bp = Blueprint("child_choice", __name__)


@bp.errorhandler(JourneyRejected)
def _rejected(err: JourneyRejected) -> Response:
    return rejected_page(err)


def _page(page: ChildChoicePage, status: int = 200, notice: str | None = None) -> Response:
    body = render_template("child_choice.html", page=page, notice=notice)
    return Response(body, status=status, mimetype="text/html")


@bp.get("/login/<jid>/child")
def choice(jid: str) -> Response:
    return _page(journeys().child_prompt(jid, read_binding()))


@bp.post("/login/<jid>/child")
def answer(jid: str) -> Response:
    binding = read_binding()
    token = request.form.get("step", "")
    try:
        step = journeys().choose_child(jid, binding, token, request.form.get("child", ""))
    except NotFound:
        page = journeys().child_prompt(jid, binding)
        return _page(page, 404, notice="choose_child_not_found")
    return respond(step)
