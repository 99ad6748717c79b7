"""Blueprint ``push_device``: the JSON endpoints a push device talks to.

``POST /factors/push/enrol``, ``/factors/push/pending``, ``/factors/push/answer``
(``gateway.core.factors.PUSH_DEVICE_PATHS``; the bodies are documented in
``providers.factors.push``). A device authenticates with a one-time enrolment token, then
with signatures by its enrolled key — no cookie — so the views are CSRF-exempt like the
OAuth back-channel endpoints. Each hands the body to ``FactorManagement.device_request``.

Answers are JSON. Refusals are ``{"error", "error_description"}`` (RFC 6749 §5.2 words):
400 ``invalid_request`` for a malformed body or field, 403 ``access_denied`` for a refused
token, signature, challenge or number (the reason goes to the log only), 413 for a body
over :data:`MAX_BODY_BYTES`, 429 ``slow_down`` with ``Retry-After`` when the device asks
too often. Never a stack trace.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint
from flask import Response
from flask import request

from gateway.core.errors import FactorFailed
from gateway.core.errors import RateLimited
from gateway.core.factors import PUSH_ANSWER_PATH
from gateway.core.factors import PUSH_ENROL_PATH
from gateway.core.factors import PUSH_PENDING_PATH
from gateway.core.logs import log_event
from gateway.http.deps import services
from gateway.http.security import csrf_exempt

log = logging.getLogger(__name__)

bp = Blueprint("push_device", __name__)

MAX_BODY_BYTES = 4096
_MALFORMED_KEYS = frozenset({"push_key_invalid", "push_label_invalid"})


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
    )


def _error(status: int, error: str, description: str) -> Response:
    return _json({"error": error, "error_description": description}, status)


def _read_body() -> dict[str, Any] | Response:
    length = request.content_length
    if length is None:
        return _error(411, "invalid_request", "a Content-Length is required")
    if length > MAX_BODY_BYTES:
        return _error(413, "invalid_request", "the body is too large")
    try:
        body = json.loads(request.get_data(cache=False))
    except (ValueError, UnicodeDecodeError):
        return _error(400, "invalid_request", "the body is not JSON")
    if not isinstance(body, dict):
        return _error(400, "invalid_request", "the body is not a JSON object")
    return body


def _handle(path: str) -> Response:
    body = _read_body()
    if isinstance(body, Response):
        return body
    try:
        answer = services().factors.device_request(path, body)
    except RateLimited as err:
        response = _error(429, "slow_down", "too many requests; try again later")
        response.headers["Retry-After"] = str(err.retry_after)
        return response
    except FactorFailed as err:
        log_event(log, "push.device_refused", logging.WARNING, reason=err.reason, path=path)
        if err.reason in _MALFORMED_KEYS:
            return _error(400, "invalid_request", "the key or label is not acceptable")
        return _error(403, "access_denied", "the request was refused")
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        log_event(log, "push.device_malformed", reason=type(err).__name__, path=path)
        return _error(400, "invalid_request", "a field is missing or malformed")
    return _json(answer)


@bp.post(PUSH_ENROL_PATH)
@csrf_exempt
def enrol() -> Response:
    return _handle(PUSH_ENROL_PATH)


@bp.post(PUSH_PENDING_PATH)
@csrf_exempt
def pending() -> Response:
    return _handle(PUSH_PENDING_PATH)


@bp.post(PUSH_ANSWER_PATH)
@csrf_exempt
def answer() -> Response:
    return _handle(PUSH_ANSWER_PATH)
