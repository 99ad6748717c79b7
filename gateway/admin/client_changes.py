"""Client changes with immediate effect on issued tokens (SECURITY.md T41, T96, T97).

The registration itself goes through ``gateway.admin.clients`` (the CLI uses the same
functions); these wrappers add what must follow a change that takes access away:

* **Disable** — ``set_client_disabled`` commits first: from then on the token endpoint
  refuses the client (``query_client``), so its refresh tokens are dead at once. Then
  every live grant of the client is revoked durably and marked revoked for
  introspection and userinfo (``GrantRevoker``).
* **Scope removal** — ``update_client`` commits the new scope list; then the live grants
  of the client that carry a removed scope are revoked the same way (the person signs in
  again and is asked only for what the client may still have).

JWT access tokens already issued stay valid for resource servers that check them offline
until they expire (``oauth.access_token_ttl_seconds``, 10 minutes by default): that is the
bound for offline validation. Introspection answers ``active: false`` at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping

from gateway.admin.clients import set_client_disabled
from gateway.admin.clients import update_client
from gateway.admin.revocation import Revoked
from gateway.admin.revocation import revoke_and_mark
from gateway.core.ports import Clock
from gateway.core.ports import GrantRevoker
from gateway.core.ports import UnitOfWork
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.types import Client


def _revoke_grants(
    uow: UnitOfWorkFactory,
    clock: Clock,
    client_id: str,
    reason: str,
    actor: str,
    revoker: GrantRevoker | None,
    scopes: Iterable[str] | None = None,
) -> list[str]:
    """Revoke the client's live grants (only those carrying one of ``scopes``, if given);
    audited as ``client.grants_revoked`` when there were any."""
    wanted = None if scopes is None else set(scopes)

    def revoke(tx: UnitOfWork, now: float) -> Revoked | None:
        if wanted is None:
            revoked = tx.grants.revoke_where(now, client_id=client_id)
        else:
            revoked = []
            for grant in tx.admin_queries.grants(client_id=client_id, limit=5000):
                if wanted & set(grant.scopes):
                    tx.grants.revoke(grant, now)
                    revoked.append(grant.grant_id)
        if not revoked:
            return None
        fields = {"client_id": client_id, "reason": reason, "actor": actor}
        return Revoked(revoked, "client.grants_revoked", fields)

    return revoke_and_mark(uow, clock, revoker, revoke)


def disable_client(
    uow: UnitOfWorkFactory,
    clock: Clock,
    client_id: str,
    actor: str,
    revoker: GrantRevoker | None,
) -> tuple[Client, int]:
    """Disable the client and end every grant it holds; (client, grants revoked).

    :raises NotFound: unknown client.
    """
    client = set_client_disabled(uow, clock, client_id, True, actor=actor)
    revoked = _revoke_grants(uow, clock, client_id, "client_disabled", actor, revoker)
    return client, len(revoked)


def change_client(
    uow: UnitOfWorkFactory,
    clock: Clock,
    catalogue: Iterable[str],
    client_id: str,
    changes: Mapping[str, object],
    actor: str,
    revoker: GrantRevoker | None,
) -> tuple[Client, int]:
    """Apply field changes (validated as a whole); end grants that carry a removed scope.

    :raises NotFound: unknown client. :raises ValidationFailed: invalid changes.
    """
    with uow(read_only=True) as tx:
        before = tx.clients.get(client_id)
    updated = update_client(uow, clock, catalogue, client_id, changes, actor=actor)
    removed = set(before.scopes if before is not None else ()) - set(updated.scopes)
    if not removed:
        return updated, 0
    revoked = _revoke_grants(uow, clock, client_id, "scope_removed", actor, revoker, removed)
    return updated, len(revoked)
