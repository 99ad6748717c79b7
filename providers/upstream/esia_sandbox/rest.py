"""The REST API (ESIA.md §5): ``/rs/prns/{oid}``, ``/ctts``, ``/docs``, ``/kids``,
``/kids/{id}/docs`` (and each item), with the ``elements`` envelope and ``embed`` (§5.1),
filtered by the scopes granted to the bearer token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response
from flask import jsonify
from flask import request

from providers.upstream.esia_sandbox.common import bp
from providers.upstream.esia_sandbox.common import current_sandbox
from providers.upstream.esia_sandbox.common import faulty
from providers.upstream.esia_sandbox.common import json_error
from providers.upstream.esia_sandbox.common import not_found
from providers.upstream.esia_sandbox.personas import Persona
from providers.upstream.esia_sandbox.personas import etag

PERSON_FIELDS = {
    "fullname": ("lastName", "firstName", "middleName"),
    "birthdate": ("birthDate",),
    "gender": ("gender",),
    "birthplace": ("birthPlace",),
    "citizenship": ("citizenship",),
    "snils": ("snils",),
    "inn": ("inn",),
}
PERSON_ALWAYS = ("stateFacts", "eTag", "trusted", "status", "verifying", "updatedOn", "rIdDoc")
KID_FIELDS = {
    "kid_fullname": ("lastName", "firstName", "middleName"),
    "kid_birthdate": ("birthDate",),
    "kid_gender": ("gender",),
    "kid_snils": ("snils",),
    "kid_inn": ("inn",),
}
BIRTH_CERTS = ("RF_BRTH_CERT", "FID_BRTH_CERT", "OLD_BRTH_CERT", "BRTH_CERT", "KID_RF_BRTH_CERT")
DOC_SCOPES = {
    "id_doc": ("RF_PASSPORT", "FID_DOC"),
    "birth_cert_doc": BIRTH_CERTS,
    "medical_doc": ("MDCL_PLCY",),
}
KID_DOC_SCOPES = {"kid_birth_cert_doc": BIRTH_CERTS, "kid_medical_doc": ("MDCL_PLCY",)}
CONTACT_SCOPES = {"mobile": ("MBT",), "email": ("EML",)}

View = Callable[[Persona, tuple[str, ...]], list[dict[str, Any]] | None]


def _rest_guard(oid: int) -> tuple[Persona, tuple[str, ...]] | Response:
    fault = faulty("rest")
    if fault is not None:
        return fault
    current = current_sandbox()
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.startswith("Bearer ") else ""
    grant = current.state.token(token) if token else None
    if grant is None:
        return json_error({"code": "unauthorized", "message": "Unauthorized"}, 401)
    persona = current.personas[grant.persona_id]
    if persona.oid != oid:
        return _forbidden()
    return persona, grant.scopes


def _forbidden() -> Response:
    return json_error({"code": "forbidden", "message": "Forbidden"}, 403)


def _embeds() -> set[str]:
    raw = request.args.get("embed", "")
    return {part.strip() for part in raw.strip("()").split(",") if part.strip()}


def _envelope(items: list[dict[str, Any]], url_base: str, inline: bool) -> dict[str, Any]:
    elements: list[Any] = items if inline else [f"{url_base}/{item['id']}" for item in items]
    return {
        "stateFacts": ["hasSize"],
        "size": len(items),
        "eTag": etag(items),
        "elements": elements,
    }


def _person_view(persona: Persona, scopes: tuple[str, ...]) -> dict[str, Any]:
    allowed = set(PERSON_ALWAYS)
    for scope, fields in PERSON_FIELDS.items():
        if scope in scopes:
            allowed.update(fields)
    return {k: v for k, v in persona.person.items() if k in allowed}


def _contacts_view(persona: Persona, scopes: tuple[str, ...]) -> list[dict[str, Any]] | None:
    if "contacts" in scopes:
        return list(persona.contacts)
    types = {t for s, ts in CONTACT_SCOPES.items() if s in scopes for t in ts}
    if not types:
        return None
    return [c for c in persona.contacts if c.get("type") in types]


def _docs_view(
    documents: tuple[dict[str, Any], ...],
    scopes: tuple[str, ...],
    table: dict[str, tuple[str, ...]],
) -> list[dict[str, Any]] | None:
    types = {t for s, ts in table.items() if s in scopes for t in ts}
    if not types:
        return None
    return [d for d in documents if d.get("type") in types]


def _kid_view(record: dict[str, Any], scopes: tuple[str, ...]) -> dict[str, Any]:
    allowed = {"id", "stateFacts", "eTag"}
    for scope, fields in KID_FIELDS.items():
        if scope in scopes:
            allowed.update(fields)
    return {k: v for k, v in record.items() if k in allowed}


def _kids_view(persona: Persona, scopes: tuple[str, ...]) -> list[dict[str, Any]] | None:
    if not any(s.startswith("kid_") for s in scopes):
        return None
    return [_kid_view(kid.record, scopes) for kid in persona.kids]


def _base(oid: int) -> str:
    return f"{current_sandbox().config.public_url}/rs/prns/{oid}"


def _collection(oid: int, suffix: str, view: View, item_id: int | None) -> Response:
    guard = _rest_guard(oid)
    if isinstance(guard, Response):
        return guard
    persona, scopes = guard
    items = view(persona, scopes)
    if items is None:
        return _forbidden()
    if item_id is not None:
        item = next((i for i in items if i.get("id") == item_id), None)
        return jsonify(item) if item is not None else not_found()
    return jsonify(_envelope(items, f"{_base(oid)}/{suffix}", "elements" in _embeds()))


@bp.get("/rs/prns/<int:oid>")
def person(oid: int) -> Response:
    guard = _rest_guard(oid)
    if isinstance(guard, Response):
        return guard
    persona, scopes = guard
    body = _person_view(persona, scopes)
    embeds = _embeds()
    nested = {
        "contacts": ("ctts", _contacts_view(persona, scopes)),
        "documents": ("docs", _docs_view(persona.documents, scopes, DOC_SCOPES)),
        "kids": ("kids", _kids_view(persona, scopes)),
    }
    for name, (suffix, items) in nested.items():
        if f"{name}.elements" in embeds and items is not None:
            body[name] = _envelope(items, f"{_base(oid)}/{suffix}", inline=True)
    return jsonify(body)


@bp.get("/rs/prns/<int:oid>/ctts")
@bp.get("/rs/prns/<int:oid>/ctts/<int:item_id>")
def contacts(oid: int, item_id: int | None = None) -> Response:
    return _collection(oid, "ctts", _contacts_view, item_id)


@bp.get("/rs/prns/<int:oid>/docs")
@bp.get("/rs/prns/<int:oid>/docs/<int:item_id>")
def documents(oid: int, item_id: int | None = None) -> Response:
    return _collection(oid, "docs", lambda p, s: _docs_view(p.documents, s, DOC_SCOPES), item_id)


@bp.get("/rs/prns/<int:oid>/kids")
@bp.get("/rs/prns/<int:oid>/kids/<int:item_id>")
def kids(oid: int, item_id: int | None = None) -> Response:
    return _collection(oid, "kids", _kids_view, item_id)


@bp.get("/rs/prns/<int:oid>/kids/<int:kid_id>/docs")
@bp.get("/rs/prns/<int:oid>/kids/<int:kid_id>/docs/<int:item_id>")
def kid_documents(oid: int, kid_id: int, item_id: int | None = None) -> Response:
    def view(persona: Persona, scopes: tuple[str, ...]) -> list[dict[str, Any]] | None:
        kid = persona.kid(str(kid_id))
        if kid is None:
            return None
        return _docs_view(kid.documents, scopes, KID_DOC_SCOPES)

    guard = _rest_guard(oid)
    if isinstance(guard, Response):
        return guard
    if guard[0].kid(str(kid_id)) is None:
        return not_found()
    return _collection(oid, f"kids/{kid_id}/docs", view, item_id)
