"""The link-application repository (``gateway.store.sql.applications``) on SQLite and
PostgreSQL: round trip, the parent's list and the open queue, counting for rate limits,
documents listed without content and read with it, the purge after the retention
period, decisions in order, sealed columns covered by ``reseal_all``; and the
guardianships ending before a time (the age job)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.core.applications import Application
from gateway.core.applications import ApplicationDecision
from gateway.core.applications import ApplicationDocument
from gateway.core.applications import ApplicationStatus
from gateway.core.applications import DecisionAction
from gateway.core.applications import application_context
from gateway.core.applications import document_context
from gateway.core.applications import note_context
from gateway.core.children import Evidence
from gateway.core.children import Guardianship
from gateway.core.children import GuardianshipStatus
from gateway.core.children import School
from gateway.core.types import Subject
from gateway.store.sql.uow import SqlUnitOfWorkFactory


def app(application_id: str, created_at: float, **kw: object) -> Application:
    values: dict[str, object] = {
        "application_id": application_id,
        "parent_id": "parent",
        "school_id": "sch-1",
        "class_name": "4Б",
        "status": ApplicationStatus.PENDING,
        "created_at": created_at,
        "updated_at": created_at,
        "sealed_child": b"\x01sealed-" + application_id.encode(),
        "snils_index": "s" * 64,
        "certificate_index": "c" * 64,
        "checks": ("roster_certificate", "certificate_foreign"),
    }
    values.update(kw)
    return Application(**values)  # type: ignore[arg-type]


@pytest.fixture
def db(uow: SqlUnitOfWorkFactory) -> SqlUnitOfWorkFactory:
    with uow() as u:
        for subject_id in ("parent", "other", "child"):
            u.subjects.add(Subject(subject_id, 1.0, "confirmed"), "esia", f"d-{subject_id}")
        u.schools.save(School("sch-1", "Школа № 1", "Школа № 1", "7712345671"))
        u.commit()
    return uow


def test_round_trip_lists_queue_and_count(db: SqlUnitOfWorkFactory) -> None:
    with db() as u:
        u.applications.add(app("a1", 10.0))
        u.applications.add(app("a2", 20.0, parent_id="other"))
        u.applications.add(app("a3", 30.0, status=ApplicationStatus.REJECTED, reason="other"))
        u.commit()
    with db() as u:
        assert u.applications.get("a1") == app("a1", 10.0)
        assert u.applications.get("nope") is None
        assert [a.application_id for a in u.applications.for_parent("parent")] == ["a3", "a1"]
        assert [a.application_id for a in u.applications.open_queue(10)] == ["a1", "a2"]
        assert [a.application_id for a in u.applications.open_queue(1)] == ["a1"]
        assert u.applications.count_since("parent", 10.0) == 2
        assert u.applications.count_since("parent", 11.0) == 1
        decided = replace(
            app("a1", 10.0),
            status=ApplicationStatus.APPROVED,
            updated_at=40.0,
            checks=(),
            child_id="child",
            guardianship_id="g1",
            decided_at=40.0,
            purge_after=100.0,
        )
        u.applications.save(decided)
        u.commit()
    with db(read_only=True) as u:
        assert u.applications.get("a1") == decided
        assert [a.application_id for a in u.applications.open_queue(10)] == ["a2"]


def test_documents_decisions_and_purge(db: SqlUnitOfWorkFactory) -> None:
    with db() as u:
        u.applications.add(app("a1", 10.0, purge_after=50.0))
        u.applications.add(app("a2", 10.0))
        for doc_id, application_id in (("d1", "a1"), ("d2", "a1"), ("d3", "a2")):
            u.applications.add_document(
                ApplicationDocument(doc_id, application_id, 11.0, "image/png", 3, "h" * 64, b"abc")
            )
        u.applications.add_decision(
            ApplicationDecision("x2", "a1", 12.0, "cli", DecisionAction.REJECTED, "other", b"n")
        )
        u.applications.add_decision(
            ApplicationDecision("x1", "a1", 11.0, "auto", DecisionAction.DOCUMENT_REQUESTED)
        )
        u.commit()
    with db() as u:
        listed = u.applications.documents("a1")
        assert [d.document_id for d in listed] == ["d1", "d2"]
        assert all(d.sealed_content is None for d in listed)
        full = u.applications.document("a1", "d1")
        assert full is not None
        assert full.sealed_content == b"abc"
        assert u.applications.document("a2", "d1") is None  # another application's
        history = u.applications.decisions("a1")
        assert [(d.decision_id, d.action) for d in history] == [
            ("x1", DecisionAction.DOCUMENT_REQUESTED),
            ("x2", DecisionAction.REJECTED),
        ]
        assert history[1].sealed_note == b"n"
        assert history[1].reason == "other"
        assert u.applications.purge_documents(49.0, 60.0) == 0
        assert u.applications.purge_documents(50.0, 60.0) == 2
        assert u.applications.purge_documents(50.0, 61.0) == 0
        u.commit()
    with db(read_only=True) as u:
        gone = u.applications.document("a1", "d1")
        assert gone is not None
        assert gone.sealed_content is None
        assert gone.deleted_at == 60.0
        kept = u.applications.document("a2", "d3")
        assert kept is not None
        assert kept.sealed_content == b"abc"


def test_sealed_columns_are_resealed(db: SqlUnitOfWorkFactory) -> None:
    with db() as u:
        u.applications.add(app("a1", 10.0))
        u.applications.add_document(
            ApplicationDocument("d1", "a1", 11.0, "image/png", 3, "h" * 64, b"abc")
        )
        u.applications.add_document(
            ApplicationDocument("d2", "a1", 11.0, "image/png", 3, "h" * 64, None, 12.0)
        )
        u.applications.add_decision(
            ApplicationDecision("x1", "a1", 12.0, "cli", DecisionAction.REJECTED, "other", b"n")
        )
        u.commit()
    seen: list[str] = []

    def transform(value: bytes, context: str) -> bytes:
        seen.append(context)
        return value + b"!"

    with db() as u:
        u.sealed.reseal_all(transform)
        u.commit()
    assert application_context("a1") in seen
    assert document_context("d1") in seen
    assert document_context("d2") not in seen  # purged: nothing to reseal
    assert note_context("x1") in seen


def test_guardianships_ending_before(db: SqlUnitOfWorkFactory) -> None:
    def link(gid: str, ends_at: float, status: GuardianshipStatus) -> Guardianship:
        return Guardianship(gid, "parent", "child", Evidence.APPLICATION, status, 1.0, ends_at)

    with db() as u:
        u.guardianships.add(link("g1", 100.0, GuardianshipStatus.VERIFIED))
        u.guardianships.add(link("g2", 50.0, GuardianshipStatus.VERIFIED))
        u.guardianships.add(link("g3", 10.0, GuardianshipStatus.ENDED))
        u.guardianships.add(link("g4", 500.0, GuardianshipStatus.VERIFIED))
        u.commit()
    with db(read_only=True) as u:
        assert [g.guardianship_id for g in u.guardianships.ending_before(100.0, 10)] == [
            "g2",
            "g1",
        ]
        assert [g.guardianship_id for g in u.guardianships.ending_before(100.0, 1)] == ["g2"]
        assert u.guardianships.ending_before(49.0, 10) == []
