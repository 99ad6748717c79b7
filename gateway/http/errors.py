"""The one place where errors become responses.

* :class:`ProtocolError` → its RFC code: JSON ``{"error", "error_description"}`` for API
  views (token, introspection, userinfo...) with the right status (``invalid_client`` 401 +
  ``WWW-Authenticate``), or a readable page for browser views. Error *redirects* at the
  authorization endpoint are built by the OAuth layer, which knows the validated
  redirect URI; nothing here ever redirects.
* :class:`StoreUnavailable` → 503 + ``Retry-After`` (JSON ``temporarily_unavailable`` for
  API views, a page for people). Nothing was half written: every use case commits once.
* CSRF rejections → 403 page. 404/405 → page or JSON.
* Anything else → ``server_error`` / a generic page, and one log line with the request id
  and the exception type — never the exception text, which may echo input.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from typing import TypeVar

import orjson
from flask import Flask
from flask import Response
from flask import g
from flask import jsonify
from flask import render_template
from flask import request
from werkzeug.exceptions import HTTPException

from gateway.core.errors import ProtocolError
from gateway.core.errors import RateLimited
from gateway.core.errors import StoreUnavailable
from gateway.core.logs import log_event
from gateway.http.deps import services
from gateway.http.security import CsrfRejected

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
_JSON_ATTR = "_vhod_json_errors"
BEARER_ENDPOINTS = frozenset({"oauth.userinfo"})
"""Protected resources: their errors carry a ``Bearer`` challenge (RFC 6750 §3)."""


def json_errors(view: F) -> F:
    """Mark a view whose errors are answered as OAuth JSON instead of a page."""
    setattr(view, _JSON_ATTR, True)
    return view


def wants_json() -> bool:
    view = None
    if request.endpoint:
        from flask import current_app

        view = current_app.view_functions.get(request.endpoint)
    if view is not None and getattr(view, _JSON_ATTR, False):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


@dataclass(frozen=True)
class ApiError:
    """An error's OAuth JSON answer, framework-neutral (Flask's handlers below and the
    lean lane, :mod:`gateway.http.fast_lane`, both render it)."""

    status: int
    body: dict[str, str]
    headers: tuple[tuple[str, str], ...] = ()

    def json(self) -> bytes:
        """As Flask's ``jsonify`` writes it (compact, UTF-8, a final newline)."""
        return compact_json(self.body) + b"\n"


def compact_json(body: Any) -> bytes:
    """JSON as every API answer is written: compact, UTF-8 (not ``\\u`` escapes)."""
    return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)


def api_error(err: Exception, endpoint: str | None, store_retry_after: int) -> ApiError:
    """The JSON answer of an API view for ``err`` (the one mapping; see the module
    docstring)."""
    if isinstance(err, ProtocolError):
        body = {"error": err.error, "error_description": err.public_description}
        if err.status == 401 and err.error == "invalid_client":
            # RFC 6749 §5.2 / RFC 6750 §3: the challenge names the error, as certified
            # relying-party libraries (openid-client) read it before the body.
            challenge = 'Basic realm="vhod", error="invalid_client"'
        elif (
            err.status in (401, 403) and err.error in ("invalid_token", "insufficient_scope")
        ) or (endpoint in BEARER_ENDPOINTS):
            # RFC 6750 §3.1: a malformed request to a protected resource (the token sent
            # two ways...) is 400 with the challenge naming ``invalid_request``.
            challenge = f'Bearer realm="vhod", error="{err.error}"'
        else:
            return ApiError(err.status, body)
        return ApiError(err.status, body, (("WWW-Authenticate", challenge),))
    if isinstance(err, StoreUnavailable):
        return ApiError(
            503,
            {
                "error": "temporarily_unavailable",
                "error_description": "The service is temporarily unavailable. Try again later.",
            },
            (("Retry-After", str(store_retry_after)),),
        )
    if isinstance(err, RateLimited):
        return ApiError(
            429,
            {"error": "slow_down", "error_description": "Too many requests. Slow down."},
            (("Retry-After", str(err.retry_after)),),
        )
    return ApiError(
        500,
        {
            "error": "server_error",
            "error_description": "The server encountered an unexpected condition.",
        },
    )


def log_error(err: Exception, endpoint: str | None) -> None:
    """The one log line of an error answered by a handler (never the exception text,
    which may echo input)."""
    if isinstance(err, ProtocolError):
        log_event(
            log,
            "request.rejected",
            logging.INFO,
            error=err.error,
            endpoint=endpoint,
            debug=err.debug,
        )
    elif isinstance(err, StoreUnavailable):
        log_event(
            log,
            "store.unavailable",
            logging.ERROR,
            store=err.store,
            endpoint=endpoint,
            debug=err.debug[:300],
        )
    elif isinstance(err, RateLimited):
        log_event(log, "request.rate_limited", logging.WARNING, what=err.what)
    else:
        log_event(
            log, "server_error", logging.ERROR, error_type=type(err).__name__, endpoint=endpoint
        )
        log.debug("server_error traceback", exc_info=err)


def _json_response(err: Exception) -> Response:
    answer = api_error(err, request.endpoint, services().config.store.retry_after_seconds)
    response = Response(answer.json(), status=answer.status, mimetype="application/json")
    for name, value in answer.headers:
        response.headers[name] = value
    return response


def error_page(status: int, title_key: str, text_key: str) -> Response:
    body = render_template(
        "error.html",
        error_page=True,
        title_key=title_key,
        text_key=text_key,
        request_id=g.get("vhod_request_id", ""),
    )
    return Response(body, status=status, mimetype="text/html")


def register_error_handlers(app: Flask) -> None:
    """One handler per kind of error below; Flask picks the most specific class."""
    app.register_error_handler(ProtocolError, _protocol)
    app.register_error_handler(StoreUnavailable, _store)
    app.register_error_handler(RateLimited, _rate)
    app.register_error_handler(CsrfRejected, _csrf)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)


def _protocol(err: ProtocolError) -> Response:
    log_error(err, request.endpoint)
    if wants_json():
        return _json_response(err)
    text = "error_forbidden" if err.status == 403 else "error_bad_request"
    return error_page(err.status if err.status < 500 else 400, "error_title", text)


def _store(err: StoreUnavailable) -> Response:
    log_error(err, request.endpoint)
    if wants_json():
        return _json_response(err)
    response = error_page(503, "error_unavailable_title", "error_unavailable")
    response.headers["Retry-After"] = str(services().config.store.retry_after_seconds)
    return response


def _rate(err: RateLimited) -> Response:
    log_error(err, request.endpoint)
    if wants_json():
        return _json_response(err)
    response = error_page(429, "error_title", "error_generic")
    response.headers["Retry-After"] = str(err.retry_after)
    return response


def _csrf(err: CsrfRejected) -> Response:
    return error_page(403, "error_title", "error_csrf")


def _http(err: HTTPException) -> Response:
    status = err.code or 500
    if wants_json():
        code = {404: "not_found", 405: "invalid_request", 413: "invalid_request"}.get(
            status, "invalid_request"
        )
        response = jsonify({"error": code, "error_description": err.name})
        response.status_code = status
    else:
        key = {404: "error_not_found", 405: "error_method"}.get(status, "error_bad_request")
        response = error_page(status, "error_title", key)
    if status == 405 and hasattr(err, "valid_methods") and err.valid_methods:
        response.headers["Allow"] = ", ".join(err.valid_methods)
    return response


def _unexpected(err: Exception) -> Response:
    log_error(err, request.endpoint)
    if wants_json():
        return _json_response(err)
    return error_page(500, "error_title", "error_generic")
