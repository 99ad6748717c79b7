"""Checks that demand consent: none remembered, remembered for fewer scopes, or the
client forces the page (``prompt=consent``). vhod's own pages need no consent."""

from __future__ import annotations

from typing import Any

from gateway.core.types import JourneyKind
from policies.checks import Action
from policies.checks import Check
from policies.checks import PolicyContext


def _applies(ctx: PolicyContext) -> bool:
    return ctx.kind is JourneyKind.AUTHORIZE and not ctx.consent_given_now


def missing_scopes(ctx: PolicyContext) -> tuple[str, ...]:
    """Requested scopes that the remembered consent does not cover."""
    granted = set(ctx.consented_scopes or ())
    return tuple(s for s in ctx.scopes if s not in granted)


def _missing_details(ctx: PolicyContext) -> dict[str, Any]:
    return {"scopes": list(missing_scopes(ctx))}


CONSENT_MISSING = Check(
    reason="consent_missing",
    description="The person must have consented to this client.",
    error="consent_required",
    predicate=lambda ctx: _applies(ctx) and ctx.consented_scopes is None,
    details=_missing_details,
    action=Action.REQUIRE_CONSENT,
)

CONSENT_SCOPES_MISSING = Check(
    reason="consent_scopes_missing",
    description="The remembered consent must cover every requested scope.",
    error="consent_required",
    predicate=lambda ctx: _applies(ctx) and bool(missing_scopes(ctx)),
    details=_missing_details,
    action=Action.REQUIRE_CONSENT,
)

CONSENT_PROMPTED = Check(
    reason="consent_prompted",
    description="prompt=consent shows the consent page even when consent is remembered.",
    error="consent_required",
    predicate=lambda ctx: _applies(ctx) and "consent" in ctx.prompt,
    action=Action.REQUIRE_CONSENT,
)

CONSENT_CHECKS = (CONSENT_MISSING, CONSENT_SCOPES_MISSING, CONSENT_PROMPTED)
