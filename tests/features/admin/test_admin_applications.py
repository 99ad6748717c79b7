"""The review of link applications in the admin pages and API (issue 12 item 4) and the
age lifecycle of guardianships (item 6), with a fixed clock.

Applications are submitted through the parent's use case (the HTTP form is tested over
the ESIA sandbox in ``tests/features/children/test_applications.py``); the admin signs in
through an invite with the SMS factor (``AdminActions``).
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image

from gateway.core.children import GuardianshipStatus
from gateway.core.ids import keyed_digest
from gateway.core.profiles import profile_context
from gateway.core.profiles import today
from gateway.core.types import Subject
from gateway.dev.school_registry import SCHOOLS
from gateway.journey.applications import ApplicationForm
from providers.factors.senders.outbox import DevOutbox
from tests.features.admin.helpers import AdminActions

DAY = 24 * 3600


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 10)).save(out, "JPEG")
    return out.getvalue()


def _parent(services: Any, subject_id: str = "parent-app-1") -> str:
    profile = {"given_name": "Ольга", "email": "olga@example.test", "email_verified": True}
    sealed = services.sealer.seal(json.dumps(profile).encode(), profile_context(subject_id))
    with services.uow() as uow:
        if uow.subjects.get(subject_id) is None:
            uow.subjects.add(
                Subject(subject_id, services.clock.now(), "confirmed", sealed_profile=sealed),
                "esia",
                f"digest-{subject_id}",
            )
        uow.commit()
    return subject_id


@pytest.fixture
def seeded(services: Any) -> Any:
    rows = [dict(s) for s in SCHOOLS]
    result = services.schools.import_schools(rows, list(range(2, 2 + len(rows))))
    assert result.ok
    return services


def _birthdate(services: Any, years: int, days: int = 0) -> str:
    born = today(services.clock.now()) - timedelta(days=days)
    return born.replace(year=born.year - years).isoformat()


def _submit(
    services: Any, parent_id: str, birthdate: str = "", snils: str = "112-233-445 95"
) -> str:
    born = birthdate or _birthdate(services, 9)
    form = ApplicationForm(
        family_name="Заявкина",
        given_name="Вера",
        birthdate=born,
        snils=snils,
        snils_issued=born,
        certificate_kind="foreign",
        certificate_series="X",
        certificate_number="778899",
        certificate_issued=born,
        school_id="demo-school-1",
        class_name="3В",
    )
    submitted = services.applications.submit(parent_id, form, _jpeg())
    return str(submitted.application_id)


def _outbox(services: Any) -> list[str]:
    return [m.text for m in DevOutbox(services.ephemeral, services.clock).messages()]


def test_queue_details_scan_download_and_approval(admin: AdminActions, seeded: Any) -> None:
    parent_id = _parent(seeded)
    application_id = _submit(seeded, parent_id)
    queue = admin.get("/admin/applications")
    assert queue.status_code == 200
    text = queue.get_data(as_text=True)
    assert application_id[:12] in text
    assert "Школа № 1" in text
    assert "иностранное свидетельство" in text  # failed check shown
    details = admin.get(f"/admin/applications/{application_id}").get_data(as_text=True)
    assert "Заявкина" in details  # reviewers see the child's data
    api = admin.get("/admin/api/applications").get_json()
    (row,) = api["applications"]
    assert row["application_id"] == application_id
    assert "certificate_foreign" in row["checks_failed"]
    assert row["child_age"] == 9
    shown = admin.get(f"/admin/api/applications/{application_id}").get_json()
    (document,) = shown["documents"]
    download = admin.get(
        f"/admin/applications/{application_id}/documents/{document['document_id']}"
    )
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.mimetype == "image/jpeg"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    # Outside the admin pages: not served to anyone.
    anonymous = seeded_client(admin).get(
        f"/admin/applications/{application_id}/documents/{document['document_id']}"
    )
    assert anonymous.status_code in (302, 303, 403)

    approved = admin.form(f"/admin/applications/{application_id}/approve")
    assert approved.status_code == 303
    with seeded.uow(read_only=True) as uow:
        (link,) = uow.guardianships.for_parent(parent_id)
        app = uow.applications.get(application_id)
    assert link.status is GuardianshipStatus.VERIFIED
    assert str(link.evidence) == "application"
    assert app is not None
    assert str(app.status) == "approved"
    (event,) = admin.audit_events("application.approved")
    assert event.fields["actor"] == admin.digest
    assert any("одобрена" in t for t in _outbox(seeded))
    again = admin.post(f"/admin/api/applications/{application_id}/approve")
    assert again.status_code == 409
    assert admin.get("/admin/api/applications").get_json() == {"applications": []}


def seeded_client(admin: AdminActions) -> Any:
    return admin.app.test_client()


def test_reject_with_reason_and_ask_for_a_document(admin: AdminActions, seeded: Any) -> None:
    parent_id = _parent(seeded)
    first = _submit(seeded, parent_id)
    second = _submit(seeded, parent_id, snils="123-456-789 64")
    bad = admin.post(f"/admin/api/applications/{first}/reject", json={"reason": "nope"})
    assert bad.status_code == 400
    no_note = admin.post(f"/admin/api/applications/{first}/reject", json={"reason": "other"})
    assert no_note.status_code == 400
    rejected = admin.post(
        f"/admin/api/applications/{first}/reject",
        json={"reason": "not_guardian", "note": "Нужна доверенность"},
    )
    assert rejected.status_code == 200
    assert rejected.get_json()["status"] == "rejected"
    assert admin.audit_events("application.rejected")[0].fields["reason"] == "not_guardian"
    asked = admin.form(f"/admin/applications/{second}/ask-document", {"note": "Скан с печатью"})
    assert asked.status_code == 303
    views = {v.application_id: v for v in seeded.applications.mine(parent_id)}
    assert views[first].status == "rejected"
    assert views[first].reason == "not_guardian"
    assert views[first].note == "Нужна доверенность"
    assert views[second].status == "needs_document"
    assert views[second].note == "Скан с печатью"
    seeded.applications.add_document(parent_id, second, _jpeg())
    views = {v.application_id: v for v in seeded.applications.mine(parent_id)}
    assert views[second].status == "pending"
    assert views[second].documents == 2
    assert any("нужен ещё один документ" in t for t in _outbox(seeded))
    assert any("отклонена" in t for t in _outbox(seeded))


def test_a_reviewer_cannot_decide_about_their_own_child(admin: AdminActions, seeded: Any) -> None:
    digest = keyed_digest(seeded.pepper, "upstream_subject", "fake-1000006")
    with seeded.uow(read_only=True) as uow:
        me = uow.subjects.find_by_upstream("fake", digest)
    assert me is not None
    application_id = _submit(seeded, me.subject_id)
    page = admin.form(f"/admin/applications/{application_id}/approve")
    assert page.status_code == 403
    api = admin.post(f"/admin/api/applications/{application_id}/approve")
    assert api.status_code == 409
    assert api.get_json()["error"] == "own_child"
    assert len(admin.audit_events("application.decision_refused")) == 2
    with seeded.uow(read_only=True) as uow:
        assert uow.guardianships.for_parent(me.subject_id) == []


def test_link_ends_at_18_at_once_and_the_job_expires_and_tells(seeded: Any, clock: Any) -> None:
    parent_id = _parent(seeded)
    # 18 in two days; and another child who turns 18 in 10 days.
    first = _submit(seeded, parent_id, _birthdate(seeded, 18, days=-2))
    second = _submit(seeded, parent_id, _birthdate(seeded, 18, days=-10), "123-456-789 64")
    reviews = seeded.reviews
    for application_id in (first, second):
        reviews.approve(application_id, reviews.reviewer(None))
    assert _usable(seeded, parent_id, clock) == 2
    report = seeded.lifecycle.run_once()
    assert (report.expired, report.warned) == (0, 2)
    assert seeded.lifecycle.run_once().warned == 0  # told once
    assert sum("через" in t for t in _outbox(seeded)) == 2

    clock.advance(2 * DAY + 1)
    # Unusable at once, before any job runs (every use goes through Guardianship.usable).
    assert _usable(seeded, parent_id, clock) == 1
    assert seeded.children.overview(parent_id).expired == ("Вера",)
    report = seeded.lifecycle.run_once()
    assert report.expired == 1
    with seeded.uow(read_only=True) as uow:
        statuses = sorted(str(g.status) for g in uow.guardianships.for_parent(parent_id))
        events = [e.event for e in uow.audit.iter_all()]
    assert statuses == ["expired", "verified"]
    assert "guardianship.expired" in events
    assert any("исполнилось 18" in t for t in _outbox(seeded))


def test_documents_are_purged_after_the_retention_period(seeded: Any, clock: Any) -> None:
    parent_id = _parent(seeded)
    application_id = _submit(seeded, parent_id)
    reviews = seeded.reviews
    reviews.reject(application_id, reviews.reviewer(None), "duplicate", "")
    retention = seeded.config.applications.retention_days * DAY
    clock.advance(retention - 10)
    assert seeded.lifecycle.run_once().purged == 0
    clock.advance(20)
    assert seeded.lifecycle.run_once().purged == 1
    with seeded.uow(read_only=True) as uow:
        (document,) = uow.applications.documents(application_id)
    assert document.deleted_at is not None
    with pytest.raises(Exception, match="no such document"):
        reviews.document(application_id, document.document_id)
    assert replace(document, deleted_at=None).size > 0


def _usable(seeded: Any, parent_id: str, clock: Any) -> int:
    """How many of the parent's links count now (``Guardianship.usable``)."""
    with seeded.uow(read_only=True) as uow:
        links = uow.guardianships.for_parent(parent_id)
    return sum(g.usable(clock.now()) for g in links)
