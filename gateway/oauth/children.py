"""What the OAuth provider does for children (issue 11 items 5–8): whether a token that
acts for a child still may (:func:`still_linked`), the ``children`` claim
(:func:`children_claim`) and the audit event of a token issued for a child
(:func:`audit_issued_for_child`).

A grant that acts for a child (``Grant.acting_for``) stays usable only while the person's
guardianship of that child is usable and the child's school is bound to the client
(``gateway.core.children.links_for_client``): refresh answers ``invalid_grant``,
introspection ``{"active": false}`` and userinfo ``invalid_token`` once the link ended.
"""

from __future__ import annotations

from typing import Any

from gateway.core.children import links_for_client
from gateway.core.ports import UnitOfWork
from gateway.core.types import Client
from gateway.core.types import Grant
from gateway.oauth.context import OAuthContext

CHILDREN_SCOPE = "children"
CHILDREN_CLAIM = "children"
ISSUED_FOR_CHILD = "token.issued_for_child"


def still_linked(
    uow: UnitOfWork, parent_id: str, child_id: str | None, client_id: str, now: float
) -> bool:
    """``True`` when nobody is acted for, or the link of parent and child still holds."""
    if child_id is None:
        return True
    links = links_for_client(uow.guardianships, uow.schools, parent_id, client_id, now)
    return any(link.child_id == child_id for link in links)


def children_claim(ctx: OAuthContext, client: Client, parent_id: str) -> list[dict[str, Any]]:
    """The ``children`` claim (SECURITY.md T98): per child the parent may act for at the
    client, its pairwise id for the client, first name, school short name and class —
    nothing else."""
    if ctx.claims is None:
        return []
    return [
        {
            "sub": ctx.tokens.subject(client, child.child_id),
            "given_name": child.given_name,
            "school": child.school,
            "class": child.class_name,
        }
        for child in ctx.claims.children(parent_id, client.client_id)
    ]


def audit_issued_for_child(
    ctx: OAuthContext, uow: UnitOfWork, now: float, grant: Grant, grant_type: str
) -> None:
    """Audit ``token.issued_for_child`` in ``uow`` for a grant acting for a child (digests
    and ids only); nothing for any other grant."""
    if grant.acting_for is None:
        return
    uow.audit.append(
        now,
        ISSUED_FOR_CHILD,
        {
            "client_id": grant.client_id,
            "grant_id": grant.grant_id,
            "grant_type": grant_type,
            "parent": ctx.tokens.audit_subject(grant.subject_id),
            "child": ctx.tokens.audit_subject(grant.acting_for),
        },
    )
    ctx.event(
        ISSUED_FOR_CHILD, client_id=grant.client_id, grant_id=grant.grant_id, grant_type=grant_type
    )
