"""The OpenAPI 3.1 description of the admin API (served at ``/admin/openapi.json``).

Kept by hand next to the use cases; ``tests/features/admin`` walks the Flask URL map and
this document both ways, so a route without a description (or the reverse) fails CI.

Authentication: the admin's browser session (cookies ``vhod``, the SSO session, and
``vhod_admin``, the short admin session; ``__Host-`` prefixed outside dev). State-changing
requests also need ``X-CSRF-Token`` (from ``GET /admin/api/session``). Subjects appear as
digests only; request bodies (never URLs) may carry an internal subject id.
"""

from __future__ import annotations

from typing import Any

from gateway.core.factors import ACR_VALUES

OPENAPI_VERSION = "3.1.0"

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "error_description": {"type": "string"},
        "problems": {"type": "array", "items": {"type": "string"}},
    },
}

_MIN_ACR = {
    "type": ["string", "null"],
    "enum": [*ACR_VALUES, None],
    "description": "The weakest acr the client accepts; below it a second factor is asked "
    "for at every sign-in (null: no minimum of its own).",
}

_CLIENT = {
    "type": "object",
    "required": ["client_id", "redirect_uris", "scopes", "disabled"],
    "properties": {
        "client_id": {"type": "string"},
        "name": {"type": "string"},
        "redirect_uris": {"type": "array", "items": {"type": "string"}},
        "scopes": {"type": "array", "items": {"type": "string"}},
        "grant_types": {"type": "array", "items": {"type": "string"}},
        "token_endpoint_auth_method": {"type": "string"},
        "token_format": {"type": "string", "enum": ["jwt", "opaque"]},
        "introspection_allowed": {"type": "boolean"},
        "min_acr": _MIN_ACR,
        "disabled": {"type": "boolean"},
        "has_secret": {"type": "boolean"},
    },
    "additionalProperties": True,
}

_POLICY_VERSION = {
    "type": "object",
    "required": ["version", "sha256", "author", "active"],
    "properties": {
        "version": {"type": ["integer", "string"]},
        "sha256": {"type": "string"},
        "author": {"type": "string", "description": "An admin's subject digest, or cli."},
        "created_at": {"type": "number"},
        "applied_at": {"type": ["number", "null"]},
        "active": {"type": "boolean"},
        "comment": {"type": "string"},
        "text": {"type": "string", "description": "The TOML document (single version only)."},
    },
}

_PROBLEM = {
    "type": "object",
    "required": ["line", "message"],
    "properties": {"line": {"type": "integer"}, "message": {"type": "string"}},
}

_VALIDATION = {
    "type": "object",
    "required": ["valid", "problems", "warnings"],
    "properties": {
        "valid": {"type": "boolean"},
        "rules": {"type": "integer"},
        "problems": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
        "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
    },
}

_DECISION = {
    "type": "object",
    "required": ["action", "reason"],
    "properties": {
        "action": {
            "type": "string",
            "enum": ["allow", "deny", "require_factor", "require_consent", "choose_child"],
        },
        "reason": {"type": "string"},
        "error": {"type": ["string", "null"]},
        "details": {"type": "object"},
    },
}

_EXPLANATION = {
    "type": "object",
    "required": ["outcome", "decision", "policy_version", "steps", "scopes"],
    "properties": {
        "outcome": {"type": "string"},
        "decision": {"$ref": "#/components/schemas/Decision"},
        "policy_version": {"type": "string"},
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["step", "fired"],
                "properties": {
                    "step": {"type": "string"},
                    "description": {"type": "string"},
                    "fired": {"type": "boolean"},
                    "action": {"type": ["string", "null"]},
                    "reason": {"type": ["string", "null"]},
                    "details": {"type": "object"},
                },
            },
        },
        "scopes": {"type": "array", "items": {"type": "object"}},
        "notify_guardian": {"type": "array", "items": {"type": "string"}},
        "required_acr": {
            "type": ["string", "null"],
            "description": "The acr the request, its scopes and the client ask for.",
        },
        "client_min_acr": {
            "type": ["string", "null"],
            "description": "The client's own minimum acr, when it has one.",
        },
    },
}

_DRY_RUN = {
    "type": "object",
    "required": ["current_version", "candidate_version", "cases", "changed", "changes"],
    "properties": {
        "current_version": {"type": "string"},
        "candidate_version": {"type": "string"},
        "cases": {"type": "integer"},
        "changed": {"type": "integer"},
        "summary": {"type": "object", "additionalProperties": {"type": "integer"}},
        "changes": {"type": "array", "items": {"type": "object"}},
    },
}

_CONSENT = {
    "type": "object",
    "required": ["consent_id", "client_id", "subject", "scopes", "granted_at"],
    "properties": {
        "consent_id": {"type": "string"},
        "client_id": {"type": "string"},
        "subject": {"type": "string", "description": "Subject digest."},
        "acting_for": {"type": ["string", "null"], "description": "Child's subject digest."},
        "scopes": {"type": "array", "items": {"type": "string"}},
        "granted_at": {"type": "number"},
        "policy_version": {"type": ["string", "null"]},
        "revoked_at": {"type": ["number", "null"]},
        "revoked_reason": {"type": ["string", "null"]},
    },
}

_AUDIT_EVENT = {
    "type": "object",
    "required": ["seq", "at", "event", "fields", "hash"],
    "properties": {
        "seq": {"type": "integer"},
        "at": {"type": "number"},
        "event": {"type": "string"},
        "fields": {"type": "object"},
        "hash": {"type": "string"},
    },
}

_KEY = {
    "type": "object",
    "required": ["kid", "alg", "state"],
    "properties": {
        "kid": {"type": "string"},
        "alg": {"type": "string"},
        "state": {"type": "string", "enum": ["next", "active", "retired"]},
        "created_at": {"type": "number"},
        "activated_at": {"type": ["number", "null"]},
        "retired_at": {"type": ["number", "null"]},
        "published": {"type": "boolean"},
        "published_until": {"type": ["number", "null"]},
    },
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _op(
    op_id: str,
    summary: str,
    tag: str,
    ok: dict[str, Any],
    *,
    status: str = "200",
    body: dict[str, Any] | None = None,
    body_required: bool = True,
    params: list[dict[str, Any]] | None = None,
    changes_state: bool = False,
    not_found: bool = False,
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        status: {"description": "Success.", "content": _json_content(ok)},
        "403": {
            "description": "No admin session, or (state changes) a missing CSRF token.",
            "content": _json_content(_ref("Error")),
        },
    }
    if body is not None or params:
        responses["400"] = {
            "description": "Invalid input; every problem is listed.",
            "content": _json_content(_ref("Error")),
        }
    if not_found:
        responses["404"] = {
            "description": "No such record.",
            "content": _json_content(_ref("Error")),
        }
    operation: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "tags": [tag],
        "responses": responses,
    }
    parameters = list(params or [])
    if changes_state:
        parameters.append({"$ref": "#/components/parameters/CsrfHeader"})
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": body_required, "content": _json_content(body)}
    return operation


def _path_param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


_CLIENT_ID = _path_param("client_id", {"type": "string", "maxLength": 255})
_VERSION = _path_param("version", {"type": "integer", "minimum": 1})
_CONSENT_ID = _path_param("consent_id", {"type": "string", "maxLength": 64})
_SUBJECT = {
    **_path_param("subject", {"type": "string", "pattern": "^[0-9a-f]{32}$"}),
    "description": "Subject digest (as the consent list and the audit log show it).",
}

_TEXT_BODY = {
    "type": "object",
    "required": ["text"],
    "properties": {"text": {"type": "string", "description": "A TOML rule document."}},
}


def openapi_document(issuer: str) -> dict[str, Any]:
    """The document, with ``issuer`` as the server URL."""
    strings = {"type": "array", "items": {"type": "string"}}
    paths: dict[str, Any] = {
        "/admin/api/session": {
            "get": _op(
                "getSession",
                "The admin session: subject digest and the CSRF token for state changes.",
                "session",
                {
                    "type": "object",
                    "required": ["subject", "csrf_token"],
                    "properties": {
                        "subject": {"type": "string"},
                        "csrf_token": {"type": "string"},
                        "idle_seconds": {"type": "integer"},
                    },
                },
            )
        },
        "/admin/api/clients": {
            "get": _op(
                "listClients",
                "Registered clients (never secrets).",
                "clients",
                {
                    "type": "object",
                    "properties": {"clients": {"type": "array", "items": _ref("Client")}},
                },
            ),
            "post": _op(
                "registerClient",
                "Register a client; the generated secret is returned once.",
                "clients",
                {
                    "type": "object",
                    "properties": {
                        "client": _ref("Client"),
                        "client_secret": {"type": ["string", "null"]},
                    },
                },
                status="201",
                body={
                    "type": "object",
                    "required": ["client_id", "redirect_uris", "scopes"],
                    "properties": {
                        "client_id": {"type": "string"},
                        "name": {"type": "string"},
                        "redirect_uris": strings,
                        "scopes": strings,
                        "grant_types": strings,
                        "token_endpoint_auth_method": {"type": "string"},
                        "token_format": {"type": "string", "enum": ["jwt", "opaque"]},
                        "post_logout_redirect_uris": strings,
                        "backchannel_logout_uri": {"type": "string"},
                        "introspection_allowed": {"type": "boolean"},
                        "min_acr": _MIN_ACR,
                    },
                },
                changes_state=True,
            ),
        },
        "/admin/api/clients/{client_id}": {
            "get": _op(
                "getClient",
                "One client.",
                "clients",
                _ref("Client"),
                params=[_CLIENT_ID],
                not_found=True,
            ),
            "post": _op(
                "updateClient",
                "Change redirect URIs, scopes, name or minimum acr; grants with a removed "
                "scope end at once.",
                "clients",
                {
                    "type": "object",
                    "properties": {"client": _ref("Client"), "grants_revoked": {"type": "integer"}},
                },
                body={
                    "type": "object",
                    "properties": {
                        "redirect_uris": strings,
                        "scopes": strings,
                        "post_logout_redirect_uris": strings,
                        "name": {"type": "string"},
                        "min_acr": _MIN_ACR,
                    },
                    "additionalProperties": False,
                },
                params=[_CLIENT_ID],
                changes_state=True,
                not_found=True,
            ),
        },
        "/admin/api/clients/{client_id}/rotate-secret": {
            "post": _op(
                "rotateClientSecret",
                "A new secret (returned once); the old one stops working at once.",
                "clients",
                {
                    "type": "object",
                    "properties": {
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                    },
                },
                params=[_CLIENT_ID],
                changes_state=True,
                not_found=True,
            )
        },
        "/admin/api/clients/{client_id}/disable": {
            "post": _op(
                "disableClient",
                "Disable; its refresh tokens stop and introspection answers active=false.",
                "clients",
                {
                    "type": "object",
                    "properties": {"client": _ref("Client"), "grants_revoked": {"type": "integer"}},
                },
                params=[_CLIENT_ID],
                changes_state=True,
                not_found=True,
            )
        },
        "/admin/api/clients/{client_id}/enable": {
            "post": _op(
                "enableClient",
                "Enable a disabled client again.",
                "clients",
                {"type": "object", "properties": {"client": _ref("Client")}},
                params=[_CLIENT_ID],
                changes_state=True,
                not_found=True,
            )
        },
        "/admin/api/policies": {
            "get": _op(
                "listPolicyVersions",
                "The active version and the history, newest first.",
                "policies",
                {
                    "type": "object",
                    "properties": {
                        "active_version": {"type": "string"},
                        "versions": {"type": "array", "items": _ref("PolicyVersion")},
                    },
                },
            ),
            "post": _op(
                "applyPolicy",
                "Validate and apply a document as the next version (atomic, audited).",
                "policies",
                _ref("PolicyVersion"),
                status="201",
                body={
                    "type": "object",
                    "required": ["text"],
                    "properties": {"text": {"type": "string"}, "comment": {"type": "string"}},
                },
                changes_state=True,
            ),
        },
        "/admin/api/policies/active": {
            "get": _op(
                "getActivePolicy", "The document in force.", "policies", _ref("PolicyVersion")
            )
        },
        "/admin/api/policies/{version}": {
            "get": _op(
                "getPolicyVersion",
                "One version with its text.",
                "policies",
                _ref("PolicyVersion"),
                params=[_VERSION],
                not_found=True,
            )
        },
        "/admin/api/policies/{version}/rollback": {
            "post": _op(
                "rollbackPolicy",
                "Apply an old version's text again, as a new version.",
                "policies",
                _ref("PolicyVersion"),
                status="201",
                body={"type": "object", "properties": {"comment": {"type": "string"}}},
                body_required=False,
                params=[_VERSION],
                changes_state=True,
                not_found=True,
            )
        },
        "/admin/api/policies/validate": {
            "post": _op(
                "validatePolicy",
                "Every problem of a document, with line numbers (nothing is stored).",
                "policies",
                _ref("Validation"),
                body=_TEXT_BODY,
                changes_state=True,
            )
        },
        "/admin/api/policies/dry-run": {
            "post": _op(
                "dryRunPolicy",
                "What a document would change for recent grants (nothing is stored).",
                "policies",
                _ref("DryRun"),
                body=_TEXT_BODY,
                changes_state=True,
            )
        },
        "/admin/api/policies/explain": {
            "post": _op(
                "explainPolicy",
                "What a client would get for a person, and why, step by step and rule by rule.",
                "policies",
                _ref("Explanation"),
                body={
                    "type": "object",
                    "required": ["client_id", "subject", "scopes"],
                    "properties": {
                        "client_id": {"type": "string"},
                        "subject": {
                            "type": "string",
                            "description": "Internal subject id or subject digest.",
                        },
                        "scopes": strings,
                        "acting_for": {"type": "string"},
                        "acr": {
                            "type": "string",
                            "enum": ["urn:vhod:acr:esia", "urn:vhod:acr:esia-mfa"],
                        },
                    },
                },
                changes_state=True,
                not_found=True,
            )
        },
        "/admin/api/consents": {
            "get": _op(
                "searchConsents",
                "Consent records by client and/or subject digest, newest first.",
                "consents",
                {
                    "type": "object",
                    "properties": {"consents": {"type": "array", "items": _ref("Consent")}},
                },
                params=[
                    _query("client_id", "Client id."),
                    _query("subject", "Subject digest (32 hex characters)."),
                    _query("include_revoked", "1 or true to include revoked records."),
                    _query("limit", "At most 500.", {"type": "integer", "minimum": 1}),
                ],
            )
        },
        "/admin/api/consents/{consent_id}/revoke": {
            "post": _op(
                "revokeConsent",
                "Revoke; the person's grants with the client end at once.",
                "consents",
                {
                    "type": "object",
                    "properties": {
                        "consent_id": {"type": "string"},
                        "grants_revoked": {"type": "integer"},
                    },
                },
                params=[_CONSENT_ID],
                changes_state=True,
                not_found=True,
            )
        },
        "/admin/api/subjects/{subject}/reset-factors": {
            "post": _op(
                "resetSubjectFactors",
                "Remove every enrolled second factor of a person (lost phone or app); the "
                "next login that needs one sends an SMS code to the ESIA-verified mobile. "
                "Audited as factor.reset with the acting admin.",
                "subjects",
                {
                    "type": "object",
                    "required": ["subject", "removed"],
                    "properties": {
                        "subject": {"type": "string", "description": "Subject digest."},
                        "removed": {"type": "integer", "description": "Credentials removed."},
                    },
                },
                params=[_SUBJECT],
                changes_state=True,
                not_found=True,
            )
        },
        "/admin/api/audit": {
            "get": _op(
                "listAuditEvents",
                "Audit events, newest first, filtered by event name and date.",
                "audit",
                {
                    "type": "object",
                    "properties": {"events": {"type": "array", "items": _ref("AuditEvent")}},
                },
                params=[
                    _query("event", "Event name, or a prefix such as 'policy'."),
                    _query("since", "From this UTC date (YYYY-MM-DD)."),
                    _query("until", "Up to and including this UTC date (YYYY-MM-DD)."),
                    _query("limit", "At most 1000.", {"type": "integer", "minimum": 1}),
                ],
            )
        },
        "/admin/api/audit/verify": {
            "get": _op(
                "verifyAuditChain",
                "Walk the hash chain; every break is listed.",
                "audit",
                {
                    "type": "object",
                    "required": ["ok", "rows", "head"],
                    "properties": {
                        "ok": {"type": "boolean"},
                        "rows": {"type": "integer"},
                        "head": {"type": "string"},
                        "problems": {"type": "array", "items": {"type": "object"}},
                    },
                },
            )
        },
        "/admin/api/keys": {
            "get": _op(
                "listKeys",
                "Signing keys (never private parts).",
                "keys",
                {
                    "type": "object",
                    "properties": {"keys": {"type": "array", "items": _ref("SigningKey")}},
                },
            )
        },
        "/admin/api/keys/rotate": {
            "post": _op(
                "rotateKeys",
                "next -> active -> retired, and a new next key.",
                "keys",
                {
                    "type": "object",
                    "properties": {"changes": {"type": "array", "items": {"type": "string"}}},
                },
                body={
                    "type": "object",
                    "properties": {"alg": {"type": "string", "enum": ["RS256", "ES256"]}},
                },
                body_required=False,
                changes_state=True,
            )
        },
    }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "vhod admin API",
            "version": "1",
            "description": (
                "Clients, rule documents, consents, people's second factors, audit and signing "
                "keys. Authenticated by "
                "an admin's browser session; state changes need the X-CSRF-Token header."
            ),
        },
        "servers": [{"url": issuer}],
        "security": [{"adminSession": []}],
        "tags": [
            {"name": name}
            for name in (
                "session",
                "clients",
                "policies",
                "consents",
                "subjects",
                "audit",
                "keys",
            )
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "adminSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "vhod_admin",
                    "description": "The admin session cookie (__Host-vhod_admin outside dev).",
                }
            },
            "parameters": {
                "CsrfHeader": {
                    "name": "X-CSRF-Token",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "From GET /admin/api/session.",
                }
            },
            "schemas": {
                "Error": _ERROR,
                "Client": _CLIENT,
                "PolicyVersion": _POLICY_VERSION,
                "Problem": _PROBLEM,
                "Validation": _VALIDATION,
                "Decision": _DECISION,
                "Explanation": _EXPLANATION,
                "DryRun": _DRY_RUN,
                "Consent": _CONSENT,
                "AuditEvent": _AUDIT_EVENT,
                "SigningKey": _KEY,
            },
        },
    }
