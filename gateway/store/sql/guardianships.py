"""``SqlGuardianshipRepository``, ``SqlGuardianConsentRepository`` and ``SqlPersonIndex``.

Links and consents refer to subjects by internal id only; the person index holds the SNILS
blind index of a subject (unique). Like every repository they never commit.
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

from gateway.core.children import Evidence
from gateway.core.children import GuardianConsent
from gateway.core.children import GuardianConsentRepository
from gateway.core.children import Guardianship
from gateway.core.children import GuardianshipRepository
from gateway.core.children import GuardianshipStatus
from gateway.core.children import PersonIndex
from gateway.store.sql._results import rowcount
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.raw import first_row
from gateway.store.sql.raw import records
from gateway.store.sql.tables_children import guardian_consents_table as _consents
from gateway.store.sql.tables_children import guardianships_table as _links
from gateway.store.sql.tables_identity import subjects_table as _subjects
from gateway.store.sql.tables_identity import upstream_identities_table as _upstream

_g = _links.c
_c = _consents.c
_OPEN = (str(GuardianshipStatus.PENDING), str(GuardianshipStatus.VERIFIED))

# Built once (values come as parameters): these run in the policy context of every login
# (the SNILS index of an adult or a parent; a minor's guardian consents).
_FIND_BY_SNILS = select(_subjects.c.subject_id).where(
    _subjects.c.snils_index == bindparam("snils_index")
)
_LIVE_FOR_CHILD = (
    select(_consents)
    .where(_c.child_id == bindparam("child_id"))
    .where(_c.client_id == bindparam("client_id"))
    .where(_c.revoked_at.is_(None))
    .order_by(_c.granted_at, _c.consent_id)
)


class SqlGuardianshipRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, guardianship: Guardianship) -> None:
        g = guardianship
        values = {
            "guardianship_id": g.guardianship_id,
            "parent_id": g.parent_id,
            "child_id": g.child_id,
            "evidence": str(g.evidence),
            "status": str(g.status),
            "school_id": g.school_id,
            "roster_entry_id": g.roster_entry_id,
            "created_at": g.created_at,
            "verified_at": g.verified_at,
            "ended_at": g.ended_at,
            "ends_at": g.ends_at,
        }
        with sql_errors(), self._connection.begin_nested():
            self._connection.execute(insert(_links).values(values))

    def get(self, guardianship_id: str) -> Guardianship | None:
        stmt = select(_links).where(_g.guardianship_id == guardianship_id)
        with sql_errors():
            row = self._connection.execute(stmt).first()
        return None if row is None else _to_link(row)

    def for_parent(self, parent_id: str) -> list[Guardianship]:
        return self._where(_g.parent_id == parent_id)

    def for_child(self, child_id: str) -> list[Guardianship]:
        return self._where(_g.child_id == child_id)

    def end(self, guardianship_id: str, at: float, status: GuardianshipStatus) -> bool:
        stmt = (
            update(_links)
            .where(_g.guardianship_id == guardianship_id)
            .where(_g.status.in_(_OPEN))
            .values(status=str(status), ended_at=at)
        )
        with sql_errors():
            return rowcount(self._connection.execute(stmt)) == 1

    def ending_before(self, at: float, limit: int) -> list[Guardianship]:
        stmt = (
            select(_links)
            .where(_g.status == str(GuardianshipStatus.VERIFIED))
            .where(_g.ends_at <= at)
            .order_by(_g.ends_at, _g.guardianship_id)
            .limit(limit)
        )
        with sql_errors():
            rows = self._connection.execute(stmt).all()
        return [_to_link(row) for row in rows]

    def _where(self, condition: Any) -> list[Guardianship]:
        stmt = select(_links).where(condition).order_by(_g.created_at, _g.guardianship_id)
        with sql_errors():
            rows = self._connection.execute(stmt).all()
        return [_to_link(row) for row in rows]


def _to_link(row: Row[Any]) -> Guardianship:
    return Guardianship(
        guardianship_id=row.guardianship_id,
        parent_id=row.parent_id,
        child_id=row.child_id,
        evidence=Evidence(row.evidence),
        status=GuardianshipStatus(row.status),
        created_at=row.created_at,
        ends_at=row.ends_at,
        school_id=row.school_id,
        roster_entry_id=row.roster_entry_id,
        verified_at=row.verified_at,
        ended_at=row.ended_at,
    )


class SqlGuardianConsentRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def grant(self, consent: GuardianConsent) -> None:
        with sql_errors():
            self._connection.execute(
                update(_consents)
                .where(_c.guardian_id == consent.guardian_id)
                .where(_c.child_id == consent.child_id)
                .where(_c.client_id == consent.client_id)
                .where(_c.revoked_at.is_(None))
                .values(revoked_at=consent.granted_at)
            )
            self._connection.execute(
                insert(_consents).values(
                    consent_id=consent.consent_id,
                    guardian_id=consent.guardian_id,
                    child_id=consent.child_id,
                    client_id=consent.client_id,
                    scopes=json.dumps(list(consent.scopes)),
                    granted_at=consent.granted_at,
                    revoked_at=consent.revoked_at,
                )
            )

    def active_for_child(self, child_id: str, client_id: str) -> list[GuardianConsent]:
        params = {"child_id": child_id, "client_id": client_id}
        rows = records(self._connection, _LIVE_FOR_CHILD, params)
        return [_to_guardian_consent(row) for row in rows]

    def for_guardian(self, guardian_id: str) -> list[GuardianConsent]:
        return self._live(_c.guardian_id == guardian_id)

    def revoke(self, guardian_id: str, child_id: str, client_id: str, at: float) -> int:
        stmt = (
            update(_consents)
            .where(_c.guardian_id == guardian_id)
            .where(_c.child_id == child_id)
            .where(_c.client_id == client_id)
            .where(_c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        with sql_errors():
            return rowcount(self._connection.execute(stmt))

    def _live(self, condition: Any) -> list[GuardianConsent]:
        stmt = (
            select(_consents)
            .where(condition)
            .where(_c.revoked_at.is_(None))
            .order_by(_c.granted_at, _c.consent_id)
        )
        with sql_errors():
            rows = self._connection.execute(stmt).all()
        return [_to_guardian_consent(row) for row in rows]


class SqlPersonIndex:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def find(self, snils_index: str) -> str | None:
        row = first_row(self._connection, _FIND_BY_SNILS, {"snils_index": snils_index})
        return None if row is None else str(row[0])

    def set(self, subject_id: str, snils_index: str) -> None:
        stmt = (
            update(_subjects)
            .where(_subjects.c.subject_id == subject_id)
            .values(snils_index=snils_index)
        )
        with sql_errors(), self._connection.begin_nested():
            self._connection.execute(stmt)

    def attach(self, subject_id: str, provider: str, subject_digest: str, at: float) -> None:
        values = {
            "provider": provider,
            "subject_digest": subject_digest,
            "subject_id": subject_id,
            "created_at": at,
        }
        with sql_errors(), self._connection.begin_nested():
            self._connection.execute(insert(_upstream).values(values))


def _to_guardian_consent(row: Row[Any]) -> GuardianConsent:
    return GuardianConsent(
        consent_id=row.consent_id,
        guardian_id=row.guardian_id,
        child_id=row.child_id,
        client_id=row.client_id,
        scopes=tuple(str(s) for s in json.loads(row.scopes)),
        granted_at=row.granted_at,
        revoked_at=row.revoked_at,
    )


_links_repo: type[GuardianshipRepository] = SqlGuardianshipRepository
_consents_repo: type[GuardianConsentRepository] = SqlGuardianConsentRepository
_index: type[PersonIndex] = SqlPersonIndex
