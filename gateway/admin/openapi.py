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

from gateway.admin.openapi_parts import APPLICATION_DECIDED
from gateway.admin.openapi_parts import APPLICATION_DETAILS
from gateway.admin.openapi_parts import APPLICATION_ID
from gateway.admin.openapi_parts import APPLICATION_ROW
from gateway.admin.openapi_parts import AUDIT_EVENT
from gateway.admin.openapi_parts import CLIENT
from gateway.admin.openapi_parts import CLIENT_ID
from gateway.admin.openapi_parts import CONSENT
from gateway.admin.openapi_parts import CONSENT_ID
from gateway.admin.openapi_parts import DECISION
from gateway.admin.openapi_parts import DRY_RUN
from gateway.admin.openapi_parts import ERROR
from gateway.admin.openapi_parts import EXPLANATION
from gateway.admin.openapi_parts import KEY
from gateway.admin.openapi_parts import MIN_ACR
from gateway.admin.openapi_parts import OPENAPI_VERSION
from gateway.admin.openapi_parts import POLICY_VERSION
from gateway.admin.openapi_parts import PROBLEM
from gateway.admin.openapi_parts import SUBJECT
from gateway.admin.openapi_parts import TEXT_BODY
from gateway.admin.openapi_parts import VALIDATION
from gateway.admin.openapi_parts import VERSION
from gateway.admin.openapi_parts import op
from gateway.admin.openapi_parts import query
from gateway.admin.openapi_parts import ref


def openapi_document(issuer: str) -> dict[str, Any]:
    """The document, with ``issuer`` as the server URL."""
    strings = {"type": "array", "items": {"type": "string"}}
    paths: dict[str, Any] = {
        "/admin/api/session": {
            "get": op(
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
            "get": op(
                "listClients",
                "Registered clients (never secrets).",
                "clients",
                {
                    "type": "object",
                    "properties": {"clients": {"type": "array", "items": ref("Client")}},
                },
            ),
            "post": op(
                "registerClient",
                "Register a client; the generated secret is returned once.",
                "clients",
                {
                    "type": "object",
                    "properties": {
                        "client": ref("Client"),
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
                        "min_acr": MIN_ACR,
                    },
                },
                changes_state=True,
            ),
        },
        "/admin/api/clients/{client_id}": {
            "get": op(
                "getClient",
                "One client.",
                "clients",
                ref("Client"),
                params=[CLIENT_ID],
                not_found=True,
            ),
            "post": op(
                "updateClient",
                "Change redirect URIs, scopes, name or minimum acr; grants with a removed "
                "scope end at once.",
                "clients",
                {
                    "type": "object",
                    "properties": {"client": ref("Client"), "grants_revoked": {"type": "integer"}},
                },
                body={
                    "type": "object",
                    "properties": {
                        "redirect_uris": strings,
                        "scopes": strings,
                        "post_logout_redirect_uris": strings,
                        "name": {"type": "string"},
                        "min_acr": MIN_ACR,
                    },
                    "additionalProperties": False,
                },
                params=[CLIENT_ID],
                changes_state=True,
                not_found=True,
            ),
        },
        "/admin/api/clients/{client_id}/rotate-secret": {
            "post": op(
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
                params=[CLIENT_ID],
                changes_state=True,
                not_found=True,
            )
        },
        "/admin/api/clients/{client_id}/disable": {
            "post": op(
                "disableClient",
                "Disable; its refresh tokens stop and introspection answers active=false.",
                "clients",
                {
                    "type": "object",
                    "properties": {"client": ref("Client"), "grants_revoked": {"type": "integer"}},
                },
                params=[CLIENT_ID],
                changes_state=True,
                not_found=True,
            )
        },
        "/admin/api/clients/{client_id}/enable": {
            "post": op(
                "enableClient",
                "Enable a disabled client again.",
                "clients",
                {"type": "object", "properties": {"client": ref("Client")}},
                params=[CLIENT_ID],
                changes_state=True,
                not_found=True,
            )
        },
        "/admin/api/policies": {
            "get": op(
                "listPolicyVersions",
                "The active version and the history, newest first.",
                "policies",
                {
                    "type": "object",
                    "properties": {
                        "active_version": {"type": "string"},
                        "versions": {"type": "array", "items": ref("PolicyVersion")},
                    },
                },
            ),
            "post": op(
                "applyPolicy",
                "Validate and apply a document as the next version (atomic, audited).",
                "policies",
                ref("PolicyVersion"),
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
            "get": op("getActivePolicy", "The document in force.", "policies", ref("PolicyVersion"))
        },
        "/admin/api/policies/{version}": {
            "get": op(
                "getPolicyVersion",
                "One version with its text.",
                "policies",
                ref("PolicyVersion"),
                params=[VERSION],
                not_found=True,
            )
        },
        "/admin/api/policies/{version}/rollback": {
            "post": op(
                "rollbackPolicy",
                "Apply an old version's text again, as a new version.",
                "policies",
                ref("PolicyVersion"),
                status="201",
                body={"type": "object", "properties": {"comment": {"type": "string"}}},
                body_required=False,
                params=[VERSION],
                changes_state=True,
                not_found=True,
            )
        },
        "/admin/api/policies/validate": {
            "post": op(
                "validatePolicy",
                "Every problem of a document, with line numbers (nothing is stored).",
                "policies",
                ref("Validation"),
                body=TEXT_BODY,
                changes_state=True,
            )
        },
        "/admin/api/policies/dry-run": {
            "post": op(
                "dryRunPolicy",
                "What a document would change for recent grants (nothing is stored).",
                "policies",
                ref("DryRun"),
                body=TEXT_BODY,
                changes_state=True,
            )
        },
        "/admin/api/policies/explain": {
            "post": op(
                "explainPolicy",
                "What a client would get for a person, and why, step by step and rule by rule.",
                "policies",
                ref("Explanation"),
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
            "get": op(
                "searchConsents",
                "Consent records by client and/or subject digest, newest first.",
                "consents",
                {
                    "type": "object",
                    "properties": {"consents": {"type": "array", "items": ref("Consent")}},
                },
                params=[
                    query("client_id", "Client id."),
                    query("subject", "Subject digest (32 hex characters)."),
                    query("include_revoked", "1 or true to include revoked records."),
                    query("limit", "At most 500.", {"type": "integer", "minimum": 1}),
                ],
            )
        },
        "/admin/api/consents/{consent_id}/revoke": {
            "post": op(
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
                params=[CONSENT_ID],
                changes_state=True,
                not_found=True,
            )
        },
        "/admin/api/subjects/{subject}/reset-factors": {
            "post": op(
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
                params=[SUBJECT],
                changes_state=True,
                not_found=True,
            )
        },
        "/admin/api/applications": {
            "get": op(
                "listApplications",
                "The review queue: open link applications, oldest first, with waiting time, "
                "the child's age, the school and the failed automatic checks.",
                "applications",
                {
                    "type": "object",
                    "properties": {
                        "applications": {"type": "array", "items": ref("ApplicationRow")}
                    },
                },
            )
        },
        "/admin/api/applications/{application_id}": {
            "get": op(
                "getApplication",
                "One application: the child's data, checks, documents (metadata; scans are "
                "downloaded on the admin page only) and history.",
                "applications",
                ref("ApplicationDetails"),
                params=[APPLICATION_ID],
                not_found=True,
            )
        },
        "/admin/api/applications/{application_id}/approve": {
            "post": op(
                "approveApplication",
                "Approve: a verified guardianship (evidence application). 409 when decided "
                "already or about the reviewer's own child. Audited.",
                "applications",
                APPLICATION_DECIDED,
                params=[APPLICATION_ID],
                changes_state=True,
                not_found=True,
            )
        },
        "/admin/api/applications/{application_id}/reject": {
            "post": op(
                "rejectApplication",
                "Reject with a reason from the list and free text (required for 'other'). "
                "Audited; the parent sees the reason.",
                "applications",
                APPLICATION_DECIDED,
                body={
                    "type": "object",
                    "required": ["reason"],
                    "properties": {
                        "reason": {
                            "type": "string",
                            "enum": [
                                "document_unreadable",
                                "document_mismatch",
                                "not_on_roster",
                                "not_guardian",
                                "duplicate",
                                "other",
                            ],
                        },
                        "note": {"type": "string", "maxLength": 1000},
                    },
                },
                params=[APPLICATION_ID],
                changes_state=True,
                not_found=True,
            )
        },
        "/admin/api/applications/{application_id}/ask-document": {
            "post": op(
                "askApplicationDocument",
                "Ask the parent for another document (status needs_document). Audited.",
                "applications",
                APPLICATION_DECIDED,
                body={
                    "type": "object",
                    "required": ["note"],
                    "properties": {"note": {"type": "string", "maxLength": 1000}},
                },
                params=[APPLICATION_ID],
                changes_state=True,
                not_found=True,
            )
        },
        "/admin/api/audit": {
            "get": op(
                "listAuditEvents",
                "Audit events, newest first, filtered by event name and date.",
                "audit",
                {
                    "type": "object",
                    "properties": {"events": {"type": "array", "items": ref("AuditEvent")}},
                },
                params=[
                    query("event", "Event name, or a prefix such as 'policy'."),
                    query("since", "From this UTC date (YYYY-MM-DD)."),
                    query("until", "Up to and including this UTC date (YYYY-MM-DD)."),
                    query("limit", "At most 1000.", {"type": "integer", "minimum": 1}),
                ],
            )
        },
        "/admin/api/audit/verify": {
            "get": op(
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
            "get": op(
                "listKeys",
                "Signing keys (never private parts).",
                "keys",
                {
                    "type": "object",
                    "properties": {"keys": {"type": "array", "items": ref("SigningKey")}},
                },
            )
        },
        "/admin/api/keys/rotate": {
            "post": op(
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
                "applications",
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
                "Error": ERROR,
                "Client": CLIENT,
                "PolicyVersion": POLICY_VERSION,
                "Problem": PROBLEM,
                "Validation": VALIDATION,
                "Decision": DECISION,
                "Explanation": EXPLANATION,
                "DryRun": DRY_RUN,
                "Consent": CONSENT,
                "AuditEvent": AUDIT_EVENT,
                "SigningKey": KEY,
                "ApplicationRow": APPLICATION_ROW,
                "ApplicationDetails": APPLICATION_DETAILS,
                "ApplicationDecided": APPLICATION_DECIDED,
            },
        },
    }
