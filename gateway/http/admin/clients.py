"""Clients (the relying parties): list, register, change, rotate the secret, disable and
enable — the pages under ``/admin/clients`` and the API under ``/admin/api/clients``."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import request
from flask import url_for

from gateway.admin.client_changes import change_client
from gateway.admin.client_changes import disable_client
from gateway.admin.clients import describe_client
from gateway.admin.clients import register_client
from gateway.admin.clients import rotate_client_secret
from gateway.admin.clients import set_client_disabled
from gateway.core.audit import audit
from gateway.core.errors import Conflict
from gateway.core.errors import NotFound
from gateway.core.errors import ValidationFailed
from gateway.core.factors import ACR_VALUES
from gateway.core.types import Client
from gateway.core.types import TokenFormat
from gateway.http.admin.common import actor
from gateway.http.admin.common import api_view
from gateway.http.admin.common import bp
from gateway.http.admin.common import flash
from gateway.http.admin.common import message
from gateway.http.admin.common import page
from gateway.http.admin.common import to_json
from gateway.http.admin.forms import form_scopes
from gateway.http.admin.forms import json_body
from gateway.http.admin.forms import lines
from gateway.http.admin.forms import str_field
from gateway.http.admin.forms import str_list
from gateway.http.deps import services
from gateway.http.session_cookie import see_other


def _client_list() -> list[Client]:
    with services().uow(read_only=True) as tx:
        return sorted(tx.clients.list(), key=lambda c: c.client_id)


def _client_or_404(client_id: str) -> Client:
    with services().uow(read_only=True) as tx:
        client = tx.clients.get(client_id) if len(client_id) <= 255 else None
    if client is None:
        raise NotFound("client not found")
    return client


def _token_format(value: str) -> TokenFormat:
    try:
        return TokenFormat(value)
    except ValueError:
        raise ValidationFailed(["token_format: jwt or opaque"]) from None


def _register(data: dict[str, Any]) -> tuple[Client, str | None]:
    svc = services()
    client_id = str_field(data, "client_id", required=True, limit=128)
    client = Client(
        client_id=client_id,
        redirect_uris=str_list(data, "redirect_uris") or (),
        scopes=str_list(data, "scopes") or ("openid",),
        grant_types=str_list(data, "grant_types") or ("authorization_code", "refresh_token"),
        name=str_field(data, "name") or client_id,
        token_endpoint_auth_method=str_field(data, "token_endpoint_auth_method")
        or "client_secret_basic",
        token_format=_token_format(str_field(data, "token_format") or "jwt"),
        post_logout_redirect_uris=str_list(data, "post_logout_redirect_uris") or (),
        backchannel_logout_uri=str_field(data, "backchannel_logout_uri") or None,
        introspection_allowed=bool(data.get("introspection_allowed", False)),
        min_acr=str_field(data, "min_acr", limit=64) or None,
    )
    stored, secret = register_client(
        svc.uow, svc.clock, svc.pepper, svc.config.scopes, client, None
    )
    with svc.uow() as tx:
        audit(tx, svc.clock.now(), "admin.client_registered", client_id=client_id, actor=actor())
        tx.commit()
    return stored, secret


# --------------------------------------------------------------------------- pages


@bp.get("/clients")
def clients_page() -> Response:
    return page(
        "admin_clients.html",
        clients=_client_list(),
        catalogue=services().config.scopes,
        acr_values=ACR_VALUES,
    )


@bp.post("/clients")
def clients_register() -> Response:
    data = {
        "client_id": request.form.get("client_id", ""),
        "name": request.form.get("name", ""),
        "redirect_uris": list(lines(request.form.get("redirect_uris", ""))),
        "scopes": list(form_scopes()),
        "introspection_allowed": request.form.get("introspection_allowed") == "1",
        "min_acr": request.form.get("min_acr", ""),
    }
    try:
        client, secret = _register(data)
    except (ValidationFailed, Conflict) as exc:
        problems = exc.problems if isinstance(exc, ValidationFailed) else [str(exc)]
        return page(
            "admin_clients.html",
            400,
            clients=_client_list(),
            catalogue=services().config.scopes,
            acr_values=ACR_VALUES,
            problems=problems,
        )
    flash("admin_client_registered", client_id=client.client_id, secret=secret)
    return see_other(url_for("admin.client_page", client_id=client.client_id), 303)


@bp.get("/clients/<client_id>")
def client_page(client_id: str) -> Response:
    try:
        client = _client_or_404(client_id)
    except NotFound:
        return message("error_title", "error_not_found", 404)
    return page(
        "admin_client.html",
        client=client,
        catalogue=services().config.scopes,
        acr_values=ACR_VALUES,
    )


@bp.post("/clients/<client_id>")
def client_update(client_id: str) -> Response:
    svc = services()
    changes: dict[str, object] = {
        "redirect_uris": lines(request.form.get("redirect_uris", "")),
        "scopes": form_scopes(),
    }
    if "min_acr" in request.form:
        changes["min_acr"] = request.form["min_acr"] or None
    name = request.form.get("name", "").strip()
    if name:
        changes["name"] = name
    try:
        _, revoked = change_client(
            svc.uow, svc.clock, svc.config.scopes, client_id, changes, actor(), svc.grant_revoker
        )
    except NotFound:
        return message("error_title", "error_not_found", 404)
    except ValidationFailed as exc:
        client = _client_or_404(client_id)
        return page(
            "admin_client.html",
            400,
            client=client,
            catalogue=svc.config.scopes,
            acr_values=ACR_VALUES,
            problems=exc.problems,
        )
    flash("admin_client_updated", grants=revoked)
    return see_other(url_for("admin.client_page", client_id=client_id), 303)


@bp.post("/clients/<client_id>/rotate-secret")
def client_rotate(client_id: str) -> Response:
    svc = services()
    try:
        secret = rotate_client_secret(svc.uow, svc.clock, svc.pepper, client_id, actor=actor())
    except NotFound:
        return message("error_title", "error_not_found", 404)
    flash("admin_secret_rotated", secret=secret)
    return see_other(url_for("admin.client_page", client_id=client_id), 303)


@bp.post("/clients/<client_id>/disable")
def client_disable(client_id: str) -> Response:
    svc = services()
    try:
        _, revoked = disable_client(svc.uow, svc.clock, client_id, actor(), svc.grant_revoker)
    except NotFound:
        return message("error_title", "error_not_found", 404)
    flash("admin_client_disabled", grants=revoked)
    return see_other(url_for("admin.client_page", client_id=client_id), 303)


@bp.post("/clients/<client_id>/enable")
def client_enable(client_id: str) -> Response:
    svc = services()
    try:
        set_client_disabled(svc.uow, svc.clock, client_id, False, actor=actor())
    except NotFound:
        return message("error_title", "error_not_found", 404)
    flash("admin_client_enabled")
    return see_other(url_for("admin.client_page", client_id=client_id), 303)


# --------------------------------------------------------------------------- JSON API


@bp.get("/api/clients")
@api_view
def api_clients() -> Response:
    return to_json({"clients": [describe_client(c) for c in _client_list()]})


@bp.post("/api/clients")
@api_view
def api_clients_register() -> Response:
    client, secret = _register(json_body())
    return to_json({"client": describe_client(client), "client_secret": secret}, 201)


@bp.get("/api/clients/<client_id>")
@api_view
def api_client(client_id: str) -> Response:
    return to_json(describe_client(_client_or_404(client_id)))


@bp.post("/api/clients/<client_id>")
@api_view
def api_client_update(client_id: str) -> Response:
    svc = services()
    data = json_body()
    allowed = {"redirect_uris", "scopes", "name", "post_logout_redirect_uris", "min_acr"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed([f"{k}: cannot be changed here" for k in unknown])
    changes: dict[str, object] = {}
    for key in ("redirect_uris", "scopes", "post_logout_redirect_uris"):
        values = str_list(data, key)
        if values is not None:
            changes[key] = values
    if "name" in data:
        changes["name"] = str_field(data, "name", required=True)
    if "min_acr" in data:
        changes["min_acr"] = str_field(data, "min_acr", limit=64) or None
    client, revoked = change_client(
        svc.uow, svc.clock, svc.config.scopes, client_id, changes, actor(), svc.grant_revoker
    )
    return to_json({"client": describe_client(client), "grants_revoked": revoked})


@bp.post("/api/clients/<client_id>/rotate-secret")
@api_view
def api_client_rotate(client_id: str) -> Response:
    svc = services()
    secret = rotate_client_secret(svc.uow, svc.clock, svc.pepper, client_id, actor=actor())
    return to_json({"client_id": client_id, "client_secret": secret})


@bp.post("/api/clients/<client_id>/disable")
@api_view
def api_client_disable(client_id: str) -> Response:
    svc = services()
    client, revoked = disable_client(svc.uow, svc.clock, client_id, actor(), svc.grant_revoker)
    return to_json({"client": describe_client(client), "grants_revoked": revoked})


@bp.post("/api/clients/<client_id>/enable")
@api_view
def api_client_enable(client_id: str) -> Response:
    svc = services()
    client = set_client_disabled(svc.uow, svc.clock, client_id, False, actor=actor())
    return to_json({"client": describe_client(client)})
