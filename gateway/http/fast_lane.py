"""The lean lane: the hot back-channel endpoints without Flask's per-request machinery.

Discovery, JWKS, token, introspection and revocation are called by programs, thousands of
times a second at the 8:00 peak, and answer small JSON documents. Flask's request context,
session, routing, hooks and ``Response`` object cost more CPU than the precomputed
discovery document itself (issue 13). :class:`FastLane` is a WSGI middleware in front of
the Flask app that answers the **ordinary form** of these requests itself and hands
everything else to Flask untouched:

* ``GET``/``HEAD`` of discovery and JWKS, with no query string and no ``Origin`` (CORS
  requests, with their allow-list, go to Flask);
* ``POST`` to ``/token``, ``/introspect``, ``/revoke`` with an
  ``application/x-www-form-urlencoded`` body of a known length within
  ``MAX_CONTENT_LENGTH``, no query string and no ``Origin``, whose body decodes as UTF-8
  (anything else — another method, a CORS preflight, a multipart body, a chunked one — is
  for Flask, which gives the 405/413/400 answers).

Nothing is decided twice: the lane calls the same :class:`~gateway.oauth.provider.
OAuthProvider` methods as the Flask views, parses the form as Werkzeug does (``parse_qsl``
with blank values kept, duplicates kept), and takes its answers' pieces from the modules
Flask's hooks use — the hardening and cache headers (:func:`gateway.http.security.
security_headers`, :func:`~gateway.http.security.cache_headers`), the request id
(:func:`~gateway.http.security.request_id`), the client address
(:func:`gateway.http.deps.client_address`), the error mapping and its log line
(:func:`gateway.http.errors.api_error`, :func:`~gateway.http.errors.log_error`), the
``ETag`` of a document (:mod:`gateway.http.discovery`) and the request metrics
(:func:`gateway.http.ops.record_request`). ``tests/unit/http/test_fast_lane.py`` checks
that both paths give the same status, headers and body shape for each case. The lane
sits inside the admission limit (``gateway.wsgi``) and is installed by ``create_app``, so
the in-process test client goes through it too.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" decode error handler
from flask import Flask
from werkzeug.http import HTTP_STATUS_CODES

from gateway.core.logs import request_id_var
from gateway.http.admission import StartResponse
from gateway.http.admission import WsgiApp
from gateway.http.deps import Services
from gateway.http.deps import client_address
from gateway.http.discovery import CACHE_SECONDS
from gateway.http.discovery import DISCOVERY_TAG
from gateway.http.discovery import JWKS_TAG
from gateway.http.discovery import Tagged
from gateway.http.discovery import document_answer
from gateway.http.errors import api_error
from gateway.http.errors import compact_json
from gateway.http.errors import log_error
from gateway.http.oauth import token_headers
from gateway.http.ops import record_request
from gateway.http.security import cache_headers
from gateway.http.security import request_id
from gateway.http.security import security_headers
from gateway.oauth.context import PATH_DISCOVERY
from gateway.oauth.context import PATH_INTROSPECT
from gateway.oauth.context import PATH_JWKS
from gateway.oauth.context import PATH_REVOKE
from gateway.oauth.context import PATH_TOKEN
from gateway.oauth.context import IncomingRequest

Headers = list[tuple[str, str]]

_FORM = "application/x-www-form-urlencoded"
_JSON = ("Content-Type", "application/json")
_VARY = ("Vary", "Origin")
_DOCUMENT_ENDPOINTS = frozenset({"discovery.configuration", "discovery.jwks"})
_CORS_ENDPOINTS = _DOCUMENT_ENDPOINTS | {"oauth.token"}


class FastLane:
    """WSGI middleware: the lean lane in front of ``flask_app`` (see the module
    docstring)."""

    def __init__(self, flask_app: Flask, services: Services) -> None:
        self.flask: WsgiApp = flask_app.wsgi_app
        self._services = services
        self._max_body = int(flask_app.config["MAX_CONTENT_LENGTH"])
        self._hops = services.config.server.trusted_proxy_hops
        self._retry_after = services.config.store.retry_after_seconds
        self._common = security_headers(https=services.config.server.issuer.startswith("https://"))
        provider = services.oauth
        self._documents: dict[str, tuple[str, Callable[[], bytes], Tagged]] = {
            PATH_DISCOVERY: ("discovery.configuration", provider.discovery_json, DISCOVERY_TAG),
            PATH_JWKS: ("discovery.jwks", provider.jwks_json, JWKS_TAG),
        }
        self._posts: dict[str, tuple[str, Callable[[IncomingRequest], Any]]] = {
            PATH_TOKEN: ("oauth.token", self._token),
            PATH_INTROSPECT: ("oauth.introspect", self._endpoint(provider.introspect)),
            PATH_REVOKE: ("oauth.revoke", self._endpoint(provider.revoke)),
        }

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        if environ.get("QUERY_STRING") or "HTTP_ORIGIN" in environ:
            return self.flask(environ, start_response)
        if method in ("GET", "HEAD"):
            document = self._documents.get(path)
            if document is not None:
                return self._document(environ, start_response, *document)
        elif method == "POST":
            post = self._posts.get(path)
            if post is not None:
                params = self._form(environ)
                if params is not None:
                    return self._post(environ, start_response, path, params, *post)
        return self.flask(environ, start_response)

    # ------------------------------------------------------------------ answers

    def _answer(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        endpoint: str,
        produce: Callable[[], tuple[int, bytes, Headers]],
    ) -> Iterable[bytes]:
        """Run ``produce`` (status, body, its own headers) with the request id set, turn
        an error into its JSON answer, add the common headers, count the request."""
        started = time.perf_counter()
        rid = request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        token = request_id_var.set(rid)
        try:
            try:
                status, body, own = produce()
            except Exception as error:
                log_error(error, endpoint)
                answer = api_error(error, endpoint, self._retry_after)
                status, body = answer.status, answer.json()
                own = [_JSON, ("Content-Length", str(len(body))), *answer.headers]
        finally:
            request_id_var.reset(token)
        method = environ.get("REQUEST_METHOD", "")
        headers: Headers = [*own, ("X-Request-Id", rid), *self._common]
        if endpoint in _CORS_ENDPOINTS:
            headers.append(_VARY)  # CORS answers differ by Origin (gateway.http.discovery)
        max_age = CACHE_SECONDS if endpoint in _DOCUMENT_ENDPOINTS else None
        headers += cache_headers(max_age, status)
        start_response(_status_line(status), headers)
        record_request(endpoint, method, status, started)
        return [body] if body and method != "HEAD" else []

    def _document(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        endpoint: str,
        body_of: Callable[[], bytes],
        tagged: Tagged,
    ) -> Iterable[bytes]:
        def produce() -> tuple[int, bytes, Headers]:
            status, body, headers = document_answer(
                body_of(), tagged, environ.get("HTTP_IF_NONE_MATCH")
            )
            if status == 200:
                headers.append(("Content-Length", str(len(body))))
            return status, body, headers

        return self._answer(environ, start_response, endpoint, produce)

    # ------------------------------------------------------------------ form posts

    def _form(self, environ: dict[str, Any]) -> tuple[tuple[str, str], ...] | None:
        """The form's parameters, or ``None`` for a request that Flask must take (the body,
        if read, is put back for it)."""
        ctype = environ.get("CONTENT_TYPE", "")
        if ctype.partition(";")[0].strip().lower() != _FORM:
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        if length < 0 or length > self._max_body:
            return None
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            environ["wsgi.input"] = io.BytesIO(raw)
            return None
        return tuple(parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote"))

    def _post(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        path: str,
        params: tuple[tuple[str, str], ...],
        endpoint: str,
        handle: Callable[[IncomingRequest], tuple[int, Any, Headers]],
    ) -> Iterable[bytes]:
        def produce() -> tuple[int, bytes, Headers]:
            incoming = IncomingRequest(
                method="POST",
                path=path,
                params=params,
                authorization=environ.get("HTTP_AUTHORIZATION"),
                remote_addr=client_address(
                    environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR", ""), self._hops
                ),
            )
            status, document, own = handle(incoming)
            body = compact_json(document)
            return status, body, [_JSON, ("Content-Length", str(len(body))), *own]

        return self._answer(environ, start_response, endpoint, produce)

    def _token(self, incoming: IncomingRequest) -> tuple[int, Any, Headers]:
        result = self._services.oauth.token(incoming)
        return result.status, result.body, token_headers(result)

    @staticmethod
    def _endpoint(
        call: Callable[[IncomingRequest], dict[str, Any]],
    ) -> Callable[[IncomingRequest], tuple[int, Any, Headers]]:
        def handle(incoming: IncomingRequest) -> tuple[int, Any, Headers]:
            return 200, call(incoming), []

        return handle


def _status_line(status: int) -> str:
    """As Werkzeug writes it (``401 UNAUTHORIZED``)."""
    return f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN').upper()}"
