"""Enrolled factors of a person: listing, and the admin reset (``FactorManagement``).

``/account`` lists and changes the person's own factors here; the admin side resets a
person's factors (``vhod admins reset-factors``). Every change is audited (``factor.*``
events with a subject digest, never personal data) and announced to the person through
:class:`~providers.factors.login.Notices`.
"""

from __future__ import annotations

from gateway.core.factors import EnrolledFactor
from gateway.core.factors import FactorKind
from gateway.core.ids import subject_digest
from gateway.core.ports import Clock
from gateway.core.ports import UnitOfWorkFactory

__all__ = ["ManagedFactors"]


class ManagedFactors:
    """:class:`~gateway.core.factors.FactorManagement` over the credential repository."""

    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, pepper: bytes) -> None:
        self._uow = uow
        self._clock = clock
        self._pepper = pepper

    def enrolled(self, subject_id: str) -> list[EnrolledFactor]:
        with self._uow(read_only=True) as uow:
            held = [c for c in uow.credentials.list_for(subject_id) if c.active]
        listed: list[EnrolledFactor] = []
        recovery = [c for c in held if c.kind is FactorKind.RECOVERY]
        for c in held:
            if c.kind is FactorKind.RECOVERY:
                continue
            listed.append(
                EnrolledFactor(c.credential_id, c.kind, c.label, c.created_at, c.last_used_at)
            )
        if recovery:
            first = recovery[0]
            listed.append(
                EnrolledFactor(
                    first.credential_id,
                    FactorKind.RECOVERY,
                    first.label,
                    first.created_at,
                    max((c.last_used_at or 0.0 for c in recovery), default=None) or None,
                    hint=str(len(recovery)),
                )
            )
        return listed

    def reset(self, subject_id: str, actor: str) -> int:
        now = self._clock.now()
        with self._uow() as uow:
            removed = uow.credentials.remove_all_for(subject_id)
            uow.audit.append(
                now,
                "factor.reset",
                {
                    "subject": subject_digest(self._pepper, subject_id),
                    "actor": actor,
                    "removed": removed,
                },
            )
            uow.commit()
        return removed
