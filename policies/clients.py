"""Checks about the client: registered, enabled, and registered for every scope asked."""

from __future__ import annotations

from typing import Any

from gateway.core.types import JourneyKind
from policies.checks import Check
from policies.checks import PolicyContext


def _authorize(ctx: PolicyContext) -> bool:
    return ctx.kind is JourneyKind.AUTHORIZE


def _unknown(ctx: PolicyContext) -> bool:
    return _authorize(ctx) and ctx.client is None


def _disabled(ctx: PolicyContext) -> bool:
    return _authorize(ctx) and ctx.client is not None and ctx.client.disabled


def _scopes_outside(ctx: PolicyContext) -> tuple[str, ...]:
    if not _authorize(ctx) or ctx.client is None:
        return ()
    allowed = set(ctx.client.scopes)
    return tuple(s for s in ctx.scopes if s not in allowed or s not in ctx.catalogue)


def _scope_details(ctx: PolicyContext) -> dict[str, Any]:
    return {"scopes": list(_scopes_outside(ctx))}


CLIENT_UNKNOWN = Check(
    reason="client_unknown",
    description="The client must be registered.",
    error="access_denied",
    predicate=_unknown,
)

CLIENT_DISABLED = Check(
    reason="client_disabled",
    description="The client must not be disabled by an admin.",
    error="access_denied",
    predicate=_disabled,
)

SCOPE_NOT_ALLOWED = Check(
    reason="scope_not_allowed",
    description="Every requested scope must be in the catalogue and registered for the client.",
    error="invalid_scope",
    predicate=lambda ctx: bool(_scopes_outside(ctx)),
    details=_scope_details,
)

CLIENT_CHECKS = (CLIENT_UNKNOWN, CLIENT_DISABLED, SCOPE_NOT_ALLOWED)
