"""People: a person's enrolled second factors and their reset — the page
``/admin/subjects`` (look a person up by subject digest, as the consent list and the audit
log show them) and the API ``POST /admin/api/subjects/<subject>/reset-factors``
(:mod:`gateway.admin.factors`; audited ``factor.reset`` with the acting admin)."""

from __future__ import annotations

from flask import Response
from flask import request
from flask import url_for

from gateway.admin.factors import enrolled_factors
from gateway.admin.factors import reset_factors
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

_DIGEST_PROBLEM = "subject: a subject digest (32 hex characters)"


def _digest(value: str) -> str:
    value = value.strip().lower()
    if not looks_like_digest(value):
        raise ValidationFailed([_DIGEST_PROBLEM])
    return value


@bp.get("/subjects")
def subjects_page() -> Response:
    svc = services()
    wanted = request.args.get("subject", "").strip()
    if not wanted:
        return page("admin_subjects.html", found=None, wanted="")
    if not looks_like_digest(wanted.lower()):
        return page("admin_subjects.html", 400, found=None, wanted="", problems=[_DIGEST_PROBLEM])
    try:
        found = enrolled_factors(svc.uow, svc.pepper, svc.factors, wanted.lower())
    except NotFound:
        return page("admin_subjects.html", 404, found=None, wanted=wanted, missing=True)
    return page("admin_subjects.html", found=found, wanted=wanted)


@bp.post("/subjects/<subject>/reset-factors")
def subject_reset_factors(subject: str) -> Response:
    svc = services()
    if not looks_like_digest(subject):
        return message("error_title", "error_not_found", 404)
    try:
        digest, removed = reset_factors(svc.uow, svc.pepper, svc.factors, subject, actor())
    except NotFound:
        return message("error_title", "error_not_found", 404)
    flash("admin_factors_reset_done", removed=removed)
    return see_other(url_for("admin.subjects_page", subject=digest), 303)


@bp.post("/api/subjects/<subject>/reset-factors")
@api_view
def api_subject_reset_factors(subject: str) -> Response:
    svc = services()
    digest, removed = reset_factors(svc.uow, svc.pepper, svc.factors, _digest(subject), actor())
    return to_json({"subject": digest, "removed": removed})
