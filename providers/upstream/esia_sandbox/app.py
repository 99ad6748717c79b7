"""The ESIA sandbox: a stand-alone Flask app that behaves like ESIA for vhod's dev and tests.

Never imported by the gateway (an import-linter contract keeps it out); only the CLI
(``vhod sandbox``), the dev runner and the tests use it. What it serves (ESIA.md §11):

* authorize: ``/aas/oauth2/ac`` (v1, detached CMS ``client_secret`` over
  ``scope+timestamp+client_id+state``) and ``/aas/oauth2/v2/ac`` (v2, raw signature over
  ``client_id+scope+scope_org+timestamp+state+redirect_uri`` + ``client_certificate_hash``);
  a login page lists the personas (form field ``persona``) and has a cancel button;
* token: ``/aas/oauth2/te`` (v1), ``/aas/oauth2/v2/te`` and ``/aas/oauth2/v3/te`` (v3:
  ``…+code``; refresh in both documented variants, §3.1); the token request's ``state`` is
  echoed; codes are single use (a reused code also revokes what it issued);
* REST: ``/rs/prns/{oid}``, ``/ctts``, ``/docs``, ``/kids``, ``/kids/{id}/docs`` (and each
  item), with the ``elements`` envelope and ``embed`` (§5.1), filtered by granted scopes;
* ``/idp/ext/Logout?client_id=…&redirect_url=…``;
* dev/test only: ``GET /sandbox/personas`` (JSON), ``POST|GET|DELETE /sandbox/faults``.

Checks, answered with ESIA's codes and shapes (§7): authorize errors are redirects with
``error``, ``error_description=ESIA-NNNNNN: …`` and ``state`` — except an unknown system or
an unregistered ``redirect_uri``, which get an error page (never a redirect to an
unregistered address); token errors are HTTP 400 JSON with ``state``.

Tokens (§3.3): header ``{"ver":1,"typ":"JWT","sbt":"access","alg":…}`` (id_token ``sbt:"id"``,
``ver:0``); scope entries suffixed ``?oid=``; ``iss`` http with a trailing slash; signed
``RS256`` or ``GOST3410_2012_256`` as each registered system is set up.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from urllib.parse import urlsplit

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request

from providers.upstream.esia.certificates import GostCertificate
from providers.upstream.esia.certificates import parse_certificate
from providers.upstream.esia.gost import GostError
from providers.upstream.esia.signing import verify_v1_cms
from providers.upstream.esia.signing import verify_v2
from providers.upstream.esia_sandbox.config import ALL_SCOPES
from providers.upstream.esia_sandbox.config import SandboxConfig
from providers.upstream.esia_sandbox.config import SystemSpec
from providers.upstream.esia_sandbox.crypto import SandboxKeys
from providers.upstream.esia_sandbox.crypto import ensure_system_key
from providers.upstream.esia_sandbox.crypto import load_or_create_keys
from providers.upstream.esia_sandbox.crypto import sign_jwt
from providers.upstream.esia_sandbox.personas import Persona
from providers.upstream.esia_sandbox.personas import etag
from providers.upstream.esia_sandbox.personas import load_personas
from providers.upstream.esia_sandbox.state import CodeGrant
from providers.upstream.esia_sandbox.state import Faults
from providers.upstream.esia_sandbox.state import PendingLogin
from providers.upstream.esia_sandbox.state import SandboxState

__all__ = ["ESIA_MESSAGES", "Sandbox", "create_sandbox_app"]

log = logging.getLogger(__name__)

ESIA_MESSAGES = {
    "002000": "Internal error",
    "007002": "The client certificate does not match the mnemonic or is not registered",
    "007003": "The request contains an invalid or repeated parameter",
    "007004": "The resource owner or authorization server denied the request.",
    "007005": "The client is not authorized to request an access token using this method.",
    "007006": "The requested scope is invalid, unknown, or malformed.",
    "007007": "The authorization server encountered an unexpected condition",
    "007008": "The authorization server is currently unable to handle the request",
    "007009": "The authorization server does not support this method",
    "007011": "The provided authorization grant is invalid, expired or revoked",
    "007012": "The authorization grant type is not supported",
    "007013": "The request does not contain the scope",
    "007014": "The request doesn't contain the mandatory parameter",
    "007015": "The request contains a wrong timestamp",
    "007019": "The system has no permission for the requested scope",
    "007023": "The redirect_uri is not registered for the system",
    "007053": "OAuthErrorEnum.clientSecretWrong",
    "007055": "Вход в систему осуществляется с неподтвержденной учетной записью",
}
"""Descriptions as ESIA writes them (English or enum names, ESIA.md §7)."""

ERROR_NAMES = {
    "007004": "access_denied",
    "007005": "unauthorized_client",
    "007006": "invalid_scope",
    "007007": "server_error",
    "007008": "temporarily_unavailable",
    "007009": "unsupported_response_type",
    "007011": "invalid_grant",
    "007012": "unsupported_grant_type",
    "007019": "invalid_scope",
    "007053": "access_denied",
    "007055": "access_denied",
}
"""``error`` per code; the rest is ``invalid_request`` (inferred per RFC 6749, ESIA.md §7)."""

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TIMESTAMP_FORMAT = "%Y.%m.%d %H:%M:%S %z"
PENDING_TTL_SECONDS = 900
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


class EsiaFailure(Exception):
    """An ESIA error answer: ``code`` is the six-digit ESIA code."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail

    @property
    def error(self) -> str:
        return ERROR_NAMES.get(self.code, "invalid_request")

    @property
    def description(self) -> str:
        text = ESIA_MESSAGES.get(self.code, "Error")
        if self.detail:
            text = f"{text} [{self.detail}]"
        return f"ESIA-{self.code}: {text}"


@dataclass(frozen=True)
class System:
    spec: SystemSpec
    certificate: GostCertificate


class Sandbox:
    """Everything one sandbox app holds: settings, systems, personas, keys, state."""

    def __init__(self, data_dir: Path, config: SandboxConfig) -> None:
        self.data_dir = data_dir
        self.config = config
        self.keys: SandboxKeys = load_or_create_keys(data_dir)
        self.systems: dict[str, System] = {}
        for spec in config.systems:
            if spec.certificate_path:
                cert = parse_certificate(Path(spec.certificate_path).read_bytes())
            else:
                cert = ensure_system_key(data_dir, spec.client_id)
            self.systems[spec.client_id] = System(spec, cert)
        self.personas: dict[str, Persona] = load_personas(data_dir / "personas.json")
        self.by_oid = {p.oid: p for p in self.personas.values()}
        self.state = SandboxState()

    # --------------------------------------------------------------- checks

    def check_timestamp(self, value: str) -> None:
        try:
            sent = datetime.strptime(value, _TIMESTAMP_FORMAT).timestamp()  # noqa: DTZ007 (%z)
        except ValueError:
            raise EsiaFailure("007003", "timestamp") from None
        if abs(time.time() - sent) > self.config.timestamp_skew_seconds:
            raise EsiaFailure("007015")

    @staticmethod
    def check_hash(system: System, value: str) -> None:
        # Hex, case-insensitive (ESIA.md §11); a wrong hash is 007053 (ILI#7).
        if value.strip().upper() != system.certificate.client_certificate_hash:
            raise EsiaFailure("007053")

    @staticmethod
    def check_v2(system: System, secret: str, *texts: str) -> None:
        if not any(verify_v2(system.certificate, text, secret) for text in texts):
            raise EsiaFailure("007053")

    @staticmethod
    def check_v1(system: System, secret: str, text: str) -> None:
        try:
            verify_v1_cms(secret, text, [system.certificate])
        except (GostError, ValueError, TypeError, KeyError):  # SignatureInvalid is a GostError
            raise EsiaFailure("007053") from None

    def check_scopes(self, system: System, scope: str) -> tuple[str, ...]:
        scopes = tuple(scope.split())
        if not scopes:
            raise EsiaFailure("007013")
        if any(s not in ALL_SCOPES for s in scopes):
            raise EsiaFailure("007006")
        if any(s not in system.spec.scopes for s in scopes):
            raise EsiaFailure("007019")
        return scopes

    # --------------------------------------------------------------- tokens

    def issue_tokens(self, system: System, grant: CodeGrant, echo_state: str) -> dict[str, Any]:
        persona = self.personas[grant.persona_id]
        defect = self.state.faults.token_defect
        if defect:
            self.state.consume_fault()
        now = int(time.time())
        ttl = self.config.access_token_ttl_seconds
        alg = system.spec.token_alg
        oid = persona.oid
        iss = "http://evil.example/" if defect == "iss" else self.config.issuer
        exp, nbf, iat = now + ttl, now, now
        if defect == "expired":
            exp, nbf, iat = now - 3600, now - 7200, now - 7200
        if defect == "not_yet_valid":
            nbf, iat = now + 3600, now + 3600
        scope_claim = " ".join(s if s == "openid" else f"{s}?oid={oid}" for s in grant.scopes)
        access_claims = {
            "nbf": nbf,
            "scope": scope_claim,
            "iss": iss,
            "urn:esia:sid": grant.sid,
            "urn:esia:sbj_id": oid,
            "exp": exp,
            "iat": iat,
            "client_id": "OTHER_SYSTEM" if defect == "client_id" else system.spec.client_id,
        }
        access_header = {
            "ver": 1,
            "typ": "JWT",
            "sbt": "id" if defect == "sbt" else "access",
            "alg": alg,
        }
        access_token = sign_jwt(self.keys, access_header, access_claims)
        if defect == "signature":
            head, body, sig = access_token.split(".")
            flipped = "A" if sig[10] != "A" else "B"
            access_token = f"{head}.{body}.{sig[:10]}{flipped}{sig[11:]}"
        answer: dict[str, Any] = {"access_token": access_token}
        if "openid" in grant.scopes:
            sbj: dict[str, Any] = {
                "urn:esia:sbj:typ": "P",
                "urn:esia:sbj:oid": oid,
                "urn:esia:sbj:nam": f"OID.{oid}",
                "urn:esia:sbj:lvl": persona.lvl,
            }
            if persona.trusted:
                sbj["urn:esia:sbj:is_tru"] = True
            id_claims = {
                "aud": "OTHER_SYSTEM" if defect == "aud" else system.spec.client_id,
                "sub": oid,
                "nbf": nbf,
                "amr": "PWD",
                "urn:esia:amd": "PWD",
                "auth_time": grant.auth_time,
                "iss": iss,
                "urn:esia:sid": grant.sid,
                "urn:esia:sbj": sbj,
                "exp": exp,
                "iat": iat,
            }
            id_header = {"ver": 0, "typ": "JWT", "sbt": "id", "alg": alg}
            answer["id_token"] = sign_jwt(self.keys, id_header, id_claims)
        refresh = str(uuid.uuid4()) if grant.access_type == "offline" else None
        if refresh is not None:
            answer["refresh_token"] = refresh
        answer.update(
            {
                "state": str(uuid.uuid4()) if defect == "state" else echo_state,
                "token_type": "Bearer",
                "expires_in": ttl,
            }
        )
        self.state.add_tokens(grant, access_token, refresh, ttl)
        return answer


def _sandbox() -> Sandbox:
    sandbox = current_app.extensions["esia_sandbox"]
    assert isinstance(sandbox, Sandbox)  # noqa: S101 -- set by create_sandbox_app
    return sandbox


def _error_page(error: EsiaFailure, status: int = 400) -> Response:
    body = render_template("error.html", error=error.error, description=error.description)
    return Response(body, status=status, mimetype="text/html")


def _redirect_with(uri: str, params: dict[str, str]) -> Response:
    separator = "&" if urlsplit(uri).query else "?"
    return _redirect(f"{uri}{separator}{urlencode(params)}")


def _redirect(location: str) -> Response:
    return Response(status=302, headers={"Location": location})


def _faulty(endpoint: str) -> Response | None:
    """Apply injected latency / 5xx for ``endpoint`` (dev and tests only)."""
    sandbox = _sandbox()
    faults = sandbox.state.faults
    if endpoint not in faults.endpoints or not (faults.latency_ms or faults.http_status):
        return None
    faults = sandbox.state.consume_fault()
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    if faults.http_status:
        return Response("Service Unavailable (sandbox fault)", status=faults.http_status)
    return None


bp = Blueprint("sandbox", __name__)


# ------------------------------------------------------------------------------ authorize


@bp.get("/aas/oauth2/ac")
def authorize_v1() -> Response:
    return _authorize("v1")


@bp.get("/aas/oauth2/v2/ac")
def authorize_v2() -> Response:
    return _authorize("v2")


def _authorize(protocol: str) -> Response:
    fault = _faulty("authorize")
    if fault is not None:
        return fault
    sandbox = _sandbox()
    args = request.args
    client_id = args.get("client_id", "")
    redirect_uri = args.get("redirect_uri", "")
    if not client_id:
        return _error_page(EsiaFailure("007014", "client_id"))
    system = sandbox.systems.get(client_id)
    if system is None:
        return _error_page(EsiaFailure("007002"))
    if redirect_uri not in system.spec.redirect_uris:
        return _error_page(EsiaFailure("007023"))
    state = args.get("state", "")
    try:
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
        sandbox.check_timestamp(args["timestamp"])
        scope = args["scope"]
        if protocol == "v2":
            sandbox.check_hash(system, args["client_certificate_hash"])
            sandbox.check_v2(
                system,
                args["client_secret"],
                f"{client_id}{scope}{args.get('scope_org', '')}{args['timestamp']}{state}"
                f"{redirect_uri}",
            )
        else:
            sandbox.check_v1(
                system, args["client_secret"], f"{scope}{args['timestamp']}{client_id}{state}"
            )
        scopes = sandbox.check_scopes(system, scope)
        injected = sandbox.state.faults.authorize_error
        if injected:
            sandbox.state.consume_fault()
            raise EsiaFailure(injected)
    except EsiaFailure as failure:
        return _redirect_with(
            redirect_uri,
            {"error": failure.error, "error_description": failure.description, "state": state},
        )
    txn = secrets.token_urlsafe(24)
    sandbox.state.add_pending(
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
        personas=list(sandbox.personas.values()),
    )
    return Response(body, mimetype="text/html")


@bp.post("/sandbox/login")
def login() -> Response:
    sandbox = _sandbox()
    pending = sandbox.state.take_pending(request.form.get("txn", ""))
    if pending is None:
        return _error_page(EsiaFailure("007003", "the login form expired; start again"))
    if request.form.get("action") == "cancel":
        failure = EsiaFailure("007004")
        return _redirect_with(
            pending.redirect_uri,
            {
                "error": "access_denied",
                "error_description": failure.description,
                "state": pending.state,
            },
        )
    persona = sandbox.personas.get(request.form.get("persona", ""))
    if persona is None:
        return _error_page(EsiaFailure("007003", "persona"))
    code = secrets.token_urlsafe(48)
    now = time.time()
    sandbox.state.add_code(
        code,
        CodeGrant(
            client_id=pending.client_id,
            persona_id=persona.id,
            scopes=pending.scopes,
            redirect_uri=pending.redirect_uri,
            access_type=pending.access_type,
            sid=str(uuid.uuid4()),
            auth_time=int(now),
            expires=now + sandbox.config.code_ttl_seconds,
        ),
    )
    return _redirect_with(pending.redirect_uri, {"code": code, "state": pending.state})


# ------------------------------------------------------------------------------ token


@bp.post("/aas/oauth2/te")
def token_v1() -> Response:
    return _token("v1")


@bp.post("/aas/oauth2/v2/te")
@bp.post("/aas/oauth2/v3/te")
def token_v3() -> Response:
    return _token("v3")


def _token(protocol: str) -> Response:
    fault = _faulty("token")
    if fault is not None:
        return fault
    sandbox = _sandbox()
    form = request.form
    state = form.get("state", "")
    try:
        answer = _token_answer(sandbox, protocol, form, state)
    except EsiaFailure as failure:
        body = {"error": failure.error, "error_description": failure.description, "state": state}
        response = jsonify(body)
        response.status_code = 400
        return response
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


def _token_answer(sandbox: Sandbox, protocol: str, form: Any, state: str) -> dict[str, Any]:
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
    client_id = form["client_id"]
    system = sandbox.systems.get(client_id)
    if system is None:
        raise EsiaFailure("007002")
    injected = sandbox.state.faults.token_error
    if injected:
        sandbox.state.consume_fault()
        raise EsiaFailure(injected)
    sandbox.check_timestamp(form["timestamp"])
    scope, timestamp, secret = form["scope"], form["timestamp"], form["client_secret"]
    scope_org = form.get("scope_org", "")
    redirect_uri = form.get("redirect_uri", "")
    if protocol == "v1":
        sandbox.check_v1(system, secret, f"{scope}{timestamp}{client_id}{state}")
    else:
        if form.get("client_certificate_hash"):
            sandbox.check_hash(system, form["client_certificate_hash"])
        base = f"{client_id}{scope}{scope_org}{timestamp}{state}"
        if grant_type == "authorization_code":
            sandbox.check_v2(system, secret, f"{base}{redirect_uri}{form['code']}")
        else:
            # ESIA.md §3.1 [unsure]: accept both documented refresh variants.
            sandbox.check_v2(
                system,
                secret,
                f"{base}{redirect_uri}",
                f"{client_id}{scope}{timestamp}{state}{form['refresh_token']}",
            )
    if grant_type == "authorization_code":
        grant, first_use = sandbox.state.use_code(form["code"])
        if grant is None or not first_use or grant.client_id != client_id:
            raise EsiaFailure("007011")
        if grant.redirect_uri != redirect_uri:
            raise EsiaFailure("007011", "redirect_uri")
    else:
        maybe = sandbox.state.use_refresh(form["refresh_token"])
        if maybe is None or maybe.client_id != client_id:
            raise EsiaFailure("007011")
        grant = maybe
    # GO: "scope and redirect_uri must be the same as in AuthURI"; a refresh may narrow it.
    asked = set(scope.split())
    if asked != set(grant.scopes) and not (
        grant_type == "refresh_token" and asked <= set(grant.scopes)
    ):
        raise EsiaFailure("007006")
    return sandbox.issue_tokens(system, grant, state)


# ------------------------------------------------------------------------------ REST


def _rest_guard(oid: int) -> tuple[Persona, tuple[str, ...]] | Response:
    fault = _faulty("rest")
    if fault is not None:
        return fault
    sandbox = _sandbox()
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.startswith("Bearer ") else ""
    grant = sandbox.state.token(token) if token else None
    if grant is None:
        response = jsonify({"code": "unauthorized", "message": "Unauthorized"})
        response.status_code = 401
        return response
    persona = sandbox.personas[grant.persona_id]
    if persona.oid != oid:
        return _forbidden()
    return persona, grant.scopes


def _forbidden() -> Response:
    response = jsonify({"code": "forbidden", "message": "Forbidden"})
    response.status_code = 403
    return response


def _not_found() -> Response:
    response = jsonify({"code": "not_found", "message": "Not found"})
    response.status_code = 404
    return response


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
    return f"{_sandbox().config.public_url}/rs/prns/{oid}"


def _collection(
    oid: int,
    suffix: str,
    view: Callable[[Persona, tuple[str, ...]], list[dict[str, Any]] | None],
    item_id: int | None,
) -> Response:
    guard = _rest_guard(oid)
    if isinstance(guard, Response):
        return guard
    persona, scopes = guard
    items = view(persona, scopes)
    if items is None:
        return _forbidden()
    if item_id is not None:
        item = next((i for i in items if i.get("id") == item_id), None)
        return jsonify(item) if item is not None else _not_found()
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
        return _not_found()
    return _collection(oid, f"kids/{kid_id}/docs", view, item_id)


# ------------------------------------------------------------------------------ logout


@bp.get("/idp/ext/Logout")
def logout() -> Response:
    fault = _faulty("logout")
    if fault is not None:
        return fault
    sandbox = _sandbox()
    system = sandbox.systems.get(request.args.get("client_id", ""))
    target = request.args.get("redirect_url", "")
    if system is None:
        return _error_page(EsiaFailure("007002"))
    origins = {_origin(uri) for uri in system.spec.redirect_uris}
    if not target or _origin(target) not in origins:
        return _error_page(EsiaFailure("007023", "redirect_url"))
    return _redirect(target)


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


# ------------------------------------------------------------------------------ dev/test admin


@bp.get("/")
def index() -> Response:
    sandbox = _sandbox()
    return jsonify(
        {
            "what": "vhod ESIA sandbox (dev and tests only; all data is made up)",
            "issuer": sandbox.config.issuer,
            "systems": {
                cid: {
                    "redirect_uris": list(s.spec.redirect_uris),
                    "token_alg": s.spec.token_alg,
                    "client_certificate_hash": s.certificate.client_certificate_hash,
                }
                for cid, s in sandbox.systems.items()
            },
            "personas": "/sandbox/personas",
        }
    )


@bp.get("/sandbox/personas")
def personas() -> Response:
    return jsonify([p.public() for p in _sandbox().personas.values()])


@bp.route("/sandbox/faults", methods=["GET", "POST", "DELETE"])
def faults() -> Response:
    sandbox = _sandbox()
    if not sandbox.config.faults_enabled:
        return _not_found()
    if request.method == "POST":
        try:
            sandbox.state.set_faults(Faults.from_json(request.get_json(silent=True)))
        except ValueError as exc:
            response = jsonify({"error": str(exc)})
            response.status_code = 400
            return response
    elif request.method == "DELETE":
        sandbox.state.set_faults(Faults())
    return jsonify(sandbox.state.faults.public())


def create_sandbox_app(data_dir: str | Path, config: SandboxConfig | None = None) -> Flask:
    """The sandbox WSGI app; key material and demo systems are created under ``data_dir``.

    :param data_dir: the sandbox's own directory (dev: ``<vhod data_dir>/esia-sandbox``).
    :param config: systems, issuer, timestamp window, faults; defaults for ``vhod dev``.
    """
    sandbox = Sandbox(Path(data_dir), config or SandboxConfig())
    app = Flask(__name__)
    app.extensions["esia_sandbox"] = sandbox
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # ESIA sends UTF-8 (§5)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.register_blueprint(bp)
    return app
