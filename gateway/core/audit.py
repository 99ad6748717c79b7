"""The audit trail's hash chain (pure functions; the store appends, ``vhod audit verify``
checks).

Each row's hash covers the previous row's hash and a canonical JSON of the row, so a
changed row breaks its own hash and a deleted row breaks the next row's ``prev_hash``
(and a gap in ``seq``). Fields are safe by construction: ``audit()`` callers pass ids,
digests and reason codes only — never personal data.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gateway.core.logs import log_event
from gateway.core.ports import UnitOfWork
from gateway.core.types import AuditEvent

_log = logging.getLogger("vhod.audit")

GENESIS_HASH = "0" * 64


def canonical(seq: int, at: float, event: str, fields: dict[str, Any]) -> bytes:
    """The bytes a row's hash covers (sorted keys, no whitespace, UTF-8)."""
    body = {"seq": seq, "at": round(at, 6), "event": event, "fields": fields}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, seq: int, at: float, event: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(seq, at, event, fields)).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str


def verify_chain(events: Iterable[AuditEvent]) -> list[ChainProblem]:
    """Every break in the chain: changed rows, deleted rows, reordered rows."""
    problems: list[ChainProblem] = []
    prev_hash = GENESIS_HASH
    expected_seq = 1
    for ev in events:
        if ev.seq != expected_seq:
            problems.append(ChainProblem(ev.seq, f"expected seq {expected_seq}: rows missing"))
        if ev.prev_hash != prev_hash:
            problems.append(ChainProblem(ev.seq, "prev_hash does not match the previous row"))
        if chain_hash(ev.prev_hash, ev.seq, ev.at, ev.event, ev.fields) != ev.hash:
            problems.append(ChainProblem(ev.seq, "row content does not match its hash"))
        prev_hash = ev.hash
        expected_seq = ev.seq + 1
    return problems


def audit(uow: UnitOfWork, at: float, event: str, **safe_fields: Any) -> AuditEvent:
    """Record a named event in the audit table (inside the caller's transaction) and in the
    log. Only safe fields: ids, digests, reason codes — never personal data.

    The log line carries the row's ``seq`` and hash, so the log stream anchors the chain's
    head outside the database (a chain alone cannot show that its newest rows were cut).
    """
    row = uow.audit.append(at, event, safe_fields)
    log_event(_log, event, audit_seq=row.seq, audit_hash=row.hash[:16], **safe_fields)
    return row
