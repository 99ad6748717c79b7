"""The children repositories (``gateway.store.sql.schools`` / ``guardianships``) on SQLite
and PostgreSQL: the school registry and its search (partial words, ё/е, INN, bound clients),
roster replace and upsert (entries updated in place), lookups by blind index, guardianship
links and their ending, guardian consents (a new grant supersedes), the subjects' SNILS
index (unique), and roster person data covered by ``reseal_all``."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.core.children import Evidence
from gateway.core.children import GuardianConsent
from gateway.core.children import Guardianship
from gateway.core.children import GuardianshipStatus
from gateway.core.children import RosterEntry
from gateway.core.children import School
from gateway.core.children import roster_context
from gateway.core.children import roster_entry_id
from gateway.core.children import search_name
from gateway.core.errors import Conflict
from gateway.core.types import Subject
from gateway.store.sql.uow import SqlUnitOfWorkFactory

SCHOOL = School(
    school_id="sch-1",
    full_name="Муниципальное бюджетное общеобразовательное учреждение «Школа № 5 имени Ёлкина»",
    short_name="Школа № 5",
    inn="7712345671",
    ogrn="1027700132195",
    region_code="77",
    address="г. Москва",
    client_ids=("demo-school",),
)
OTHER = School("sch-2", "Гимназия № 2", "Гимназия № 2", "7707049388", client_ids=("lyceum",))


def entry(pupil_id: str, school_id: str = "sch-1", **kw: object) -> RosterEntry:
    values: dict[str, object] = {
        "entry_id": roster_entry_id(school_id, pupil_id),
        "school_id": school_id,
        "pupil_id": pupil_id,
        "class_name": "2А",
        "sealed_person": b"\x01sealed-" + pupil_id.encode(),
        "snils_index": f"snils-{pupil_id}",
        "certificate_index": f"cert-{pupil_id}",
        "updated_at": 10.0,
    }
    values.update(kw)
    return RosterEntry(**values)  # type: ignore[arg-type]


@pytest.fixture
def db(uow: SqlUnitOfWorkFactory) -> SqlUnitOfWorkFactory:
    with uow() as u:
        for subject_id in ("parent", "child", "other"):
            u.subjects.add(Subject(subject_id, 1.0, "confirmed"), "esia", f"d-{subject_id}")
        u.schools.save(SCHOOL)
        u.schools.save(OTHER)
        u.commit()
    return uow


def test_school_round_trip_and_search(db: SqlUnitOfWorkFactory) -> None:
    with db() as u:
        assert u.schools.get("sch-1") == SCHOOL
        assert u.schools.get("nope") is None
        by_words = u.schools.search(tuple(search_name("школа ЕЛКИНА").split()), None, 10)
        assert [s.school_id for s in by_words] == ["sch-1"]
        partial = u.schools.search(("гимн",), None, 10)
        assert [s.school_id for s in partial] == ["sch-2"]
        assert [s.school_id for s in u.schools.search((), "7707049388", 10)] == ["sch-2"]
        assert u.schools.search(("%",), None, 10) == []
        assert u.schools.search((), None, 10) == []
        assert [s.school_id for s in u.schools.for_client("demo-school")] == ["sch-1"]
        assert u.schools.for_client("demo") == []
        u.schools.save(replace(OTHER, client_ids=("lyceum", "x")))
        u.commit()
    with db() as u:
        assert [s.school_id for s in u.schools.for_client("x")] == ["sch-2"]


def test_roster_replace_and_upsert(db: SqlUnitOfWorkFactory) -> None:
    with db() as u:
        assert u.rosters.replace("sch-1", [entry("p1"), entry("p2")]) == 0
        u.commit()
    with db() as u:
        removed = u.rosters.replace("sch-1", [entry("p2", class_name="3Б"), entry("p3")])
        assert removed == 1
        u.commit()
    with db() as u:
        pupils = u.rosters.list_for_school("sch-1")
        assert [(p.pupil_id, p.class_name) for p in pupils] == [("p2", "3Б"), ("p3", "2А")]
        assert u.rosters.get(roster_entry_id("sch-1", "p1")) is None
        assert u.rosters.upsert("sch-1", [entry("p3", class_name="4В"), entry("p4")]) == (1, 1)
        u.commit()
    with db() as u:
        assert len(u.rosters.list_for_school("sch-1")) == 3
        found = u.rosters.find_by_snils("snils-p3")
        assert [(e.pupil_id, e.class_name) for e in found] == [("p3", "4В")]
        assert u.rosters.find_by_snils("snils-none") == []
        stored = u.rosters.get(roster_entry_id("sch-1", "p4"))
        assert stored == entry("p4")


def link(guardianship_id: str = "g1", **kw: object) -> Guardianship:
    values: dict[str, object] = {
        "guardianship_id": guardianship_id,
        "parent_id": "parent",
        "child_id": "child",
        "evidence": Evidence.ESIA_KIDS,
        "status": GuardianshipStatus.VERIFIED,
        "created_at": 100.0,
        "ends_at": 1000.0,
        "school_id": "sch-1",
        "roster_entry_id": "e1",
        "verified_at": 100.0,
    }
    values.update(kw)
    return Guardianship(**values)  # type: ignore[arg-type]


def test_guardianships(db: SqlUnitOfWorkFactory) -> None:
    with db() as u:
        u.guardianships.add(link())
        u.guardianships.add(link("g2", child_id="other", created_at=101.0))
        u.commit()
    with db() as u:
        assert u.guardianships.get("g1") == link()
        assert [g.guardianship_id for g in u.guardianships.for_parent("parent")] == ["g1", "g2"]
        assert [g.guardianship_id for g in u.guardianships.for_child("other")] == ["g2"]
        with pytest.raises(Conflict):
            u.guardianships.add(link())
        assert u.guardianships.end("g1", 200.0, GuardianshipStatus.ENDED)
        assert not u.guardianships.end("g1", 201.0, GuardianshipStatus.ENDED)
        u.commit()
    with db() as u:
        ended = u.guardianships.get("g1")
        assert ended is not None
        assert ended.status is GuardianshipStatus.ENDED
        assert ended.ended_at == 200.0
        assert not ended.usable(150.0)
        assert link().usable(999.0)
        assert not link().usable(1000.0)


def test_guardian_consents(db: SqlUnitOfWorkFactory) -> None:
    first = GuardianConsent("c1", "parent", "child", "demo-school", ("openid",), 100.0)
    second = GuardianConsent("c2", "parent", "child", "demo-school", ("openid", "diary"), 110.0)
    with db() as u:
        u.guardian_consents.grant(first)
        u.guardian_consents.grant(second)
        u.commit()
    with db() as u:
        assert u.guardian_consents.active_for_child("child", "demo-school") == [second]
        assert u.guardian_consents.active_for_child("child", "lyceum") == []
        assert u.guardian_consents.for_guardian("parent") == [second]
        assert u.guardian_consents.revoke("parent", "child", "demo-school", 120.0) == 1
        assert u.guardian_consents.revoke("parent", "child", "demo-school", 121.0) == 0
        u.commit()
    with db() as u:
        assert u.guardian_consents.active_for_child("child", "demo-school") == []


def test_person_index_is_unique(db: SqlUnitOfWorkFactory) -> None:
    with db() as u:
        assert u.person_index.find("idx") is None
        u.person_index.set("child", "idx")
        with pytest.raises(Conflict):
            u.person_index.set("other", "idx")
        assert u.person_index.find("idx") == "child"  # the transaction stays usable
        u.commit()
    with db() as u:
        assert u.person_index.find("idx") == "child"
        subject = u.subjects.get("child")
        assert subject is not None
        u.subjects.update(subject)  # a profile update keeps the index
        assert u.person_index.find("idx") == "child"
        u.person_index.attach("child", "esia", "own-account", 5.0)
        with pytest.raises(Conflict):
            u.person_index.attach("other", "esia", "own-account", 5.0)
        found = u.subjects.find_by_upstream("esia", "own-account")
        assert found is not None
        assert found.subject_id == "child"


def test_reseal_all_covers_roster_person_data(db: SqlUnitOfWorkFactory) -> None:
    with db() as u:
        u.rosters.replace("sch-1", [entry("p1")])
        u.commit()
    target = roster_context(roster_entry_id("sch-1", "p1"))

    def transform(value: bytes, context: str) -> bytes:
        return value + b"!" if context == target else value

    with db() as u:
        assert u.sealed.reseal_all(transform) == 1
        u.commit()
    with db() as u:
        stored = u.rosters.get(roster_entry_id("sch-1", "p1"))
        assert stored is not None
        assert stored.sealed_person == b"\x01sealed-p1!"
