"""Blueprint ``discovery``: ``/.well-known/openid-configuration`` and ``/jwks``.

Both are public and cacheable (no personal data; five minutes, shorter than any key
rotation step, so relying parties see a new ``next`` key well before it signs; SECURITY.md
R8) and answer CORS requests from ``server.cors_origins`` only (T3).
"""

from __future__ import annotations

import json

from flask import Blueprint
from flask import Response
from flask import request

from gateway.http.authz_response import oauth_provider
from gateway.http.deps import services
from gateway.http.errors import json_errors
from gateway.http.security import cacheable
from gateway.http.security import csrf_exempt
from gateway.oauth.context import PATH_DISCOVERY
from gateway.oauth.context import PATH_JWKS

CACHE_SECONDS = 300

bp = Blueprint("discovery", __name__)


def _json(body: object) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), mimetype="application/json")


@bp.get(PATH_DISCOVERY)
@csrf_exempt
@json_errors
@cacheable(CACHE_SECONDS)
def configuration() -> Response:
    """OIDC Discovery §4 (see ``gateway.oauth.discovery``)."""
    return _json(oauth_provider().discovery())


@bp.get(PATH_JWKS)
@csrf_exempt
@json_errors
@cacheable(CACHE_SECONDS)
def jwks() -> Response:
    """RFC 7517 §5: the published public keys (T2)."""
    return _json(oauth_provider().jwks())


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
