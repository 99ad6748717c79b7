"""Authorize (``/aas/oauth2/ac`` v1, ``/aas/oauth2/v2/ac`` v2) and the login page that
follows it (``/sandbox/login``: pick a persona or cancel).

An unknown system or an unregistered ``redirect_uri`` gets an error page (never a
redirect to an unregistered address); every other problem is a redirect with ``error``,
``error_description=ESIA-NNNNNN: …`` and ``state``.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid

from flask import Response
from flask import render_template
from flask import request
from werkzeug.datastructures import MultiDict

from providers.upstream.esia_sandbox.common import bp
from providers.upstream.esia_sandbox.common import current_sandbox
from providers.upstream.esia_sandbox.common import error_page
from providers.upstream.esia_sandbox.common import faulty
from providers.upstream.esia_sandbox.common import redirect_with
from providers.upstream.esia_sandbox.errors import EsiaFailure
from providers.upstream.esia_sandbox.sandbox import Sandbox
from providers.upstream.esia_sandbox.sandbox import System
from providers.upstream.esia_sandbox.state import CodeGrant
from providers.upstream.esia_sandbox.state import PendingLogin

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PENDING_TTL_SECONDS = 900


@bp.get("/aas/oauth2/ac")
def authorize_v1() -> Response:
    return _authorize("v1")


@bp.get("/aas/oauth2/v2/ac")
def authorize_v2() -> Response:
    return _authorize("v2")


def _authorize(protocol: str) -> Response:
    fault = faulty("authorize")
    if fault is not None:
        return fault
    current = current_sandbox()
    args = request.args
    client_id = args.get("client_id", "")
    redirect_uri = args.get("redirect_uri", "")
    if not client_id:
        return error_page(EsiaFailure("007014", "client_id"))
    system = current.systems.get(client_id)
    if system is None:
        return error_page(EsiaFailure("007002"))
    if redirect_uri not in system.spec.redirect_uris:
        return error_page(EsiaFailure("007023"))
    state = args.get("state", "")
    try:
        scopes = _checked_scopes(current, system, protocol, args)
    except EsiaFailure as failure:
        return redirect_with(
            redirect_uri,
            {"error": failure.error, "error_description": failure.description, "state": state},
        )
    txn = secrets.token_urlsafe(24)
    current.state.add_pending(
        txn,
        PendingLogin(
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=state,
            access_type=args.get("access_type", "online"),
            protocol=protocol,
            expires=time.time() + PENDING_TTL_SECONDS,
        ),
    )
    body = render_template(
        "login.html",
        txn=txn,
        client_id=client_id,
        scopes=scopes,
        personas=list(current.personas.values()),
    )
    return Response(body, mimetype="text/html")


def _checked_scopes(
    current: Sandbox, system: System, protocol: str, args: MultiDict[str, str]
) -> tuple[str, ...]:
    """The requested scopes once the request holds (parameters, timestamp, signature,
    scopes, an injected ``authorize_error``); else :class:`EsiaFailure`."""
    client_id, redirect_uri = args.get("client_id", ""), args.get("redirect_uri", "")
    state = args.get("state", "")
    required = ["client_secret", "scope", "response_type", "state", "timestamp"]
    if protocol == "v2":
        required.append("client_certificate_hash")
    for name in required:
        if not args.get(name):
            raise EsiaFailure("007014", name)
    if args["response_type"] != "code":
        raise EsiaFailure("007009")
    if not _UUID.match(state):
        raise EsiaFailure("007003", "state")
    current.check_timestamp(args["timestamp"])
    scope = args["scope"]
    if protocol == "v2":
        current.check_hash(system, args["client_certificate_hash"])
        current.check_v2(
            system,
            args["client_secret"],
            f"{client_id}{scope}{args.get('scope_org', '')}{args['timestamp']}{state}"
            f"{redirect_uri}",
        )
    else:
        current.check_v1(
            system, args["client_secret"], f"{scope}{args['timestamp']}{client_id}{state}"
        )
    scopes = current.check_scopes(system, scope)
    injected = current.state.faults.authorize_error
    if injected:
        current.state.consume_fault()
        raise EsiaFailure(injected)
    return scopes


@bp.post("/sandbox/login")
def login() -> Response:
    current = current_sandbox()
    pending = current.state.take_pending(request.form.get("txn", ""))
    if pending is None:
        return error_page(EsiaFailure("007003", "the login form expired; start again"))
    if request.form.get("action") == "cancel":
        failure = EsiaFailure("007004")
        return redirect_with(
            pending.redirect_uri,
            {
                "error": "access_denied",
                "error_description": failure.description,
                "state": pending.state,
            },
        )
    persona = current.personas.get(request.form.get("persona", ""))
    if persona is None:
        return error_page(EsiaFailure("007003", "persona"))
    code = secrets.token_urlsafe(48)
    now = time.time()
    current.state.add_code(
        code,
        CodeGrant(
            client_id=pending.client_id,
            persona_id=persona.id,
            scopes=pending.scopes,
            redirect_uri=pending.redirect_uri,
            access_type=pending.access_type,
            sid=str(uuid.uuid4()),
            auth_time=int(now),
            expires=now + current.config.code_ttl_seconds,
        ),
    )
    return redirect_with(pending.redirect_uri, {"code": code, "state": pending.state})
