"""Consents: search and revoke — the page ``/admin/consents`` and the API under
``/admin/api/consents``. Revoking a consent ends its grants
(:func:`gateway.admin.consents.revoke_consent`)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import request
from flask import url_for

from gateway.admin.consents import revoke_consent
from gateway.admin.consents import search_consents
from gateway.admin.subjects import looks_like_digest
from gateway.core.errors import NotFound
from gateway.core.errors import ValidationFailed
from gateway.http.admin.common import actor
from gateway.http.admin.common import api_view
from gateway.http.admin.common import bp
from gateway.http.admin.common import flash
from gateway.http.admin.common import message
from gateway.http.admin.common import page
from gateway.http.admin.common import to_json
from gateway.http.deps import services
from gateway.http.session_cookie import see_other


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
        return page("admin_consents.html", 400, consents=[], filters={}, problems=exc.problems)
    records = search_consents(svc.uow, svc.pepper, **filters)
    return page("admin_consents.html", consents=records, filters=filters)


@bp.post("/consents/<consent_id>/revoke")
def consent_revoke(consent_id: str) -> Response:
    svc = services()
    try:
        revoked = revoke_consent(
            svc.uow, svc.clock, svc.pepper, consent_id, actor(), svc.grant_revoker
        )
    except NotFound:
        return message("error_title", "error_not_found", 404)
    flash("admin_consent_revoked", grants=revoked)
    return see_other(url_for("admin.consents_page"), 303)


@bp.get("/api/consents")
@api_view
def api_consents() -> Response:
    svc = services()
    records = search_consents(svc.uow, svc.pepper, **_consent_filters(request.args))
    return to_json({"consents": [r.to_dict() for r in records]})


@bp.post("/api/consents/<consent_id>/revoke")
@api_view
def api_consent_revoke(consent_id: str) -> Response:
    svc = services()
    revoked = revoke_consent(svc.uow, svc.clock, svc.pepper, consent_id, actor(), svc.grant_revoker)
    return to_json({"consent_id": consent_id, "grants_revoked": revoked})
