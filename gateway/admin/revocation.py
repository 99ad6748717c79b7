"""The one way an admin change ends grants: revoke → audit → commit → mark.

A change that takes access away (a client disabled, a scope removed, a consent revoked;
SECURITY.md T41, T96, T97) revokes grants durably and audits it in one transaction — so
refresh tokens are dead once it commits — and only after the commit marks each grant
revoked through the :class:`~gateway.core.ports.GrantRevoker`, so introspection and
userinfo refuse its access tokens at once. Marks are written after the commit, never
while the durable transaction is open (on the embedded SQLite default the ephemeral
store shares the database file, whose write lock that transaction holds; see
``gateway.oauth.families``).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from gateway.core.audit import audit
from gateway.core.ports import Clock
from gateway.core.ports import GrantRevoker
from gateway.core.ports import UnitOfWork
from gateway.core.ports import UnitOfWorkFactory


@dataclass(frozen=True)
class Revoked:
    """What a revoking transaction did: the grants it revoked and the audit event that
    records it (``grants`` — their number — is added to ``fields``)."""

    grant_ids: list[str]
    event: str
    fields: Mapping[str, Any] = field(default_factory=dict)


def revoke_and_mark(
    uow: UnitOfWorkFactory,
    clock: Clock,
    revoker: GrantRevoker | None,
    revoke: Callable[[UnitOfWork, float], Revoked | None],
) -> list[str]:
    """Run ``revoke(tx, now)`` in one transaction, audit what it says and commit; then
    mark every revoked grant. ``revoke`` returns ``None`` when it changed nothing: then
    nothing is audited, committed or marked. It may raise (e.g. ``NotFound``) to roll
    back.

    :param revoker: without one the grants' access tokens live until they expire
        (``oauth.access_token_ttl_seconds``) while their refresh tokens are dead.
    :returns: the revoked grant ids.
    """
    now = clock.now()
    with uow() as tx:
        done = revoke(tx, now)
        if done is None:
            return []
        audit(tx, now, done.event, **done.fields, grants=len(done.grant_ids))
        tx.commit()
    if revoker is not None:
        for grant_id in done.grant_ids:
            revoker.mark_grant_revoked(grant_id)
    return done.grant_ids
