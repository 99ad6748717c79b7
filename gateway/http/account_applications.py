"""Blueprint ``account_applications``: the parent's link applications and the pages that
say what to fix (issue 12 items 1, 2, 5 and 7).

* ``GET /account/children/apply`` — the form (no JavaScript): the school is found with a
  GET search (``?q=`` name or INN) whose results are radio buttons of the form;
* ``POST /account/children/apply`` — multipart with the scan. The body's declared length
  is checked **before anything is read** (``[applications] max_upload_bytes`` plus a
  little for the fields; no length, chunked, or more → 413), then the request's own limit
  is raised for this request only (the app-wide limit stays 256 KB) and the CSRF check
  runs (it reads the form, so this view is exempt from the generic hook and checks
  itself). Every field error names the field and the fix; identifiers are never echoed;
* ``GET /account/applications`` — «Мои заявки»: status, reason, comment, add a document;
* ``POST /account/applications/<id>/documents`` — another document (same upload rules);
* ``GET /help/<topic>`` — a page per refusal on the way in, in plain Russian (English with
  ``?lang=en``), with what to do and the region's support contacts (``[support]``;
  ``?region=`` picks the region, ``?field=`` names which of the child's data differs —
  never the roster's value).

Answers never tell "no such pupil" from "the data differ" (T94): both are «в
рассмотрении».
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint
from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask import url_for

from gateway.config.applications import SupportContact
from gateway.core.applications import ApplicationStatus
from gateway.core.errors import NotFound
from gateway.core.errors import RateLimited
from gateway.http.deps import services
from gateway.http.i18n import register_messages
from gateway.http.login import respond
from gateway.http.login import sso_sessions
from gateway.http.security import check_csrf
from gateway.http.security import csrf_exempt
from gateway.http.session_cookie import journey_binding
from gateway.http.session_cookie import read_session_cookie
from gateway.http.session_cookie import see_other
from gateway.journey.applications import FIELDS
from gateway.journey.applications import ApplicationForm
from gateway.journey.applications import FieldProblem
from gateway.journey.applications import FormProblems

bp = Blueprint("account_applications", __name__)

APPLY = "/account/children/apply"
MINE = "/account/applications"
FORM_OVERHEAD = 64 * 1024
"""Room for the text fields and the multipart framing around the scan."""
MAX_QUERY = 100
HELP_TOPICS = (
    "account_not_confirmed",
    "child_data_differs",
    "school_not_found",
    "guardianship_expired",
    "system_not_allowed",
)
DIFFERING_FIELDS = frozenset({"family_name", "given_name", "birthdate", "snils"})
_ECHOED = ("family_name", "given_name", "middle_name", "birthdate", "class_name")
"""Fields a refused form shows again; SNILS and certificate are never echoed (T95)."""


@cache
def _messages() -> dict[str, dict[str, str]]:
    with (Path(__file__).parent / "messages_applications.toml").open("rb") as f:
        data = tomllib.load(f)
    return {lang: {str(k): str(v) for k, v in items.items()} for lang, items in data.items()}


@bp.record_once
def _register(_state: Any) -> None:
    register_messages(_messages())


@bp.app_template_global("support_contact")
def support_contact(region: str | None = None) -> SupportContact:
    """The support contacts of ``region`` (a school's region code), else the default."""
    support = services().config.support
    return support.get(region or "default") or support["default"]


def _signed_in() -> str | None:
    session = sso_sessions().current(read_session_cookie())
    return None if session is None else session.subject_id


def _page(template: str, status: int = 200, **context: Any) -> Response:
    return Response(render_template(template, **context), status=status, mimetype="text/html")


# --------------------------------------------------------------------------- the form


def _school_choices(query: str, chosen: str) -> tuple[list[Any], bool]:
    svc = services()
    schools = svc.schools.search(query) if query else []
    if chosen and all(s.school_id != chosen for s in schools):
        school = svc.schools.get(chosen)
        if school is not None:
            schools.insert(0, school)
    return schools, bool(query) and not schools


def _form_page(
    status: int,
    values: dict[str, str],
    problems: list[FieldProblem],
    query: str = "",
) -> Response:
    schools, none_found = _school_choices(query, values.get("school_id", ""))
    by_field: dict[str, list[FieldProblem]] = {}
    for p in problems:
        by_field.setdefault(p.field, []).append(p)
    return _page(
        "account_apply.html",
        status,
        values=values,
        problems=problems,
        by_field=by_field,
        schools=schools,
        none_found=none_found,
        query=query,
        max_mb=services().applications.max_upload_bytes // (1024 * 1024),
    )


@bp.get(APPLY)
def apply_page() -> Response:
    if _signed_in() is None:
        return respond(services().journeys.begin_account(journey_binding(), APPLY))
    query = request.args.get("q", "").strip()[:MAX_QUERY]
    chosen = request.args.get("school_id", "").strip()[:64]
    return _form_page(200, {"certificate_kind": "rf", "school_id": chosen}, [], query)


def _read_scan(field: str = "scan") -> bytes | None:
    """The declared length first (nothing read when it is too much), then this request's
    own limit, then the CSRF check (which parses the form), then the file (bounded)."""
    limit = services().applications.max_upload_bytes
    length = request.content_length
    if length is None or length > limit + FORM_OVERHEAD:
        abort(413)
    request.max_content_length = limit + FORM_OVERHEAD
    check_csrf()
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        return None
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        abort(413)
    return data


def _too_large() -> Response:
    return _page("account_apply_refused.html", 413, kind="too_large")


@bp.post(APPLY)
@csrf_exempt
def apply_submit() -> Response:
    parent_id = _signed_in()
    if parent_id is None:
        return see_other(url_for("account.login"), code=303)
    scan = _read_scan()
    values = {name: request.form.get(name, "")[:200] for name in FIELDS if name != "scan"}
    form = ApplicationForm(**values)
    try:
        submitted = services().applications.submit(parent_id, form, scan)
    except FormProblems as refused:
        echoed = {k: values[k] for k in _ECHOED}
        echoed["certificate_kind"] = values.get("certificate_kind", "rf")
        echoed["school_id"] = values.get("school_id", "")
        return _form_page(400, echoed, refused.problems)
    except RateLimited as limited:
        response = _page("account_apply_refused.html", 429, kind="rate")
        response.headers["Retry-After"] = str(limited.retry_after)
        return response
    done = "approved" if submitted.status is ApplicationStatus.APPROVED else "pending"
    return see_other(url_for("account_applications.mine", done=done), code=303)


@bp.errorhandler(413)
def _upload_too_large(_error: Exception) -> Response:
    return _too_large()


# --------------------------------------------------------------------------- «Мои заявки»


@bp.get(MINE)
def mine() -> Response:
    parent_id = _signed_in()
    if parent_id is None:
        return respond(services().journeys.begin_account(journey_binding(), MINE))
    done = request.args.get("done", "")
    return _page(
        "account_applications.html",
        applications=services().applications.mine(parent_id),
        done=done if done in ("approved", "pending", "document") else "",
        problems=[],
    )


@bp.post(f"{MINE}/<application_id>/documents")
@csrf_exempt
def add_document(application_id: str) -> Response:
    parent_id = _signed_in()
    if parent_id is None:
        return see_other(url_for("account.login"), code=303)
    scan = _read_scan()
    try:
        services().applications.add_document(parent_id, application_id, scan)
    except NotFound:
        abort(404)
    except FormProblems as refused:
        return _page(
            "account_applications.html",
            400,
            applications=services().applications.mine(parent_id),
            done="",
            problems=refused.problems,
        )
    return see_other(url_for("account_applications.mine", done="document"), code=303)


# --------------------------------------------------------------------------- help pages


@bp.get("/help/<topic>")
def help_page(topic: str) -> Response:
    if topic not in HELP_TOPICS:
        abort(404)
    region = request.args.get("region", "")
    field = request.args.get("field", "")
    return _page(
        "help_refusal.html",
        topic=topic,
        field=field if field in DIFFERING_FIELDS else "",
        region=region if region.isascii() and region.isdigit() and len(region) <= 3 else "",
    )
