"""Revoking token families (grants): the one place that does it.

A grant is revoked in two stores: the durable ``grants.revoked_at`` makes its refresh
tokens fail, and — after that commit — the ephemeral ``revoked_grant`` marker makes its
access tokens fail at userinfo and introspection at once (they are checked there, not in
the database). The marker is written after the commit, never while a durable transaction
is open: on the embedded SQLite default the ephemeral store lives in the same database
file, whose write lock the open transaction holds. Each revocation is audited
(append-only, hash-chained) with ids and a reason code only.

Reasons: ``code_replay`` (RFC 6749 §4.1.2, §10.5; SECURITY.md T27), ``refresh_reuse``
(RFC 9700 §4.14.2; T37), ``revoked`` (RFC 7009; T47), ``logout`` (OIDC Back-Channel
Logout §2.7; T64).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from gateway.core.ports import UnitOfWork
from gateway.core.types import Grant
from gateway.oauth.context import OAuthContext


def revoke_grant(ctx: OAuthContext, grant: Grant, reason: str) -> None:
    """Revoke ``grant`` in its own transaction (inserting it revoked if its first
    redemption has not committed yet), then mark its access tokens revoked."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        uow.grants.revoke(grant, now)
        uow.audit.append(
            now,
            "grant.revoked",
            {"grant_id": grant.grant_id, "client_id": grant.client_id, "reason": reason},
        )
        uow.commit()
    mark_revoked(ctx, (grant.grant_id,))
    ctx.event("grant.revoked", logging.WARNING, grant_id=grant.grant_id, reason=reason)


def revoke_grants_where(
    ctx: OAuthContext,
    uow: UnitOfWork,
    reason: str,
    *,
    sid: str | None = None,
    subject_id: str | None = None,
    client_id: str | None = None,
    keep_offline: bool = False,
) -> list[str]:
    """Revoke every live grant matching the filters in ``uow`` (the caller commits, then
    calls :func:`mark_revoked` with the returned ids)."""
    now = ctx.clock.now()
    revoked = uow.grants.revoke_where(
        now, sid=sid, subject_id=subject_id, client_id=client_id, keep_offline=keep_offline
    )
    if revoked:
        uow.audit.append(now, "grants.revoked", {"grant_ids": revoked, "reason": reason})
        ctx.event("grants.revoked", count=len(revoked), reason=reason)
    return revoked


def mark_revoked(ctx: OAuthContext, grant_ids: Iterable[str]) -> None:
    """Make the access tokens of committed-revoked grants fail at once."""
    for grant_id in grant_ids:
        ctx.tokens.mark_grant_revoked(grant_id)
