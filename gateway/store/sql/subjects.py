"""``SqlSubjectRepository``: subjects and their upstream identities.

The repository stores what it is given: the profile arrives already sealed (context
``subject:<subject_id>``) and the upstream id as a keyed digest, so nothing here can
reveal a name or an ESIA oid. Like every repository it never commits.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Row
from sqlalchemy import bindparam
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from gateway.core.errors import NotFound
from gateway.core.ports import SubjectRepository
from gateway.core.types import Subject
from gateway.store.sql._results import rowcount
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.raw import first_record
from gateway.store.sql.tables_identity import subjects_table as _subjects
from gateway.store.sql.tables_identity import upstream_identities_table as _upstream

# Built once (values come as parameters): these run on every login.
_GET = select(_subjects).where(_subjects.c.subject_id == bindparam("subject_id"))
_FIND_BY_UPSTREAM = (
    select(_subjects)
    .join(_upstream, _upstream.c.subject_id == _subjects.c.subject_id)
    .where(_upstream.c.provider == bindparam("provider"))
    .where(_upstream.c.subject_digest == bindparam("subject_digest"))
)
_UPDATE = update(_subjects).where(_subjects.c.subject_id == bindparam("key_subject_id"))


class SqlSubjectRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get(self, subject_id: str) -> Subject | None:
        with sql_errors():
            row = self._connection.execute(_GET, {"subject_id": subject_id}).first()
        return None if row is None else _to_subject(row)

    def find_by_upstream(self, provider: str, subject_digest: str) -> Subject | None:
        params = {"provider": provider, "subject_digest": subject_digest}
        row = first_record(self._connection, _FIND_BY_UPSTREAM, params)
        return None if row is None else _to_subject(row)

    def add(self, subject: Subject, provider: str, subject_digest: str) -> None:
        """Insert the subject and its first upstream identity.

        :raises Conflict: when the subject id or the upstream identity exists (a
            concurrent first login of the same person); the transaction stays usable.
        """
        with sql_errors(), self._connection.begin_nested():
            self._connection.execute(insert(_subjects).values(**_columns(subject)))
            self._connection.execute(
                insert(_upstream).values(
                    provider=provider,
                    subject_digest=subject_digest,
                    subject_id=subject.subject_id,
                    created_at=subject.created_at,
                )
            )

    def update(self, subject: Subject) -> None:
        values = _columns(subject)
        subject_id = values.pop("subject_id")
        values.pop("created_at")
        with sql_errors():
            result = self._connection.execute(_UPDATE, {"key_subject_id": subject_id, **values})
        if rowcount(result) == 0:
            raise NotFound("subject not found")


def _columns(subject: Subject) -> dict[str, Any]:
    return {
        "subject_id": subject.subject_id,
        "created_at": subject.created_at,
        "updated_at": subject.updated_at or subject.created_at,
        "account_level": subject.account_level,
        "roles": json.dumps(list(subject.roles)),
        "sealed_profile": subject.sealed_profile,
    }


def _to_subject(row: Row[Any]) -> Subject:
    return Subject(
        subject_id=row.subject_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        account_level=row.account_level,
        roles=tuple(str(r) for r in json.loads(row.roles)),
        sealed_profile=None if row.sealed_profile is None else bytes(row.sealed_profile),
    )


_: type[SubjectRepository] = SqlSubjectRepository
