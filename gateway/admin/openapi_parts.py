"""The building blocks of the admin API's OpenAPI document (:mod:`gateway.admin.openapi`):
the component schemas and the helpers that write an operation, a parameter, a body."""

from __future__ import annotations

from typing import Any

from gateway.core.factors import ACR_VALUES

OPENAPI_VERSION = "3.1.0"

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "error_description": {"type": "string"},
        "problems": {"type": "array", "items": {"type": "string"}},
    },
}

MIN_ACR = {
    "type": ["string", "null"],
    "enum": [*ACR_VALUES, None],
    "description": "The weakest acr the client accepts; below it a second factor is asked "
    "for at every sign-in (null: no minimum of its own).",
}

CLIENT = {
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
        "min_acr": MIN_ACR,
        "disabled": {"type": "boolean"},
        "has_secret": {"type": "boolean"},
    },
    "additionalProperties": True,
}

POLICY_VERSION = {
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

PROBLEM = {
    "type": "object",
    "required": ["line", "message"],
    "properties": {"line": {"type": "integer"}, "message": {"type": "string"}},
}

VALIDATION = {
    "type": "object",
    "required": ["valid", "problems", "warnings"],
    "properties": {
        "valid": {"type": "boolean"},
        "rules": {"type": "integer"},
        "problems": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
        "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
    },
}

DECISION = {
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

EXPLANATION = {
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

DRY_RUN = {
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

CONSENT = {
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

AUDIT_EVENT = {
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

KEY = {
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


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def op(
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
        status: {"description": "Success.", "content": json_content(ok)},
        "403": {
            "description": "No admin session, or (state changes) a missing CSRF token.",
            "content": json_content(ref("Error")),
        },
    }
    if body is not None or params:
        responses["400"] = {
            "description": "Invalid input; every problem is listed.",
            "content": json_content(ref("Error")),
        }
    if not_found:
        responses["404"] = {
            "description": "No such record.",
            "content": json_content(ref("Error")),
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
        operation["requestBody"] = {"required": body_required, "content": json_content(body)}
    return operation


def path_param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


CLIENT_ID = path_param("client_id", {"type": "string", "maxLength": 255})
VERSION = path_param("version", {"type": "integer", "minimum": 1})
CONSENT_ID = path_param("consent_id", {"type": "string", "maxLength": 64})
SUBJECT = {
    **path_param("subject", {"type": "string", "pattern": "^[0-9a-f]{32}$"}),
    "description": "Subject digest (as the consent list and the audit log show it).",
}

TEXT_BODY = {
    "type": "object",
    "required": ["text"],
    "properties": {"text": {"type": "string", "description": "A TOML rule document."}},
}

APPLICATION_ID = path_param("application_id", {"type": "string", "maxLength": 64})
APPLICATION_ROW = {
    "type": "object",
    "required": ["application_id", "status", "school_id", "checks_failed"],
    "properties": {
        "application_id": {"type": "string"},
        "created_at": {"type": "number"},
        "waiting_days": {"type": "integer"},
        "child_age": {"type": ["integer", "null"]},
        "school_id": {"type": "string"},
        "school_name": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["pending", "needs_document", "approved", "rejected"],
        },
        "checks_failed": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The automatic checks that failed (roster_snils, "
            "roster_certificate, certificate_foreign, family_name, given_name, birthdate, "
            "adult, already_linked, self).",
        },
        "documents": {"type": "integer"},
    },
}
APPLICATION_DETAILS = {
    "allOf": [
        {"$ref": "#/components/schemas/ApplicationRow"},
        {
            "type": "object",
            "properties": {
                "parent": {"type": "string", "description": "The applicant's subject digest."},
                "class": {"type": "string"},
                "reason": {"type": ["string", "null"]},
                "child": {
                    "type": "object",
                    "description": "The child's data as the parent gave it (personal data).",
                },
                "documents": {"type": "array", "items": {"type": "object"}},
                "history": {"type": "array", "items": {"type": "object"}},
            },
        },
    ]
}
APPLICATION_DECIDED = {
    "type": "object",
    "required": ["application_id", "status"],
    "properties": {"application_id": {"type": "string"}, "status": {"type": "string"}},
}
