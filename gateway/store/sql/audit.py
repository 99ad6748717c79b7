"""``SqlAuditRepository``: the append-only, hash-chained audit trail (``audit_events``).

Each appended row gets ``seq = last + 1``, ``prev_hash = last.hash`` and
``hash = chain_hash(prev_hash, seq, at, event, fields)`` (``gateway.core.audit``), so
``vhod audit verify`` (``verify_chain``) detects a changed, deleted or reordered row. The
repository has no update or delete: the application only ever appends.

**Concurrent appenders** (threads, processes, hosts) must not read the same "last row"
and fork the chain, so reading the last row and inserting the next one are serialised:

* PostgreSQL: the append first takes ``pg_advisory_xact_lock(AUDIT_LOCK_KEY)``, a
  transaction-scoped advisory lock held until the unit of work commits or rolls back;
  under READ COMMITTED the following ``SELECT`` then sees the previous holder's row.
* SQLite: the unit of work begins its transactions with ``BEGIN IMMEDIATE`` (see
  ``uow.py`` and ``engine.py``), which takes the database write lock before the first
  read, so the last row cannot change until commit. A plain deferred transaction is
  refused (``RuntimeError``): it would read a snapshot that another writer may already
  have moved past.

Either way the unique ``seq`` primary key is the last line of defence: a fork could only
surface as a failed insert, never as a broken chain.

``fields`` are stored as canonical JSON and the hash is computed over the JSON
round-trip of the fields (tuples become lists, keys become strings), so what is read back
hashes to exactly what was written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Row
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text

from gateway.core.audit import GENESIS_HASH
from gateway.core.audit import chain_hash
from gateway.core.ports import AuditRepository
from gateway.core.types import AuditEvent
from gateway.store.sql.engine import SQLITE_BEGIN_OPTION
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.raw import execute
from gateway.store.sql.raw import first_record
from gateway.store.sql.raw import first_row
from gateway.store.sql.tables import audit_events_table as _table

AUDIT_LOCK_KEY = 0x7668_6F64_6175_6474  # b"vhodaudt"
ITER_BATCH_SIZE = 500


# Built once: every login, consent and token family change appends.
_LAST = select(_table.c.seq, _table.c.hash).order_by(_table.c.seq.desc()).limit(1)
_APPEND = insert(_table)
_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


class SqlAuditRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def append(self, at: float, event: str, fields: dict[str, Any]) -> AuditEvent:
        """Append one event after the current last one; see the module doc on locking."""
        stored_fields = json.loads(_dump(fields))
        with sql_errors():
            self._serialise()
            last = first_record(self._connection, _LAST, {})
            seq = 1 if last is None else int(last.seq) + 1
            prev_hash = GENESIS_HASH if last is None else str(last.hash)
            digest = chain_hash(prev_hash, seq, at, event, stored_fields)
            execute(
                self._connection,
                _APPEND,
                {
                    "seq": seq,
                    "at": at,
                    "event": event,
                    "fields": _dump(stored_fields),
                    "prev_hash": prev_hash,
                    "hash": digest,
                },
            )
        return AuditEvent(seq, at, event, stored_fields, prev_hash, digest)

    def iter_all(self) -> Iterator[AuditEvent]:
        """Every event in ``seq`` order, read in batches of ``ITER_BATCH_SIZE`` (keyset
        pagination: memory stays flat however long the trail is)."""
        after = 0
        while True:
            stmt = (
                select(_table)
                .where(_table.c.seq > after)
                .order_by(_table.c.seq)
                .limit(ITER_BATCH_SIZE)
            )
            with sql_errors():
                rows = self._connection.execute(stmt).all()
            for row in rows:
                yield _to_event(row)
            if len(rows) < ITER_BATCH_SIZE:
                return
            after = int(rows[-1].seq)

    def _serialise(self) -> None:
        connection = self._connection
        dialect = connection.dialect.name
        if dialect == "postgresql":
            first_row(connection, _LOCK, {"key": AUDIT_LOCK_KEY})
            return
        begin_mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION)
        if dialect == "sqlite" and begin_mode != "IMMEDIATE":
            raise RuntimeError("audit appends on SQLite need a unit of work (BEGIN IMMEDIATE)")


def _dump(fields: dict[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _to_event(row: Row[Any]) -> AuditEvent:
    return AuditEvent(
        seq=int(row.seq),
        at=row.at,
        event=row.event,
        fields=json.loads(row.fields),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


_: type[AuditRepository] = SqlAuditRepository
