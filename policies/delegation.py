"""Checks about acting for a child (DESIGN.md "Identity model": acting for a child; issue 11
item 5; SECURITY.md T94, T96).

A client asks for the ``child`` scope; the journey's context counts the children the
person may act for at that client (``child_links``: usable guardianships at a school the
client is bound to) and, once one is chosen, names it (``acting_for``) and re-checks the
link (``acting_for_linked``).

* ``scope_not_delegable`` — acting for a child (asked or chosen) together with a scope the
  catalogue does not mark ``delegable``: refused, never silently dropped (``/authorize``
  refuses such a request with ``invalid_scope`` already; this catches the rest).
* ``child_not_linked`` — the chosen child is no longer this person's usable link (ended,
  expired, or the school left the client): refused.
* ``no_children_linked`` — ``child`` asked by a person without any usable link there: a
  page says so (and how links are made), then ``access_denied``.
* ``child_not_chosen`` — ``child`` asked, links exist, none chosen yet: the child-choice
  step (``choose_child``; ``interaction_required`` under ``prompt=none`` unless there is
  exactly one child, which is chosen without a page).
"""

from __future__ import annotations

from typing import Any

from gateway.core.types import JourneyKind
from policies.checks import Action
from policies.checks import Check
from policies.checks import PolicyContext

CHILD_SCOPE = "child"


def wants_child(ctx: PolicyContext) -> bool:
    """The client asked to act for a child, or a child is chosen already."""
    return ctx.kind is JourneyKind.AUTHORIZE and (
        CHILD_SCOPE in ctx.scopes or ctx.acting_for is not None
    )


def not_delegable(ctx: PolicyContext) -> tuple[str, ...]:
    """Requested scopes the catalogue does not allow under delegation."""
    return tuple(s for s in ctx.scopes if s not in ctx.catalogue or not ctx.catalogue[s].delegable)


def _not_delegable_details(ctx: PolicyContext) -> dict[str, Any]:
    return {"scopes": list(not_delegable(ctx))}


def _choosing(ctx: PolicyContext) -> bool:
    return wants_child(ctx) and ctx.acting_for is None


SCOPE_NOT_DELEGABLE = Check(
    reason="scope_not_delegable",
    description="Acting for a child allows only the scopes the catalogue marks delegable.",
    error="access_denied",
    predicate=lambda ctx: wants_child(ctx) and bool(not_delegable(ctx)),
    details=_not_delegable_details,
)

CHILD_NOT_LINKED = Check(
    reason="child_not_linked",
    description="The chosen child must be a verified, unexpired link at the client's school.",
    error="access_denied",
    predicate=lambda ctx: ctx.acting_for is not None and not ctx.acting_for_linked,
)

NO_CHILDREN_LINKED = Check(
    reason="no_children_linked",
    description="Acting for a child needs a verified link to a child at the client's school.",
    error="access_denied",
    predicate=lambda ctx: _choosing(ctx) and ctx.child_links == 0,
)

CHILD_NOT_CHOSEN = Check(
    reason="child_not_chosen",
    description="The person picks which linked child to act for.",
    error="interaction_required",
    predicate=lambda ctx: _choosing(ctx) and ctx.child_links > 0,
    details=lambda ctx: {"children": ctx.child_links},
    action=Action.CHOOSE_CHILD,
)

DELEGATION_CHECKS = (SCOPE_NOT_DELEGABLE, CHILD_NOT_LINKED)
"""Before the rule documents: what refuses acting for a child outright."""
CHILD_CHOICE_CHECKS = (NO_CHILDREN_LINKED, CHILD_NOT_CHOSEN)
"""After the assurance checks (the choice comes after ESIA and any second factor)."""
