"""The API's own routes: its description (``/admin/openapi.json``) and the admin session
as the API sees it (``/admin/api/session``: who, the CSRF token for ``X-CSRF-Token``, the
idle timeout). The areas' API routes sit next to their pages."""

from __future__ import annotations

from flask import Response

from gateway.admin.openapi import openapi_document
from gateway.admin.subjects import subject_digest
from gateway.http.admin.common import api_view
from gateway.http.admin.common import bp
from gateway.http.admin.common import current_admin
from gateway.http.admin.common import to_json
from gateway.http.deps import services
from gateway.http.errors import json_errors
from gateway.http.security import csrf_token


@bp.get("/openapi.json")
@json_errors
def openapi() -> Response:
    return to_json(openapi_document(services().config.server.issuer))


@bp.get("/api/session")
@api_view
def api_session() -> Response:
    svc = services()
    admin = current_admin()
    return to_json(
        {
            "subject": subject_digest(svc.pepper, admin.subject_id),
            "csrf_token": csrf_token(admin.csrf_binding()),
            "idle_seconds": svc.config.session.admin_idle_seconds,
        }
    )
