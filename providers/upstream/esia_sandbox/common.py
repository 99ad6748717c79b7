"""What the sandbox's endpoints share: the blueprint, the app's :class:`Sandbox`, ESIA's
error page and redirects, JSON error answers, and injected latency / 5xx faults."""

from __future__ import annotations

import time
from urllib.parse import urlencode
from urllib.parse import urlsplit

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import render_template

from providers.upstream.esia_sandbox.errors import EsiaFailure
from providers.upstream.esia_sandbox.sandbox import Sandbox

bp = Blueprint("sandbox", __name__)


def current_sandbox() -> Sandbox:
    """The sandbox of the current app (``app.extensions["esia_sandbox"]``)."""
    found = current_app.extensions["esia_sandbox"]
    assert isinstance(found, Sandbox)  # noqa: S101 -- set by create_sandbox_app
    return found


def error_page(error: EsiaFailure, status: int = 400) -> Response:
    body = render_template("error.html", error=error.error, description=error.description)
    return Response(body, status=status, mimetype="text/html")


def redirect_with(uri: str, params: dict[str, str]) -> Response:
    separator = "&" if urlsplit(uri).query else "?"
    return redirect(f"{uri}{separator}{urlencode(params)}")


def redirect(location: str) -> Response:
    return Response(status=302, headers={"Location": location})


def json_error(body: dict[str, str], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def not_found() -> Response:
    return json_error({"code": "not_found", "message": "Not found"}, 404)


def faulty(endpoint: str) -> Response | None:
    """Apply injected latency / 5xx for ``endpoint`` (dev and tests only)."""
    state = current_sandbox().state
    faults = state.faults
    if endpoint not in faults.endpoints or not (faults.latency_ms or faults.http_status):
        return None
    faults = state.consume_fault()
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    if faults.http_status:
        return Response("Service Unavailable (sandbox fault)", status=faults.http_status)
    return None
