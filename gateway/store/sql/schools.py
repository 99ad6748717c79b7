"""``SqlSchoolRepository`` and ``SqlRosterRepository``: the school registry and rosters.

Roster entries arrive sealed (``roster_context(entry_id)``) with their blind indexes; the
repository stores what it is given and never sees a SNILS. A school's roster is unique per
(school, pupil id), and so is the entry's id (``gateway.core.children.roster_entry_id``):
``replace`` and ``upsert`` update a pupil the school already had in place, so guardianships
that point at the entry stay valid. Like every repository they
never commit.
"""

from __future__ import annotations

import json
from dataclasses import replace as dc_replace
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Row
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from gateway.core.children import RosterEntry
from gateway.core.children import RosterRepository
from gateway.core.children import School
from gateway.core.children import SchoolRepository
from gateway.store.sql._results import rowcount
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.tables_children import roster_entries_table as _roster
from gateway.store.sql.tables_children import schools_table as _schools

_s = _schools.c
_r = _roster.c


class SqlSchoolRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get(self, school_id: str) -> School | None:
        with sql_errors():
            row = self._connection.execute(
                select(_schools).where(_s.school_id == school_id)
            ).first()
        return None if row is None else _to_school(row)

    def save(self, school: School) -> None:
        values = {
            "full_name": school.full_name,
            "short_name": school.short_name,
            "search_name": school.search_name,
            "inn": school.inn,
            "ogrn": school.ogrn,
            "region_code": school.region_code,
            "address": school.address,
            "client_ids": json.dumps(sorted(set(school.client_ids))),
        }
        with sql_errors():
            result = self._connection.execute(
                update(_schools).where(_s.school_id == school.school_id).values(values)
            )
            if rowcount(result) == 0:
                self._connection.execute(
                    insert(_schools).values(school_id=school.school_id, **values)
                )

    def search(self, words: tuple[str, ...], inn: str | None, limit: int) -> list[School]:
        conditions = []
        if words:
            by_name = [_s.search_name.contains(word, autoescape=True) for word in words]
            conditions.append(and_(*by_name))
        if inn:
            conditions.append(_s.inn == inn)
        if not conditions:
            return []
        stmt = (
            select(_schools)
            .where(or_(*conditions))
            .order_by(_s.short_name, _s.school_id)
            .limit(limit)
        )
        with sql_errors():
            rows = self._connection.execute(stmt).all()
        return [_to_school(row) for row in rows]

    def for_client(self, client_id: str) -> list[School]:
        # A JSON list in a text column: narrow with LIKE, then check exactly.
        stmt = (
            select(_schools)
            .where(_s.client_ids.contains(json.dumps(client_id), autoescape=True))
            .order_by(_s.short_name, _s.school_id)
        )
        with sql_errors():
            rows = self._connection.execute(stmt).all()
        return [s for s in (_to_school(row) for row in rows) if client_id in s.client_ids]


def _to_school(row: Row[Any]) -> School:
    return School(
        school_id=row.school_id,
        full_name=row.full_name,
        short_name=row.short_name,
        inn=row.inn,
        ogrn=row.ogrn,
        region_code=row.region_code,
        address=row.address,
        client_ids=tuple(str(c) for c in json.loads(row.client_ids)),
    )


class SqlRosterRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def replace(self, school_id: str, entries: list[RosterEntry]) -> int:
        known = self._known(school_id)
        keep = {e.pupil_id for e in entries}
        gone = [entry_id for pupil_id, entry_id in known.items() if pupil_id not in keep]
        with sql_errors():
            if gone:
                self._connection.execute(delete(_roster).where(_r.entry_id.in_(gone)))
        self._write(school_id, entries, known)
        return len(gone)

    def upsert(self, school_id: str, entries: list[RosterEntry]) -> tuple[int, int]:
        known = self._known(school_id)
        self._write(school_id, entries, known)
        updated = sum(1 for e in entries if e.pupil_id in known)
        return len(entries) - updated, updated

    def get(self, entry_id: str) -> RosterEntry | None:
        with sql_errors():
            row = self._connection.execute(select(_roster).where(_r.entry_id == entry_id)).first()
        return None if row is None else _to_entry(row)

    def find_by_snils(self, snils_index: str) -> list[RosterEntry]:
        stmt = select(_roster).where(_r.snils_index == snils_index).order_by(_r.entry_id)
        with sql_errors():
            rows = self._connection.execute(stmt).all()
        return [_to_entry(row) for row in rows]

    def list_for_school(self, school_id: str) -> list[RosterEntry]:
        stmt = select(_roster).where(_r.school_id == school_id).order_by(_r.pupil_id)
        with sql_errors():
            rows = self._connection.execute(stmt).all()
        return [_to_entry(row) for row in rows]

    def _known(self, school_id: str) -> dict[str, str]:
        """pupil id → entry id of the school's roster."""
        stmt = select(_r.pupil_id, _r.entry_id).where(_r.school_id == school_id)
        with sql_errors():
            return {p: e for p, e in self._connection.execute(stmt).all()}

    def _write(self, school_id: str, entries: list[RosterEntry], known: dict[str, str]) -> None:
        with sql_errors():
            for entry in entries:
                existing = known.get(entry.pupil_id)
                if existing is None:
                    self._connection.execute(
                        insert(_roster).values(**_columns(dc_replace(entry, school_id=school_id)))
                    )
                    continue
                values = _columns(dc_replace(entry, school_id=school_id))
                del values["entry_id"]
                self._connection.execute(
                    update(_roster).where(_r.entry_id == existing).values(values)
                )


def _columns(entry: RosterEntry) -> dict[str, Any]:
    return {
        "entry_id": entry.entry_id,
        "school_id": entry.school_id,
        "pupil_id": entry.pupil_id,
        "class_name": entry.class_name,
        "sealed_person": entry.sealed_person,
        "snils_index": entry.snils_index,
        "certificate_index": entry.certificate_index,
        "updated_at": entry.updated_at,
    }


def _to_entry(row: Row[Any]) -> RosterEntry:
    return RosterEntry(
        entry_id=row.entry_id,
        school_id=row.school_id,
        pupil_id=row.pupil_id,
        class_name=row.class_name,
        sealed_person=bytes(row.sealed_person),
        snils_index=row.snils_index,
        certificate_index=row.certificate_index,
        updated_at=row.updated_at,
    )


_school: type[SchoolRepository] = SqlSchoolRepository
_roster_repo: type[RosterRepository] = SqlRosterRepository
