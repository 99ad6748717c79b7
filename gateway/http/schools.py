"""Blueprint ``schools``: the school registry's search and the roster push API.

* ``GET /schools?q=`` — JSON ``{"schools": [{id, full_name, short_name, inn, region_code,
  address}]}``; the query is a name (Cyrillic, case- and ё/е-insensitive, partial words) or
  an INN. ``GET /schools/search?q=`` — the same as a page.
* ``PUT /roster/<school_id>`` (full replace) and ``POST /roster/<school_id>`` (upsert) —
  for school systems: ``Authorization: Bearer`` with a client-credentials access token
  carrying the ``roster`` scope, for a school bound to that client (any other school is
  404, whether it exists or not). Body: ``{"pupils": [row, …]}`` (JSON, at most
  :data:`MAX_BODY_BYTES`; rows as ``gateway.core.rosters`` describes). A bad row writes
  nothing: 422 with ``errors`` (row index, field, code, ru, en — never the value).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint
from flask import Response
from flask import render_template
from flask import request

from gateway.admin.schools import MAX_ROSTER_ROWS
from gateway.admin.schools import RosterMode
from gateway.admin.schools import TooManyRows
from gateway.core.children import School
from gateway.core.errors import InvalidRequestError
from gateway.core.errors import InvalidTokenError
from gateway.core.errors import NotFound
from gateway.http.deps import services
from gateway.http.errors import json_errors
from gateway.http.oauth import json_response
from gateway.http.security import csrf_exempt

bp = Blueprint("schools", __name__)

MAX_BODY_BYTES = 4 * 1024 * 1024
ROSTER_SCOPE = "roster"


def _school_json(school: School) -> dict[str, Any]:
    return {
        "id": school.school_id,
        "full_name": school.full_name,
        "short_name": school.short_name,
        "inn": school.inn,
        "region_code": school.region_code,
        "address": school.address,
    }


@bp.get("/schools")
def search_json() -> Response:
    found = services().schools.search(request.args.get("q", ""))
    return json_response({"schools": [_school_json(s) for s in found]})


@bp.get("/schools/search")
def search_page() -> Response:
    query = request.args.get("q", "")[:100]
    found = services().schools.search(query) if query.strip() else None
    body = render_template("schools_search.html", query=query, schools=found)
    return Response(body, mimetype="text/html")


def _pushing_client() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidTokenError()
    return services().oauth.client_token(token.strip(), ROSTER_SCOPE)


@bp.route("/roster/<school_id>", methods=["PUT", "POST"])
@csrf_exempt
@json_errors
def push(school_id: str) -> Response:
    client_id = _pushing_client()
    if request.content_length is None or request.content_length > MAX_BODY_BYTES:
        return json_response({"error": "invalid_request", "error_description": "body size"}, 413)
    try:
        body = json.loads(request.get_data(cache=False))
    except ValueError:
        raise InvalidRequestError("The body is not JSON.") from None
    pupils = body.get("pupils") if isinstance(body, dict) else None
    if not isinstance(pupils, list):
        raise InvalidRequestError('Send {"pupils": [...]}.')
    mode = RosterMode.REPLACE if request.method == "PUT" else RosterMode.UPSERT
    try:
        result = services().schools.push_roster(client_id, school_id[:64], pupils, mode)
    except NotFound:
        return json_response({"error": "not_found"}, 404)
    except TooManyRows:
        description = f"At most {MAX_ROSTER_ROWS} pupils per request."
        return json_response({"error": "invalid_request", "error_description": description}, 413)
    return json_response(result.as_json(), 200 if result.ok else 422)
