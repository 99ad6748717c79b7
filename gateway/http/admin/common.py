"""What every admin area uses: the blueprint, the wiring of the admin use cases from
``services()``, the acting admin, and the JSON, page and flash helpers."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from typing import TypeVar

from flask import Blueprint
from flask import Response
from flask import g
from flask import render_template
from flask import request

from gateway.admin.sessions import AdminSession
from gateway.admin.sessions import AdminSessions
from gateway.admin.subjects import subject_digest
from gateway.core.errors import Conflict
from gateway.core.errors import NotFound
from gateway.core.errors import ValidationFailed
from gateway.http.deps import Services
from gateway.http.deps import services
from gateway.http.errors import json_errors
from gateway.http.i18n import human_time

bp = Blueprint("admin", __name__, url_prefix="/admin")

F = TypeVar("F", bound=Callable[..., Any])

ADMIN_COOKIE = "vhod_admin"
FLASH_NAMESPACE = "admin_flash"
FLASH_TTL_SECONDS = 120
API_PREFIX = "/admin/api/"
OPENAPI_PATH = "/admin/openapi.json"


# --------------------------------------------------------------------------- wiring


def admin_sessions(svc: Services) -> AdminSessions:
    return AdminSessions(
        svc.ephemeral,
        svc.uow,
        svc.clock,
        svc.pepper,
        svc.config.session.admin_idle_seconds,
        svc.config.admin.require_second_factor,
    )


# --------------------------------------------------------------------------- the admin


def current_admin() -> AdminSession:
    admin = g.get("vhod_admin")
    if not isinstance(admin, AdminSession):
        raise RuntimeError("no admin session (the blueprint guard did not run)")
    return admin


def actor() -> str:
    """The acting admin as audit events name them."""
    return subject_digest(services().pepper, current_admin().subject_id)


# --------------------------------------------------------------------------- JSON


def to_json(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        mimetype="application/json",
    )


def api_view(view: F) -> F:
    """JSON errors for the admin API: 400 with every problem, 404, 409."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except ValidationFailed as exc:
            body = {
                "error": "invalid_request",
                "error_description": "The request failed validation.",
                "problems": exc.problems,
            }
            return to_json(body, 400)
        except NotFound:
            return to_json({"error": "not_found", "error_description": "No such record."}, 404)
        except Conflict:
            return to_json({"error": "conflict", "error_description": "The record exists."}, 409)

    return json_errors(wrapper)  # type: ignore[return-value]


# --------------------------------------------------------------------------- pages


def page(template: str, status: int = 200, **context: Any) -> Response:
    shown = _take_flash() if request.method == "GET" else None
    body = render_template(template, flash=shown, **context)
    return Response(body, status=status, mimetype="text/html")


def message(title: str, text: str, status: int = 200, link: str | None = None) -> Response:
    body = render_template("admin_message.html", title_key=title, text_key=text, link=link)
    return Response(body, status=status, mimetype="text/html")


def flash(message: str, **values: Any) -> None:
    """A one-time message for the next admin page (sealed: it may hold a new secret)."""
    svc = services()
    admin = current_admin()
    raw = json.dumps({"message": message, "values": values}).encode()
    sealed = svc.sealer.seal(raw, f"admin_flash:{admin.key}")
    svc.ephemeral.put(FLASH_NAMESPACE, admin.key, sealed, FLASH_TTL_SECONDS)


def _take_flash() -> dict[str, Any] | None:
    admin = g.get("vhod_admin")
    if not isinstance(admin, AdminSession):
        return None
    svc = services()
    sealed = svc.ephemeral.get(FLASH_NAMESPACE, admin.key)
    if sealed is None:
        return None
    svc.ephemeral.delete(FLASH_NAMESPACE, admin.key)
    data: dict[str, Any] = json.loads(svc.sealer.open(sealed, f"admin_flash:{admin.key}"))
    return data


def _when(value: float | None) -> str:
    return human_time(value, seconds=True)


bp.add_app_template_filter(_when, "admin_time")
