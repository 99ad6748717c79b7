"""The token endpoint: ``/aas/oauth2/te`` (v1), ``/aas/oauth2/v2/te`` and
``/aas/oauth2/v3/te`` (v3: ``…+code``; refresh in both documented variants, ESIA.md §3.1).

The request's ``state`` is echoed; codes are single use (a reused code also revokes what it
issued); errors are HTTP 400 JSON with ``state``.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import jsonify
from flask import request

from providers.upstream.esia_sandbox.common import bp
from providers.upstream.esia_sandbox.common import current_sandbox
from providers.upstream.esia_sandbox.common import faulty
from providers.upstream.esia_sandbox.common import json_error
from providers.upstream.esia_sandbox.errors import EsiaFailure
from providers.upstream.esia_sandbox.sandbox import Sandbox
from providers.upstream.esia_sandbox.sandbox import System
from providers.upstream.esia_sandbox.state import CodeGrant


@bp.post("/aas/oauth2/te")
def token_v1() -> Response:
    return _token("v1")


@bp.post("/aas/oauth2/v2/te")
@bp.post("/aas/oauth2/v3/te")
def token_v3() -> Response:
    return _token("v3")


def _token(protocol: str) -> Response:
    fault = faulty("token")
    if fault is not None:
        return fault
    form = request.form
    state = form.get("state", "")
    try:
        answer = _token_answer(current_sandbox(), protocol, form, state)
    except EsiaFailure as failure:
        body = {"error": failure.error, "error_description": failure.description, "state": state}
        return json_error(body, 400)
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


def _token_answer(current: Sandbox, protocol: str, form: Any, state: str) -> dict[str, Any]:
    grant_type = form.get("grant_type", "")
    if grant_type not in ("authorization_code", "refresh_token"):
        raise EsiaFailure("007012") if grant_type else EsiaFailure("007014", "grant_type")
    required = ["client_id", "client_secret", "state", "scope", "timestamp"]
    required.append("code" if grant_type == "authorization_code" else "refresh_token")
    if grant_type == "authorization_code":
        required.append("redirect_uri")
        if protocol == "v3":
            required.append("client_certificate_hash")
    for name in required:
        if not form.get(name):
            raise EsiaFailure("007014", name)
    system = current.systems.get(form["client_id"])
    if system is None:
        raise EsiaFailure("007002")
    injected = current.state.faults.token_error
    if injected:
        current.state.consume_fault()
        raise EsiaFailure(injected)
    current.check_timestamp(form["timestamp"])
    _check_secret(current, system, protocol, grant_type, form, state)
    grant = _grant(current, grant_type, form)
    # GO: "scope and redirect_uri must be the same as in AuthURI"; a refresh may narrow it.
    asked = set(form["scope"].split())
    if asked != set(grant.scopes) and not (
        grant_type == "refresh_token" and asked <= set(grant.scopes)
    ):
        raise EsiaFailure("007006")
    return current.issue_tokens(system, grant, state)


def _check_secret(
    current: Sandbox, system: System, protocol: str, grant_type: str, form: Any, state: str
) -> None:
    """The v1 CMS or v2/v3 signature over the request's fields (and the certificate hash)."""
    client_id, scope, timestamp = form["client_id"], form["scope"], form["timestamp"]
    secret = form["client_secret"]
    scope_org = form.get("scope_org", "")
    redirect_uri = form.get("redirect_uri", "")
    if protocol == "v1":
        current.check_v1(system, secret, f"{scope}{timestamp}{client_id}{state}")
        return
    if form.get("client_certificate_hash"):
        current.check_hash(system, form["client_certificate_hash"])
    base = f"{client_id}{scope}{scope_org}{timestamp}{state}"
    if grant_type == "authorization_code":
        current.check_v2(system, secret, f"{base}{redirect_uri}{form['code']}")
    else:
        # ESIA.md §3.1 [unsure]: accept both documented refresh variants.
        current.check_v2(
            system,
            secret,
            f"{base}{redirect_uri}",
            f"{client_id}{scope}{timestamp}{state}{form['refresh_token']}",
        )


def _grant(current: Sandbox, grant_type: str, form: Any) -> CodeGrant:
    """The grant a code (first use, same client and ``redirect_uri``) or a refresh token
    (same client) names; else ``invalid_grant``."""
    client_id = form["client_id"]
    if grant_type == "authorization_code":
        grant, first_use = current.state.use_code(form["code"])
        if grant is None or not first_use or grant.client_id != client_id:
            raise EsiaFailure("007011")
        if grant.redirect_uri != form.get("redirect_uri", ""):
            raise EsiaFailure("007011", "redirect_uri")
        return grant
    maybe = current.state.use_refresh(form["refresh_token"])
    if maybe is None or maybe.client_id != client_id:
        raise EsiaFailure("007011")
    return maybe
