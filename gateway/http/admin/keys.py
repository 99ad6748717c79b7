"""Signing keys: list and rotate — the page ``/admin/keys`` and the API under
``/admin/api/keys``."""

from __future__ import annotations

from flask import Response
from flask import request
from flask import url_for

from gateway.admin.keys import list_signing_keys
from gateway.admin.keys import rotate_signing_keys
from gateway.core.errors import ValidationFailed
from gateway.http.admin.common import actor
from gateway.http.admin.common import api_view
from gateway.http.admin.common import bp
from gateway.http.admin.common import flash
from gateway.http.admin.common import message
from gateway.http.admin.common import page
from gateway.http.admin.common import to_json
from gateway.http.admin.forms import str_field
from gateway.http.deps import services
from gateway.http.session_cookie import see_other


@bp.get("/keys")
def keys_page() -> Response:
    return page("admin_keys.html", keys=list_signing_keys(services().keys))


@bp.post("/keys/rotate")
def keys_rotate() -> Response:
    svc = services()
    alg = request.form.get("alg") or None
    try:
        changes = rotate_signing_keys(svc.keys, svc.uow, svc.clock, alg, actor())
    except ValueError:
        return message("error_title", "error_bad_request", 400)
    flash("admin_keys_rotated", changes=changes)
    return see_other(url_for("admin.keys_page"), 303)


@bp.get("/api/keys")
@api_view
def api_keys() -> Response:
    return to_json({"keys": list_signing_keys(services().keys)})


@bp.post("/api/keys/rotate")
@api_view
def api_keys_rotate() -> Response:
    svc = services()
    data = request.get_json(silent=True) or {}
    alg = str_field(data, "alg", limit=16) if isinstance(data, dict) else ""
    if alg and alg not in ("RS256", "ES256"):
        raise ValidationFailed(["alg: RS256 or ES256"])
    changes = rotate_signing_keys(svc.keys, svc.uow, svc.clock, alg or None, actor())
    return to_json({"changes": changes})
