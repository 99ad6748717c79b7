"""Consent records for admins: search, and revoke with immediate effect.

Who consented (subject digest) to which scopes for which client — and, once guardians act
for children, for which child (``acting_for``, as a digest) — when, and under which
policy version. Revoking (SECURITY.md T97) closes the person's live consents for that
client (``revoked_reason = "admin"``) and revokes their grants with that client in the
same transaction (refresh tokens stop at once), audits ``consent.revoked`` with the
acting admin, and after the commit marks each grant revoked through the
:class:`~gateway.core.ports.GrantRevoker`, so introspection answers ``active: false``
for its access tokens at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.admin.revocation import Revoked
from gateway.admin.revocation import revoke_and_mark
from gateway.admin.subjects import resolve_subject
from gateway.admin.subjects import subject_digest
from gateway.core.errors import NotFound
from gateway.core.ports import Clock
from gateway.core.ports import GrantRevoker
from gateway.core.ports import UnitOfWork
from gateway.core.ports import UnitOfWorkFactory

REVOKED_BY_ADMIN = "admin"
MAX_RESULTS = 500


@dataclass(frozen=True)
class ConsentRecord:
    """A consent as admins see it: subjects as digests only."""

    consent_id: str
    client_id: str
    subject: str
    acting_for: str | None
    scopes: tuple[str, ...]
    granted_at: float
    policy_version: str | None
    revoked_at: float | None
    revoked_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "consent_id": self.consent_id,
            "client_id": self.client_id,
            "subject": self.subject,
            "acting_for": self.acting_for,
            "scopes": list(self.scopes),
            "granted_at": self.granted_at,
            "policy_version": self.policy_version,
            "revoked_at": self.revoked_at,
            "revoked_reason": self.revoked_reason,
        }


def search_consents(
    uow: UnitOfWorkFactory,
    pepper: bytes,
    *,
    client_id: str | None = None,
    subject: str | None = None,
    include_revoked: bool = False,
    limit: int = 100,
) -> list[ConsentRecord]:
    """Consents, newest first, by client and/or subject (a digest or an internal id).

    An unknown subject gives no results (never an error that would tell it apart).
    """
    subject_id: str | None = None
    if subject:
        subject_id = resolve_subject(uow, pepper, subject)
        if subject_id is None:
            return []
    with uow(read_only=True) as tx:
        rows = tx.admin_queries.consents(
            client_id=client_id or None,
            subject_id=subject_id,
            include_revoked=include_revoked,
            limit=max(1, min(limit, MAX_RESULTS)),
        )
    return [
        ConsentRecord(
            consent_id=c.consent_id,
            client_id=c.client_id,
            subject=subject_digest(pepper, c.subject_id),
            acting_for=subject_digest(pepper, c.acting_for) if c.acting_for else None,
            scopes=c.scopes,
            granted_at=c.granted_at,
            policy_version=c.policy_version,
            revoked_at=c.revoked_at,
            revoked_reason=c.revoked_reason,
        )
        for c in rows
    ]


def revoke_consent(
    uow: UnitOfWorkFactory,
    clock: Clock,
    pepper: bytes,
    consent_id: str,
    actor: str,
    revoker: GrantRevoker | None,
) -> int:
    """Revoke a live consent (and every live consent of that person for that client) and
    end their grants with the client; how many grants were revoked.

    :raises NotFound: no live consent with that id.
    """

    def revoke(tx: UnitOfWork, now: float) -> Revoked:
        consent = tx.admin_queries.consent(consent_id) if len(consent_id) <= 64 else None
        if consent is None or consent.revoked_at is not None:
            raise NotFound("no live consent with that id")
        tx.consents.revoke(consent.subject_id, consent.client_id, now, REVOKED_BY_ADMIN)
        grant_ids = tx.grants.revoke_where(
            now, subject_id=consent.subject_id, client_id=consent.client_id
        )
        fields = {
            "client_id": consent.client_id,
            "subject": subject_digest(pepper, consent.subject_id),
            "by": REVOKED_BY_ADMIN,
            "actor": actor,
        }
        return Revoked(grant_ids, "consent.revoked", fields)

    return len(revoke_and_mark(uow, clock, revoker, revoke))
