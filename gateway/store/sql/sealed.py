"""``SqlSealedRecords``: every sealed value of the durable store, for re-sealing.

After a data-key rotation, ``keys`` re-seals what the old key sealed by calling
``reseal_all(transform)``; ``transform(value, context)`` opens with the ring and seals
with the newest key. The repository walks each registered sealed column in primary-key
order, in batches (keyset pagination), and writes back only values that changed.

**Every new sealed column must be registered in ``SEALED_COLUMNS`` below**, with the same
``context`` string its writer binds as associated data; a column missing here would keep
depending on a retired data key, and could not be opened once that key is removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column
from sqlalchemy import Connection
from sqlalchemy import Table
from sqlalchemy import select
from sqlalchemy import update

from gateway.core.applications import application_context
from gateway.core.applications import document_context
from gateway.core.applications import note_context
from gateway.core.children import roster_context
from gateway.core.factors import credential_context
from gateway.core.ports import SealedRecords
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.tables import signing_keys_table
from gateway.store.sql.tables_applications import application_decisions_table
from gateway.store.sql.tables_applications import application_documents_table
from gateway.store.sql.tables_applications import applications_table
from gateway.store.sql.tables_children import roster_entries_table
from gateway.store.sql.tables_factors import factor_credentials_table
from gateway.store.sql.tables_identity import subjects_table

RESEAL_BATCH_SIZE = 200


@dataclass(frozen=True)
class SealedColumn:
    """A sealed column: its table, primary key, value column and the sealing context."""

    table: Table
    key: str
    value: str
    context: Callable[[str], str]


SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn(
        table=signing_keys_table,
        key="kid",
        value="sealed_private_jwk",
        context=lambda kid: f"signing_key:{kid}",
    ),
    SealedColumn(
        table=subjects_table,
        key="subject_id",
        value="sealed_profile",
        context=lambda subject_id: f"subject:{subject_id}",
    ),
    SealedColumn(
        table=factor_credentials_table,
        key="credential_id",
        value="sealed_payload",
        context=credential_context,
    ),
    SealedColumn(
        table=roster_entries_table,
        key="entry_id",
        value="sealed_person",
        context=roster_context,
    ),
    SealedColumn(
        table=applications_table,
        key="application_id",
        value="sealed_child",
        context=application_context,
    ),
    SealedColumn(
        table=application_documents_table,
        key="document_id",
        value="sealed_content",
        context=document_context,
    ),
    SealedColumn(
        table=application_decisions_table,
        key="decision_id",
        value="sealed_note",
        context=note_context,
    ),
)


class SqlSealedRecords:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def reseal_all(self, transform: Callable[[bytes, str], bytes]) -> int:
        """Apply ``transform`` to every sealed value; return how many values changed."""
        changed = 0
        for column in SEALED_COLUMNS:
            changed += self._reseal(column, transform)
        return changed

    def _reseal(self, column: SealedColumn, transform: Callable[[bytes, str], bytes]) -> int:
        key: Column[str] = column.table.c[column.key]
        value: Column[bytes] = column.table.c[column.value]
        changed = 0
        after: str | None = None
        while True:
            stmt = select(key, value).order_by(key).limit(RESEAL_BATCH_SIZE)
            if after is not None:
                stmt = stmt.where(key > after)
            with sql_errors():
                rows = self._connection.execute(stmt).all()
            for pk, sealed in rows:
                if sealed is None:
                    continue
                old = bytes(sealed)
                new = transform(old, column.context(pk))
                if new != old:
                    with sql_errors():
                        self._connection.execute(
                            update(column.table).where(key == pk).values({column.value: new})
                        )
                    changed += 1
            if len(rows) < RESEAL_BATCH_SIZE:
                return changed
            after = rows[-1][0]


_: type[SealedRecords] = SqlSealedRecords
