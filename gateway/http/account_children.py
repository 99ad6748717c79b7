"""Blueprint ``account_children``: «Мои дети» on vhod's own pages (``/account/children``).

The parent's linked children (first name, school, class, how the link was proven), the
kids that did not match with what to do, an "unlink" form per child and, for a child
under 14, one form per school system of the child's school: «Разрешить школьной системе
…» (a guardian consent for the child's own login) or withdraw it. Forms are POST,
CSRF-protected (the gateway-wide check), answered 303; every change is audited by
:class:`gateway.journey.children.ChildrenAccount`. A link id that is not the signed-in
parent's usable link — another parent's, ended, or unknown — is the same 404 page
(SECURITY.md T94). No JavaScript; the page fits 360 px.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask import url_for

from gateway.core.errors import NotFound
from gateway.http.deps import services
from gateway.http.login import respond
from gateway.http.login import sso_sessions
from gateway.http.session_cookie import journey_binding
from gateway.http.session_cookie import read_session_cookie
from gateway.http.session_cookie import see_other

bp = Blueprint("account_children", __name__)

PAGE = "/account/children"
MAX_ID = 64
MAX_CLIENT_ID = 255


def _signed_in() -> str | None:
    session = sso_sessions().current(read_session_cookie())
    return None if session is None else session.subject_id


@bp.get(PAGE)
def page() -> Response:
    parent_id = _signed_in()
    if parent_id is None:
        return respond(services().journeys.begin_account(journey_binding(), "/account"))
    view = services().children.overview(parent_id)
    body = render_template("account_children.html", view=view)
    return Response(body, mimetype="text/html")


def _field(name: str, limit: int) -> str:
    value = request.form.get(name, "")
    if not value or len(value) > limit:
        abort(404)
    return value


@bp.post(f"{PAGE}/unlink")
def unlink() -> Response:
    parent_id = _signed_in()
    if parent_id is None:
        return see_other(url_for("account.login"), code=303)
    try:
        services().children.unlink(parent_id, _field("guardianship_id", MAX_ID))
    except NotFound:
        abort(404)
    return see_other(url_for("account_children.page"), code=303)


@bp.post(f"{PAGE}/consent")
def consent() -> Response:
    parent_id = _signed_in()
    if parent_id is None:
        return see_other(url_for("account.login"), code=303)
    granted = request.form.get("action") == "grant"
    try:
        services().children.set_consent(
            parent_id,
            _field("guardianship_id", MAX_ID),
            _field("client_id", MAX_CLIENT_ID),
            granted,
        )
    except NotFound:
        abort(404)
    return see_other(url_for("account_children.page"), code=303)
