"""Admins: the ``admin`` role on a subject, granted through a one-time invite.

``vhod admins invite`` prints ``<issuer>/admin/invite?token=<token>`` (``invites.py``). Whoever
signs in through that link and confirms becomes an admin: :func:`accept_invite` checks
the invite (known, unused, not expired), marks it used with a conditional ``UPDATE`` (two
concurrent acceptances: exactly one wins), adds the role and audits ``admin.granted`` —
one transaction. Every failure is the same :class:`InviteRejected` for the person (the
reason code goes to the log only).
"""

from __future__ import annotations

import dataclasses

from gateway.admin.invites import invite_digest
from gateway.admin.subjects import subject_digest
from gateway.core.audit import audit
from gateway.core.errors import GatewayError
from gateway.core.ports import Clock
from gateway.core.ports import UnitOfWorkFactory

ADMIN_ROLE = "admin"
MAX_TOKEN_LENGTH = 128


class InviteRejected(GatewayError):
    """The invite link cannot make an admin (``reason``: unknown, used, expired...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invite rejected: {reason}")
        self.reason = reason


def is_admin(uow: UnitOfWorkFactory, subject_id: str) -> bool:
    """Whether the subject holds the admin role now (read at every admin request)."""
    with uow(read_only=True) as tx:
        subject = tx.subjects.get(subject_id)
    return subject is not None and ADMIN_ROLE in subject.roles


def invite_usable(uow: UnitOfWorkFactory, clock: Clock, pepper: bytes, token: str) -> bool:
    """Whether ``token`` names an unused, unexpired invite (read only)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return False
    with uow(read_only=True) as tx:
        invite = tx.invites.get(invite_digest(pepper, token))
    return invite is not None and invite.used_at is None and invite.expires_at > clock.now()


def accept_invite(
    uow: UnitOfWorkFactory, clock: Clock, pepper: bytes, token: str, subject_id: str
) -> None:
    """Make ``subject_id`` an admin through the invite ``token`` (one use).

    :raises InviteRejected: unknown, used or expired invite, or an unknown subject.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InviteRejected("malformed")
    digest = invite_digest(pepper, token)
    now = clock.now()
    with uow() as tx:
        invite = tx.invites.get(digest)
        if invite is None:
            raise InviteRejected("unknown")
        if invite.expires_at <= now:
            raise InviteRejected("expired")
        subject = tx.subjects.get(subject_id)
        if subject is None:
            raise InviteRejected("subject_unknown")
        who = subject_digest(pepper, subject_id)
        if not tx.invites.mark_used(digest, now, who):
            raise InviteRejected("used")
        if ADMIN_ROLE not in subject.roles:
            roles = tuple(sorted({*subject.roles, ADMIN_ROLE}))
            tx.subjects.update(dataclasses.replace(subject, roles=roles, updated_at=now))
        audit(tx, now, "admin.granted", invite=digest[:16], subject=who, actor=who)
        tx.commit()
