"""Blueprint ``discovery``: ``/.well-known/openid-configuration`` and ``/jwks``.

Both are public and cacheable (no personal data; five minutes, shorter than any key
rotation step, so relying parties see a new ``next`` key well before it signs; SECURITY.md
R8) and answer CORS requests from ``server.cors_origins`` only (T3).

Both bodies are precomputed bytes (the provider encodes the discovery document once; the
key manager re-encodes the JWKS only when its key-table snapshot changes, which follows a
rotation in any process within its cache TTL). Each carries a strong ``ETag``, a hash of
the body alone, so every worker and every node with the same config and keys gives the
same one; a matching ``If-None-Match`` gets ``304 Not Modified`` (RFC 9110 §13.1.2).
"""

from __future__ import annotations

import base64
import hashlib

from flask import Blueprint
from flask import Response
from flask import request
from werkzeug.http import parse_etags

from gateway.http.authz_response import oauth_provider
from gateway.http.deps import services
from gateway.http.errors import json_errors
from gateway.http.security import cacheable
from gateway.http.security import csrf_exempt
from gateway.oauth.context import PATH_DISCOVERY
from gateway.oauth.context import PATH_JWKS

CACHE_SECONDS = 300

bp = Blueprint("discovery", __name__)


class Tagged:
    """The last body seen and its ``ETag``, recomputed only when a new body object comes."""

    def __init__(self) -> None:
        self._last: tuple[bytes, str] = (b"", "")

    def etag(self, body: bytes) -> str:
        last = self._last
        if last[0] is body:
            return last[1]
        digest = hashlib.sha256(body).digest()[:18]
        tag = base64.urlsafe_b64encode(digest).decode()
        self._last = (body, tag)  # one atomic assignment: threads may race, never tear
        return tag


DISCOVERY_TAG = Tagged()
JWKS_TAG = Tagged()


def document_answer(
    body: bytes, tagged: Tagged, if_none_match: str | None
) -> tuple[int, bytes, list[tuple[str, str]]]:
    """Status, body and headers of a published document: ``304`` with only its ``ETag``
    when ``If-None-Match`` matches it (weakly, RFC 9110 §13.1.2), else the JSON body.
    ``Cache-Control`` comes from the security hooks (the views are ``cacheable``)."""
    tag = tagged.etag(body)
    etag = ("ETag", f'"{tag}"')
    if if_none_match and parse_etags(if_none_match).contains_weak(tag):
        return 304, b"", [etag]
    return 200, body, [("Content-Type", "application/json"), etag]


def _document(body: bytes, tagged: Tagged) -> Response:
    status, content, headers = document_answer(body, tagged, request.headers.get("If-None-Match"))
    return Response(content, status=status, headers=headers)


@bp.get(PATH_DISCOVERY)
@csrf_exempt
@json_errors
@cacheable(CACHE_SECONDS)
def configuration() -> Response:
    """OIDC Discovery §4 (see ``gateway.oauth.discovery``)."""
    return _document(oauth_provider().discovery_json(), DISCOVERY_TAG)


@bp.get(PATH_JWKS)
@csrf_exempt
@json_errors
@cacheable(CACHE_SECONDS)
def jwks() -> Response:
    """RFC 7517 §5: the published public keys (T2)."""
    return _document(oauth_provider().jwks_json(), JWKS_TAG)


@bp.after_request
def _cors(response: Response) -> Response:
    if request.endpoint in ("discovery.configuration", "discovery.jwks"):
        apply_cors(response, "GET, OPTIONS")
    return response


def apply_cors(response: Response, methods: str) -> None:
    """Echo an allow-listed ``Origin`` (never ``null``, never with credentials; RFC 9700
    §2.6, SECURITY.md T3)."""
    response.headers.add("Vary", "Origin")
    origin = request.headers.get("Origin")
    if not origin or origin == "null" or origin not in services().config.server.cors_origins:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = methods
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
