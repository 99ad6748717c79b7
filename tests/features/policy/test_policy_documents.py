"""Rule documents end to end: validate, apply (atomic, audited, picked up by the running
engine and by other processes), versions and rollback, explain and dry run — through the
admin API, the pages and ``vhod policy``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from click.testing import Result

from gateway.cli import main
from policies.documents.source import ActiveRuleDocuments
from policies.documents.source import default_text
from tests.features.admin.helpers import AdminActions
from tests.helpers.journey import JourneyActions
from tests.helpers.oauth import Authorized
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient
from tests.helpers.oauth import query_of

CLOSE_DIARY = """[policy]
name = "diary closed for school"

[[rule]]
id = "no-diary"
scopes = ["diary"]
clients = ["school"]
effect = "deny"
reason = "diary_closed"
"""

BROKEN = """[[rule]]
id = "a"
scope = ["diary"]
effect = "deny"
"""


def authorize_error(kit: OAuthKit, rc: RegisteredClient, scope: str) -> str | None:
    """Run a login for ``scope``; the ``error`` the client receives, or ``None`` (a code)."""
    first = kit.get_authorize(rc, scope=scope, prompt="login")
    response = kit.journey.login_via_fake("parent", response=first)
    if response.status_code == 200 and response.request.path.endswith("/consent"):
        response = kit.journey.give_consent(response)
    query = query_of(response.headers["Location"])
    return query["error"][0] if "error" in query else None


def test_validate_reports_every_problem_with_lines(admin: AdminActions) -> None:
    report = admin.post("/admin/api/policies/validate", json={"text": BROKEN}).get_json()
    assert report["valid"] is False
    assert report["problems"] == [
        {"line": 1, "message": "rule 'a': 'scopes' is required (a list of scopes, or ['*'])"},
        {"line": 3, "message": "rule 'a': unknown key 'scope' (did you mean 'scopes'?)"},
        {"line": 4, "message": "rule 'a': effect 'deny' needs 'reason'"},
    ]
    ok = admin.post("/admin/api/policies/validate", json={"text": CLOSE_DIARY}).get_json()
    assert ok["valid"] is True
    assert ok["warnings"] == [
        {"line": 4, "message": "rule 'no-diary': client 'school' is not registered"}
    ]
    refused = admin.post("/admin/api/policies", json={"text": BROKEN})
    assert refused.status_code == 400
    assert refused.get_json()["problems"][0].startswith("line 1:")
    assert admin.get("/admin/api/policies").get_json()["versions"] == []


def test_apply_takes_effect_and_rollback_restores(
    kit: OAuthKit, school: RegisteredClient, admin: AdminActions, services: Any
) -> None:
    assert authorize_error(kit, school, "openid diary") is None
    other_process = ActiveRuleDocuments(services.uow, services.config.scopes, services.clock, 5)
    assert other_process.version == "default"
    applied = admin.post("/admin/api/policies", json={"text": CLOSE_DIARY, "comment": "close"})
    assert applied.status_code == 201
    assert applied.get_json()["version"] == 1
    assert authorize_error(kit, school, "openid diary") == "access_denied"
    assert authorize_error(kit, school, "openid profile") is None
    # Another process sees the new version within policy_reload_seconds.
    assert other_process.version == "default"
    services.clock.advance(6)
    assert other_process.version == "1"
    # Back to the shipped default's text, then roll back to version 1 again.
    default_text = admin.get("/admin/api/policies/active").get_json()["text"]
    assert "no-diary" in default_text
    open_text = '[[rule]]\nscopes = ["*"]\neffect = "allow"\n'
    assert admin.post("/admin/api/policies", json={"text": open_text}).status_code == 201
    assert authorize_error(kit, school, "openid diary") is None
    rolled = admin.post("/admin/api/policies/1/rollback", json={"comment": "again"})
    assert rolled.get_json()["version"] == 3
    assert authorize_error(kit, school, "openid diary") == "access_denied"
    history = admin.get("/admin/api/policies").get_json()
    assert history["active_version"] == "3"
    assert [(v["version"], v["active"]) for v in history["versions"]] == [
        (3, True),
        (2, False),
        (1, False),
    ]
    assert history["versions"][0]["sha256"] == history["versions"][2]["sha256"]
    assert admin.get("/admin/api/policies/1").get_json()["text"] == CLOSE_DIARY
    assert admin.get("/admin/api/policies/9").status_code == 404
    assert admin.post("/admin/api/policies/9/rollback", json={}).status_code == 404
    applied_events = admin.audit_events("policy.applied")
    assert [e.fields["version"] for e in applied_events] == [1, 2, 3]
    assert all(e.fields["author"] == admin.digest for e in applied_events)


DIARY_FACTOR = """[[rule]]
id = "school-diary-factor"
scopes = ["diary"]
clients = ["school"]
effect = "require_factor"
acr = "urn:vhod:acr:esia-mfa"

[[rule]]
scopes = ["*"]
effect = "allow"
"""


def test_a_rule_requiring_a_factor_leads_to_the_factor_page_then_a_code(
    kit: OAuthKit, school: RegisteredClient, admin: AdminActions
) -> None:
    other = kit.register("other", scopes=school.client.scopes)
    assert admin.post("/admin/api/policies", json={"text": DIARY_FACTOR}).status_code == 201
    # Another client, or the school without diary: no factor.
    assert authorize_error(kit, other, "openid diary") is None
    assert authorize_error(kit, school, "openid profile") is None
    # The school's diary: the factor page, then a code (the factor meets the rule: no loop).
    first = kit.get_authorize(school, scope="openid diary", prompt="login")
    verifier = kit.verifier
    page = kit.journey.login_via_fake("parent", response=first)
    assert page.status_code == 200, page.status_code
    assert page.request.path.endswith("/factor"), page.request.path
    response = kit.journey.pass_factor(page, "sms")
    if response.status_code == 200 and response.request.path.endswith("/consent"):
        response = kit.journey.give_consent(response)
    assert response.status_code == 303, response.status_code
    location = response.headers["Location"]
    assert location.startswith(school.redirect_uri), location
    query = query_of(location)
    assert "code" in query, location
    exchanged = kit.exchange(school, Authorized(query["code"][0], verifier, "", "", location))
    assert exchanged.status_code == 200, exchanged.get_data(as_text=True)
    claims = kit.verify(exchanged.get_json()["access_token"])[1]
    assert claims["acr"] == "urn:vhod:acr:esia-mfa"
    assert "sms" in claims["amr"]
    assert "diary" in exchanged.get_json()["scope"].split()


def test_explain_rule_by_rule(kit: OAuthKit, school: RegisteredClient, admin: AdminActions) -> None:
    kit.login_tokens(school, scope="openid diary")
    (consent,) = admin.get("/admin/api/consents").get_json()["consents"]
    subject = consent["subject"]
    body = {"client_id": "school", "subject": subject, "scopes": ["openid", "payments"]}
    result = admin.post("/admin/api/policies/explain", json=body).get_json()
    # payments is not registered for the school: the built-in client check decides first.
    assert result["decision"]["reason"] == "scope_not_allowed"
    admin.post("/admin/api/clients/school", json={"scopes": ["openid", "diary", "payments"]})
    result = admin.post("/admin/api/policies/explain", json=body).get_json()
    assert result["decision"]["reason"] == "acr_not_met"  # the catalogue's minimum
    assert result["outcome"].startswith("second factor needed")
    # A rule that asks for a factor where the catalogue does not: the rule decides.
    factor_text = (
        '[[rule]]\nid = "diary-mfa"\nscopes = ["diary"]\neffect = "require_factor"\n'
        'acr = "urn:vhod:acr:esia-mfa"\n'
    )
    admin.post("/admin/api/policies", json={"text": factor_text})
    diary = admin.post(
        "/admin/api/policies/explain", json={**body, "scopes": ["openid", "diary"]}
    ).get_json()
    assert diary["decision"] == {
        "action": "require_factor",
        "reason": "factor_required",
        "error": "interaction_required",
        "details": {
            "scope": "diary",
            "rule": "diary-mfa",
            "acr": "urn:vhod:acr:esia-mfa",
            "current": "urn:vhod:acr:esia",
            "version": "1",
        },
    }
    admin.post("/admin/api/policies", json={"text": default_text(), "comment": "back"})
    result = admin.post("/admin/api/policies/explain", json=body).get_json()
    steps = {s["step"]: s for s in result["steps"]}
    assert steps["acr_not_met"]["fired"]
    assert not steps["client_disabled"]["fired"]
    assert result["policy_version"] == "2"
    payments = next(s for s in result["scopes"] if s["scope"] == "payments")
    assert payments["acr_rule"] == "money-and-documents-need-factor"
    assert any(t["outcome"] == "skipped" for t in payments["trace"])
    mfa = admin.post(
        "/admin/api/policies/explain", json={**body, "acr": "urn:vhod:acr:esia-mfa"}
    ).get_json()
    assert mfa["decision"]["reason"] == "consent_scopes_missing"
    missing = admin.post("/admin/api/policies/explain", json={**body, "subject": "0" * 32})
    assert missing.status_code == 404
    (event,) = admin.audit_events("policy.explained")[:1]
    assert event.fields["subject"] == subject
    page = admin.form(
        "/admin/explain", {"client_id": "school", "subject": subject, "scope": "openid diary"}
    )
    assert page.status_code == 200
    assert "allowed: tokens for openid diary" in page.get_data(as_text=True)


def test_dry_run_shows_changes_for_recent_grants(
    kit: OAuthKit, school: RegisteredClient, admin: AdminActions
) -> None:
    kit.login_tokens(school, scope="openid diary")
    kit.login_tokens(school, scope="openid profile", prompt="login")
    report = admin.post("/admin/api/policies/dry-run", json={"text": CLOSE_DIARY}).get_json()
    assert report["cases"] == 2
    assert report["changed"] == 1
    assert report["summary"] == {"allow->deny": 1}
    (change,) = report["changes"]
    assert change["scopes"] == "openid diary"
    assert change["after"] == {"action": "deny", "reason": "diary_closed"}
    assert len(change["subject"]) == 32
    assert admin.get("/admin/api/policies").get_json()["versions"] == []  # nothing applied
    bad = admin.post("/admin/api/policies/dry-run", json={"text": BROKEN})
    assert bad.status_code == 400


def test_policy_pages(admin: AdminActions) -> None:
    page = admin.get("/admin/policies")
    assert page.status_code == 200
    assert "under-14-guardian-consents" in page.get_data(as_text=True)
    invalid = admin.form("/admin/policies/validate", {"text": BROKEN})
    assert invalid.status_code == 400
    assert "line 3: rule &#39;a&#39;: unknown key" in invalid.get_data(as_text=True)
    dry = admin.form("/admin/policies/dry-run", {"text": CLOSE_DIARY})
    assert dry.status_code == 200
    applied = admin.form("/admin/policies/apply", {"text": CLOSE_DIARY, "comment": "via page"})
    assert applied.status_code == 303
    shown = admin.get("/admin/policies/1").get_data(as_text=True)
    assert "no-diary" in shown
    rolled = admin.form("/admin/policies/apply", {"text": BROKEN})
    assert rolled.status_code == 400


def test_consents_record_the_policy_version(
    kit: OAuthKit, school: RegisteredClient, admin: AdminActions
) -> None:
    kit.login_tokens(school, scope="openid diary")
    (consent,) = admin.get("/admin/api/consents").get_json()["consents"]
    assert consent["policy_version"] == "consent-2025-1+rules-default"
    admin.post("/admin/api/policies", json={"text": CLOSE_DIARY})
    kit.services.clock.advance(10)
    kit.login_tokens(school, scope="openid profile", prompt="consent")
    (latest, _) = admin.get(
        "/admin/api/consents", query_string={"include_revoked": "1"}
    ).get_json()["consents"]
    assert latest["policy_version"] == "consent-2025-1+rules-1"


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def run(services: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from gateway.config.loader import data_dir

    monkeypatch.setenv("VHOD_DATA_DIR", str(data_dir(services.config)))
    monkeypatch.delenv("VHOD_CONFIG", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_cli(run: Any, tmp_path: Path, kit: OAuthKit, school: RegisteredClient) -> None:
    kit.login_tokens(school, scope="openid diary")
    broken, good = tmp_path / "broken.toml", tmp_path / "good.toml"
    broken.write_text(BROKEN)
    good.write_text(CLOSE_DIARY)
    res = run("policy", "validate", str(broken))
    assert res.exit_code == 2
    assert f"{broken}: line 3: rule 'a': unknown key 'scope'" in res.output
    assert run("policy", "validate", str(good)).output.strip() == "ok: 1 rules"
    res = run("policy", "dry-run", str(good), "--days", "3650")
    assert res.exit_code == 0, res.output
    assert "1 would change" in res.output
    assert "allow->deny: 1" in res.output
    assert run("policy", "history").output.startswith("no version applied yet")
    res = run("policy", "apply", str(good), "--comment", "close the diary")
    assert res.output.startswith("applied version 1")
    run("policy", "apply", str(good), "--comment", "again")
    assert run("policy", "show", "1").output == CLOSE_DIARY
    res = run("policy", "rollback", "1")
    assert "applied version 3" in res.output
    lines = run("policy", "history").output.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [["3", "active"], ["2", "-"], ["1", "-"]]
    assert lines[0].split("\t")[3] == "cli"
    assert run("policy", "rollback", "7").exit_code == 2
    with kit.services.uow() as uow:
        (subject_id,) = [c.subject_id for c in uow.admin_queries.consents()]
    res = run(
        "policy",
        "explain",
        "--client",
        "school",
        "--subject",
        subject_id,
        "--scope",
        "openid diary",
    )
    assert res.exit_code == 0, res.output
    assert res.output.startswith("outcome: refused: diary_closed")
    assert "line 4 no-diary: decided deny(diary_closed)" in res.output
    res = run("policy", "explain", "--client", "school", "--subject", "nobody", "--scope", "openid")
    assert res.exit_code == 2
    assert "subject not found" in res.output


def test_journey_actions_are_unaffected_by_admin_paths(client: Any, services: Any) -> None:
    """The login helper never follows into /admin (the admin side has its own browser)."""
    actions = JourneyActions(client, services)
    assert actions.local_location(client.get("/admin/")) is None
