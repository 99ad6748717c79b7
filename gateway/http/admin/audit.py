"""The audit log: filtered reading and the hash chain's verification — the pages under
``/admin/audit`` and the API under ``/admin/api/audit``."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from flask import Response
from flask import request

from gateway.admin.audit import verify_audit_chain
from gateway.core.errors import ValidationFailed
from gateway.http.admin.common import api_view
from gateway.http.admin.common import bp
from gateway.http.admin.common import page
from gateway.http.admin.common import to_json
from gateway.http.deps import services


def _audit_events(args: Any) -> list[dict[str, Any]]:
    event = str(args.get("event", "")).strip()[:128]
    since = _date(str(args.get("since", "")), "since")
    until = _date(str(args.get("until", "")), "until", end=True)
    try:
        limit = max(1, min(int(args.get("limit", "200")), 1000))
    except ValueError:
        raise ValidationFailed(["limit: a number"]) from None
    rows: list[dict[str, Any]] = []
    with services().uow(read_only=True) as tx:
        for ev in tx.audit.iter_all():
            if event and not (ev.event == event or ev.event.startswith(event + ".")):
                continue
            if (since is not None and ev.at < since) or (until is not None and ev.at >= until):
                continue
            rows.append(
                {
                    "seq": ev.seq,
                    "at": ev.at,
                    "event": ev.event,
                    "fields": ev.fields,
                    "hash": ev.hash,
                }
            )
    rows.reverse()
    return rows[:limit]


def _date(value: str, name: str, end: bool = False) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        day = datetime.strptime(value[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValidationFailed([f"{name}: a date YYYY-MM-DD"]) from None
    return day.timestamp() + (86400 if end else 0)


@bp.get("/audit")
def audit_page() -> Response:
    try:
        events = _audit_events(request.args)
    except ValidationFailed as exc:
        return page("admin_audit.html", 400, events=[], args=request.args, problems=exc.problems)
    return page("admin_audit.html", events=events, args=request.args)


@bp.get("/audit/verify")
def audit_verify_page() -> Response:
    report = verify_audit_chain(services().uow)
    return page("admin_audit.html", events=[], args={}, chain=report)


@bp.get("/api/audit")
@api_view
def api_audit() -> Response:
    return to_json({"events": _audit_events(request.args)})


@bp.get("/api/audit/verify")
@api_view
def api_audit_verify() -> Response:
    report = verify_audit_chain(services().uow)
    problems = [{"seq": p.seq, "problem": p.problem} for p in report.problems]
    return to_json(
        {"ok": report.ok, "rows": report.rows, "head": report.head, "problems": problems}
    )
