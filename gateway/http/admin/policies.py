"""Policy documents (validate, dry run, apply, history, rollback) and explain — the pages
under ``/admin/policies`` and ``/admin/explain`` and the API under ``/admin/api/policies``.

Validate, dry run and explain change nothing and show their result directly (no 303);
dry runs and explanations are audited all the same, as they read about people.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Response
from flask import request
from flask import url_for

from gateway.admin.policies import ExplainQuery
from gateway.admin.policies import age_reader
from gateway.admin.policies import apply_document
from gateway.admin.policies import dry_run_text
from gateway.admin.policies import explain_query
from gateway.admin.policies import policy_history
from gateway.admin.policies import record_dict
from gateway.admin.policies import rollback_document
from gateway.admin.policies import show_document
from gateway.admin.policies import validate_document
from gateway.admin.subjects import resolve_subject
from gateway.admin.subjects import subject_digest
from gateway.config.schema import ACR_ESIA
from gateway.config.schema import ACR_VALUES
from gateway.core.audit import audit
from gateway.core.errors import NotFound
from gateway.core.errors import ValidationFailed
from gateway.http.admin.common import actor
from gateway.http.admin.common import api_view
from gateway.http.admin.common import bp
from gateway.http.admin.common import flash
from gateway.http.admin.common import message
from gateway.http.admin.common import page
from gateway.http.admin.common import to_json
from gateway.http.admin.forms import json_body
from gateway.http.admin.forms import str_field
from gateway.http.admin.forms import str_list
from gateway.http.deps import services
from gateway.http.session_cookie import see_other
from policies.dryrun import DryRunReport

_TEXT_LIMIT = 256 * 1024


def _explain(query: ExplainQuery) -> dict[str, Any]:
    svc = services()
    subject_id = resolve_subject(svc.uow, svc.pepper, query.subject)
    if subject_id is None:
        raise NotFound("subject not found")
    explanation = explain_query(
        svc.uow,
        svc.clock,
        svc.pepper,
        svc.config.scopes,
        svc.policy_documents,
        dataclasses.replace(query, subject=subject_id),
        age_reader(svc.sealer, svc.clock),
    )
    with svc.uow() as tx:
        audit(
            tx,
            svc.clock.now(),
            "policy.explained",
            client_id=query.client_id[:255],
            subject=subject_digest(svc.pepper, subject_id),
            decision=explanation.decision.reason,
            actor=actor(),
        )
        tx.commit()
    return explanation.to_dict()


def _dry_run(text: str) -> DryRunReport:
    svc = services()
    report = dry_run_text(
        svc.uow,
        svc.clock,
        svc.pepper,
        svc.config.scopes,
        svc.policy_documents,
        text,
        age_reader(svc.sealer, svc.clock),
    )
    with svc.uow() as tx:
        audit(
            tx,
            svc.clock.now(),
            "policy.dry_run",
            cases=report.cases,
            changed=len(report.changes),
            actor=actor(),
        )
        tx.commit()
    return report


# --------------------------------------------------------------------------- pages


def _policies_page(status: int = 200, **context: Any) -> Response:
    svc = services()
    active = show_document(svc.uow)
    context.setdefault("text", active.text)
    return page(
        "admin_policies.html",
        status,
        active=active,
        history=policy_history(svc.uow, 50),
        **context,
    )


def _posted_text() -> str:
    return request.form.get("text", "").replace("\r\n", "\n")


@bp.get("/policies")
def policies_page() -> Response:
    return _policies_page()


@bp.post("/policies/validate")
def policies_validate() -> Response:
    svc = services()
    text = _posted_text()
    report = validate_document(svc.uow, svc.config.scopes, text)
    return _policies_page(200 if report.ok else 400, text=text, report=report)


@bp.post("/policies/dry-run")
def policies_dry_run() -> Response:
    text = _posted_text()
    try:
        report = _dry_run(text)
    except ValidationFailed as exc:
        return _policies_page(400, text=text, problems=exc.problems)
    return _policies_page(text=text, dry_run=report.to_dict())


@bp.post("/policies/apply")
def policies_apply() -> Response:
    svc = services()
    text = _posted_text()
    try:
        record = apply_document(
            svc.uow,
            svc.clock,
            svc.config.scopes,
            text,
            actor(),
            request.form.get("comment", ""),
            svc.policy_documents,
        )
    except ValidationFailed as exc:
        return _policies_page(400, text=text, problems=exc.problems)
    flash("admin_policy_applied", version=record.version)
    return see_other(url_for("admin.policies_page"), 303)


@bp.get("/policies/<int:version>")
def policy_page(version: int) -> Response:
    try:
        shown = show_document(services().uow, version)
    except NotFound:
        return message("error_title", "error_not_found", 404)
    return page("admin_policy.html", shown=shown)


@bp.post("/policies/<int:version>/rollback")
def policy_rollback(version: int) -> Response:
    svc = services()
    try:
        record = rollback_document(
            svc.uow,
            svc.clock,
            svc.config.scopes,
            version,
            actor(),
            request.form.get("comment", ""),
            svc.policy_documents,
        )
    except NotFound:
        return message("error_title", "error_not_found", 404)
    except ValidationFailed as exc:
        return _policies_page(400, problems=exc.problems)
    flash("admin_policy_applied", version=record.version)
    return see_other(url_for("admin.policies_page"), 303)


@bp.get("/explain")
def explain_page() -> Response:
    return page("admin_explain.html", acr_values=ACR_VALUES, form={})


@bp.post("/explain")
def explain_run() -> Response:
    form = {
        k: request.form.get(k, "").strip()
        for k in ("client_id", "subject", "scope", "acting_for", "acr")
    }
    query = ExplainQuery(
        client_id=form["client_id"],
        subject=form["subject"],
        scopes=tuple(dict.fromkeys(form["scope"].split())),
        acting_for=form["acting_for"] or None,
        acr=form["acr"] or ACR_ESIA,
    )
    try:
        result = _explain(query)
    except ValidationFailed as exc:
        return page(
            "admin_explain.html", 400, acr_values=ACR_VALUES, form=form, problems=exc.problems
        )
    except NotFound:
        return page(
            "admin_explain.html",
            404,
            acr_values=ACR_VALUES,
            form=form,
            problems=["subject not found"],
        )
    return page("admin_explain.html", acr_values=ACR_VALUES, form=form, result=result)


# --------------------------------------------------------------------------- JSON API


@bp.get("/api/policies")
@api_view
def api_policies() -> Response:
    svc = services()
    active = show_document(svc.uow)
    return to_json(
        {
            "active_version": active.version,
            "versions": [record_dict(r) for r in policy_history(svc.uow, 100)],
        }
    )


@bp.post("/api/policies")
@api_view
def api_policies_apply() -> Response:
    svc = services()
    data = json_body()
    record = apply_document(
        svc.uow,
        svc.clock,
        svc.config.scopes,
        str_field(data, "text", required=True, limit=_TEXT_LIMIT),
        actor(),
        str_field(data, "comment", limit=500),
        svc.policy_documents,
    )
    return to_json(record_dict(record), 201)


@bp.get("/api/policies/active")
@api_view
def api_policy_active() -> Response:
    return to_json(show_document(services().uow).to_dict())


@bp.get("/api/policies/<int:version>")
@api_view
def api_policy(version: int) -> Response:
    return to_json(show_document(services().uow, version).to_dict())


@bp.post("/api/policies/<int:version>/rollback")
@api_view
def api_policy_rollback(version: int) -> Response:
    svc = services()
    data = request.get_json(silent=True) or {}
    comment = str_field(data, "comment", limit=500) if isinstance(data, dict) else ""
    record = rollback_document(
        svc.uow, svc.clock, svc.config.scopes, version, actor(), comment, svc.policy_documents
    )
    return to_json(record_dict(record), 201)


@bp.post("/api/policies/validate")
@api_view
def api_policies_validate() -> Response:
    svc = services()
    text = str_field(json_body(), "text", required=True, limit=_TEXT_LIMIT)
    return to_json(validate_document(svc.uow, svc.config.scopes, text).to_dict())


@bp.post("/api/policies/dry-run")
@api_view
def api_policies_dry_run() -> Response:
    text = str_field(json_body(), "text", required=True, limit=_TEXT_LIMIT)
    return to_json(_dry_run(text).to_dict())


@bp.post("/api/policies/explain")
@api_view
def api_policies_explain() -> Response:
    data = json_body()
    scopes = str_list(data, "scopes") or ()
    acr = str_field(data, "acr") or ACR_ESIA
    query = ExplainQuery(
        client_id=str_field(data, "client_id", required=True),
        subject=str_field(data, "subject", required=True, limit=64),
        scopes=scopes,
        acting_for=str_field(data, "acting_for", limit=64) or None,
        acr=acr,
    )
    return to_json(_explain(query))
