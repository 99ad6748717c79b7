"""Audit-trail queries for admins and ``vhod audit verify``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from gateway.core.audit import ChainProblem
from gateway.core.audit import verify_chain
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.types import AuditEvent


@dataclass(frozen=True)
class ChainReport:
    rows: int
    problems: list[ChainProblem]
    head: str
    """``seq:hash`` of the newest row: record it outside the DB to detect a cut tail."""

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_audit_chain(uow: UnitOfWorkFactory) -> ChainReport:
    """Walk the whole chain once; report every break (changed, deleted, reordered rows)."""
    last: AuditEvent | None = None
    rows = 0

    def tracked(events: Iterator[AuditEvent]) -> Iterator[AuditEvent]:
        nonlocal last, rows
        for ev in events:
            last, rows = ev, rows + 1
            yield ev

    with uow() as tx:
        problems = verify_chain(tracked(tx.audit.iter_all()))
    head = f"{last.seq}:{last.hash}" if last is not None else "0:-"
    return ChainReport(rows=rows, problems=problems, head=head)
