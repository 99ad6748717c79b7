"""Admin invitations: ``vhod admins invite`` prints a one-time link; whoever signs in
through it (ESIA, plus a second factor once factors exist) becomes an admin.

Only the keyed digest of the invite token is stored; the link is shown once.
"""

from __future__ import annotations

from gateway.core.audit import audit
from gateway.core.ids import keyed_digest
from gateway.core.ids import new_code
from gateway.core.ports import Clock
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.types import AdminInvite

INVITE_PURPOSE = "admin_invite"


def create_invite(
    uow: UnitOfWorkFactory, clock: Clock, pepper: bytes, ttl_seconds: int, note: str = ""
) -> str:
    """Store a new invite and return its secret token (to be put in a link)."""
    token = new_code()
    now = clock.now()
    invite = AdminInvite(
        digest=keyed_digest(pepper, INVITE_PURPOSE, token),
        created_at=now,
        expires_at=now + ttl_seconds,
        note=note,
    )
    with uow() as tx:
        tx.invites.add(invite)
        audit(tx, now, "admin.invited", invite=invite.digest[:16])
        tx.commit()
    return token


def invite_digest(pepper: bytes, token: str) -> str:
    return keyed_digest(pepper, INVITE_PURPOSE, token)
