"""Link applications: the review queue ``/admin/applications``, one application
``/admin/applications/<id>`` (the child's data, failed checks, documents, history and the
three decisions), the scan download (``Content-Disposition: attachment``, never inline,
only here) and the API under ``/admin/api/applications``
(:mod:`gateway.admin.applications`). A reviewer deciding about their own child is refused
(409 in the API, a message page in the admin pages) and audited."""

from __future__ import annotations

from flask import Response
from flask import request
from flask import url_for

from gateway.admin.applications import NotOpen
from gateway.admin.applications import OwnChild
from gateway.admin.applications import Reviewer
from gateway.core.applications import RejectReason
from gateway.core.errors import NotFound
from gateway.core.errors import ValidationFailed
from gateway.http.admin.common import api_view
from gateway.http.admin.common import bp
from gateway.http.admin.common import current_admin
from gateway.http.admin.common import flash
from gateway.http.admin.common import message
from gateway.http.admin.common import page
from gateway.http.admin.common import to_json
from gateway.http.admin.forms import json_body
from gateway.http.admin.forms import str_field
from gateway.http.deps import services
from gateway.http.session_cookie import see_other

MAX_ID = 64


def _reviewer() -> Reviewer:
    return services().reviews.reviewer(current_admin().subject_id)


@bp.get("/applications")
def applications_page() -> Response:
    return page("admin_applications.html", queue=services().reviews.queue())


@bp.get("/applications/<application_id>")
def application_page(application_id: str) -> Response:
    try:
        details = services().reviews.show(application_id)
    except NotFound:
        return message("error_title", "error_not_found", 404)
    return page("admin_application.html", app=details, reasons=[r.value for r in RejectReason])


@bp.get("/applications/<application_id>/documents/<document_id>")
def application_document(application_id: str, document_id: str) -> Response:
    try:
        media_type, content = services().reviews.document(application_id, document_id)
    except NotFound:
        return message("error_title", "error_not_found", 404)
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
        media_type, "bin"
    )
    response = Response(content, mimetype=media_type)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="application-{document_id[:12]}.{extension}"'
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _decide_page(application_id: str, action: str) -> Response:
    reviews = services().reviews
    who = _reviewer()
    note = request.form.get("note", "")
    try:
        if action == "approve":
            reviews.approve(application_id, who)
            flash("admin_app_approved")
        elif action == "reject":
            reviews.reject(application_id, who, request.form.get("reason", ""), note)
            flash("admin_app_rejected")
        else:
            reviews.ask_document(application_id, who, note)
            flash("admin_app_asked")
    except NotFound:
        return message("error_title", "error_not_found", 404)
    except OwnChild:
        return message("admin_applications", "admin_app_own_child", 403)
    except NotOpen:
        return message("admin_applications", "admin_app_not_open", 409)
    except ValidationFailed as exc:
        details = reviews.show(application_id)
        reasons = [r.value for r in RejectReason]
        return page(
            "admin_application.html", 400, app=details, reasons=reasons, problems=exc.problems
        )
    return see_other(url_for("admin.application_page", application_id=application_id), 303)


@bp.post("/applications/<application_id>/approve")
def application_approve(application_id: str) -> Response:
    return _decide_page(application_id, "approve")


@bp.post("/applications/<application_id>/reject")
def application_reject(application_id: str) -> Response:
    return _decide_page(application_id, "reject")


@bp.post("/applications/<application_id>/ask-document")
def application_ask_document(application_id: str) -> Response:
    return _decide_page(application_id, "ask")


# --------------------------------------------------------------------------- API


def _conflicts(error: Exception) -> Response:
    if isinstance(error, OwnChild):
        body = {
            "error": "own_child",
            "error_description": "A reviewer cannot decide about their own child.",
        }
        return to_json(body, 409)
    return to_json({"error": "not_open", "error_description": "Decided already."}, 409)


@bp.get("/api/applications")
@api_view
def api_applications() -> Response:
    return to_json({"applications": [row.as_json() for row in services().reviews.queue()]})


@bp.get("/api/applications/<application_id>")
@api_view
def api_application(application_id: str) -> Response:
    return to_json(services().reviews.show(application_id).as_json())


@bp.post("/api/applications/<application_id>/approve")
@api_view
def api_application_approve(application_id: str) -> Response:
    try:
        app = services().reviews.approve(application_id, _reviewer())
    except (OwnChild, NotOpen) as error:
        return _conflicts(error)
    return to_json({"application_id": app.application_id, "status": str(app.status)})


@bp.post("/api/applications/<application_id>/reject")
@api_view
def api_application_reject(application_id: str) -> Response:
    data = json_body()
    reason = str_field(data, "reason", required=True, limit=32)
    note = str_field(data, "note", limit=1000)
    try:
        app = services().reviews.reject(application_id, _reviewer(), reason, note)
    except (OwnChild, NotOpen) as error:
        return _conflicts(error)
    return to_json({"application_id": app.application_id, "status": str(app.status)})


@bp.post("/api/applications/<application_id>/ask-document")
@api_view
def api_application_ask_document(application_id: str) -> Response:
    note = str_field(json_body(), "note", required=True, limit=1000)
    try:
        app = services().reviews.ask_document(application_id, _reviewer(), note)
    except (OwnChild, NotOpen) as error:
        return _conflicts(error)
    return to_json({"application_id": app.application_id, "status": str(app.status)})
