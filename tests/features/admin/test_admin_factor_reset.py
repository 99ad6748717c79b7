"""Resetting a person's second factors: the admin page, the JSON API and
``vhod admins reset-factors`` — each audited (``factor.reset``) with who did it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.config.schema import ACR_ESIA_MFA
from tests.features.admin.helpers import AdminActions
from tests.helpers.journey import JourneyActions


@pytest.fixture
def person(app: Any, services: Any, admin: AdminActions) -> str:
    """The subject digest of ``parent``, who passed the SMS factor once (number enrolled)."""
    journey = JourneyActions(app.test_client(), services)
    journey.register_client("school")
    page = journey.login_via_fake("parent", acr_values=ACR_ESIA_MFA)
    journey.pass_factor(page, "sms")
    with services.uow() as uow:
        ids = [s for s in uow.admin_queries.subject_ids() if admin.digest_of(s) != admin.digest]
    (subject_id,) = ids
    assert len(services.factors.enrolled(subject_id)) == 1
    return admin.digest_of(subject_id)


def _enrolled(services: Any, admin: AdminActions, digest: str) -> int:
    with services.uow() as uow:
        (subject_id,) = [s for s in uow.admin_queries.subject_ids() if admin.digest_of(s) == digest]
    return len(services.factors.enrolled(subject_id))


def test_reset_on_the_people_page(admin: AdminActions, services: Any, person: str) -> None:
    home = admin.get("/admin/").get_data(as_text=True)
    assert "/admin/subjects" in home
    shown = admin.get("/admin/subjects", query_string={"subject": person})
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert person in text
    assert "<td>sms</td>" in text
    assert "+7900" not in text  # no phone number on the page
    assert admin.client.post(f"/admin/subjects/{person}/reset-factors").status_code == 403
    assert _enrolled(services, admin, person) == 1
    done = admin.form(f"/admin/subjects/{person}/reset-factors")
    assert done.status_code == 303
    assert done.headers["Location"] == f"/admin/subjects?subject={person}"
    after = admin.get(done.headers["Location"]).get_data(as_text=True)
    assert "Способов подтверждения нет" in after
    assert _enrolled(services, admin, person) == 0
    (event,) = admin.audit_events("factor.reset")
    assert event.fields == {"subject": person, "actor": admin.digest, "removed": 1}
    assert admin.get("/admin/subjects", query_string={"subject": "0" * 32}).status_code == 404
    assert admin.get("/admin/subjects", query_string={"subject": "nope"}).status_code == 400


def test_reset_over_the_api(admin: AdminActions, services: Any, person: str) -> None:
    path = f"/admin/api/subjects/{person}/reset-factors"
    no_csrf = admin.client.post(path)
    assert no_csrf.status_code == 403
    assert no_csrf.get_json()["error"] == "csrf_rejected"
    done = admin.post(path)
    assert done.status_code == 200
    assert done.get_json() == {"subject": person, "removed": 1}
    assert admin.post(path).get_json() == {"subject": person, "removed": 0}
    events = admin.audit_events("factor.reset")
    assert [e.fields["actor"] for e in events] == [admin.digest, admin.digest]
    unknown = admin.post(f"/admin/api/subjects/{'0' * 32}/reset-factors")
    assert unknown.status_code == 404
    bad = admin.post("/admin/api/subjects/not-a-digest/reset-factors")
    assert bad.status_code == 400
    assert bad.get_json()["problems"]


def test_reset_from_the_cli(
    admin: AdminActions, services: Any, person: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VHOD_DATA_DIR", str(Path(services.config.server.data_dir)))
    monkeypatch.delenv("VHOD_CONFIG", raising=False)
    runner = CliRunner()
    done = runner.invoke(main, ["admins", "reset-factors", person], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert f"reset second factors of subject {person}: 1 credential(s) removed" in done.output
    assert _enrolled(services, admin, person) == 0
    (event,) = admin.audit_events("factor.reset")
    assert event.fields == {"subject": person, "actor": "cli", "removed": 1}
    unknown = runner.invoke(main, ["admins", "reset-factors", "0" * 32])
    assert unknown.exit_code == 2
    assert "vhod: no such subject" in unknown.output
