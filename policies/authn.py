"""Checks about the person and how they signed in: account level, ``id_token_hint``,
``max_age``, ``acr_values``, the catalogue's per-scope minimum acr and the client's own
minimum acr (``Client.min_acr``).

Accounts accepted from ESIA by default (DESIGN.md "Identity model"): confirmed accounts
(adults, and a teenager's own confirmed account); child accounts (ESIA level ``KD``) up to
17 inclusive. Standard and simplified accounts are refused with ``account_not_confirmed``,
which the login pages explain to the person (how to confirm at a service centre).

acr is never silently downgraded (SECURITY.md T60, T83): when the requested, a scope's or
the client's minimum acr is above what the person has, the check asks for a factor; while
no factor can raise it, the journey ends with an error instead.
"""

from __future__ import annotations

from typing import Any

from gateway.core.factors import ACR_VALUES
from gateway.core.types import AccountLevel
from policies.checks import Action
from policies.checks import Check
from policies.checks import PolicyContext

ADULT_AGE = 18

ACCEPTED_LEVELS = frozenset({AccountLevel.CONFIRMED.value, AccountLevel.CHILD.value})
UNCONFIRMED_LEVELS = frozenset({AccountLevel.STANDARD.value, AccountLevel.SIMPLIFIED.value})


def acr_rank(acr: str) -> int:
    """Position in ``ACR_VALUES`` (weakest first); ``-1`` for an unknown value."""
    return ACR_VALUES.index(acr) if acr in ACR_VALUES else -1


def required_acr(ctx: PolicyContext) -> str | None:
    """The weakest acr that satisfies the request, every requested scope and the client.

    ``acr_values`` lists acceptable values (OIDC Core §3.1.2.1): any known one will do,
    so the weakest known one counts; unknown values are ignored. Each scope's ``min_acr``
    from the catalogue and the client's own ``min_acr`` raise the bar (the strongest
    wins; an unknown client minimum is ignored like an unknown request value).
    ``None`` when nothing is required.
    """
    ranks = [acr_rank(a) for a in ctx.acr_values if acr_rank(a) >= 0]
    needed = min(ranks) if ranks else -1
    for scope in ctx.scopes:
        settings = ctx.catalogue.get(scope)
        if settings is not None:
            needed = max(needed, acr_rank(settings.min_acr))
    client_min = client_min_acr(ctx)
    if client_min is not None:
        needed = max(needed, acr_rank(client_min))
    return ACR_VALUES[needed] if needed >= 0 else None


def client_min_acr(ctx: PolicyContext) -> str | None:
    """The client's own minimum acr, when it has a known one."""
    value = ctx.client.min_acr if ctx.client is not None else None
    return value if value is not None and acr_rank(value) >= 0 else None


def _acr_not_met(ctx: PolicyContext) -> bool:
    needed = required_acr(ctx)
    return needed is not None and acr_rank(ctx.auth.acr) < acr_rank(needed)


def _acr_details(ctx: PolicyContext) -> dict[str, Any]:
    details: dict[str, Any] = {"acr": required_acr(ctx), "current": ctx.auth.acr}
    client_min = client_min_acr(ctx)
    if client_min is not None:
        details["client_min_acr"] = client_min
    return details


def _max_age_exceeded(ctx: PolicyContext) -> bool:
    if ctx.max_age is None:
        return False
    return ctx.now - ctx.auth.auth_time > ctx.max_age


HINT_SUBJECT_MISMATCH = Check(
    reason="hint_subject_mismatch",
    description="The person signed in must be the one the id_token_hint names.",
    error="login_required",
    predicate=lambda ctx: ctx.hint_subject is not None and ctx.hint_subject != ctx.subject_id,
)

ACCOUNT_LEVEL_UNKNOWN = Check(
    reason="account_level_unknown",
    description="The upstream account level must be one vhod knows.",
    error="access_denied",
    predicate=lambda ctx: ctx.account_level not in ACCEPTED_LEVELS | UNCONFIRMED_LEVELS,
    details=lambda ctx: {"level": ctx.account_level},
)

ACCOUNT_NOT_CONFIRMED = Check(
    reason="account_not_confirmed",
    description="Standard and simplified accounts are refused; the account must be confirmed.",
    error="access_denied",
    predicate=lambda ctx: ctx.account_level in UNCONFIRMED_LEVELS,
    details=lambda ctx: {"level": ctx.account_level},
)

CHILD_ACCOUNT_ADULT = Check(
    reason="child_account_adult",
    description="A child account (ESIA KD) is accepted only up to 17 years inclusive.",
    error="access_denied",
    predicate=lambda ctx: (
        ctx.account_level == AccountLevel.CHILD.value
        and ctx.age is not None
        and ctx.age >= ADULT_AGE
    ),
)

MAX_AGE_EXCEEDED = Check(
    reason="max_age_exceeded",
    description="The authentication must not be older than the client's max_age.",
    error="login_required",
    predicate=_max_age_exceeded,
    details=lambda ctx: {"max_age": ctx.max_age},
)

ACR_NOT_MET = Check(
    reason="acr_not_met",
    description="The acr must meet acr_values, every scope's and the client's minimum acr.",
    error="interaction_required",
    predicate=_acr_not_met,
    details=_acr_details,
    action=Action.REQUIRE_FACTOR,
)

PARENT_AS_PUPIL = Check(
    reason="parent_as_pupil",
    description="A parent's identity is never bound to a pupil's record (same SNILS).",
    error="access_denied",
    predicate=lambda ctx: ctx.identity_conflict == "parent_as_pupil",
)

CHILD_ACCOUNT_PARENT = Check(
    reason="child_account_parent",
    description="A child account (ESIA KD) never takes a parent's role.",
    error="access_denied",
    predicate=lambda ctx: ctx.identity_conflict == "child_account_parent",
)

ACCOUNT_CHECKS = (
    ACCOUNT_LEVEL_UNKNOWN,
    ACCOUNT_NOT_CONFIRMED,
    CHILD_ACCOUNT_ADULT,
    PARENT_AS_PUPIL,
    CHILD_ACCOUNT_PARENT,
)
AUTHN_CHECKS = (MAX_AGE_EXCEEDED, ACR_NOT_MET)
