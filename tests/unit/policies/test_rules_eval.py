"""Rule documents: matching, ordering (first deciding rule wins, adding effects add up),
how the verdicts combine, the engine step, explain and the dry run."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gateway.config.schema import ACR_ESIA
from gateway.config.schema import ACR_ESIA_MFA
from gateway.config.schema import DEFAULT_SCOPES
from gateway.core.types import AuthContext
from gateway.core.types import Client
from gateway.core.types import JourneyKind
from policies.build import build_policy_engine
from policies.checks import Action
from policies.checks import PolicyContext
from policies.documents.evaluate import evaluate_document
from policies.documents.parse import parse_document
from policies.documents.source import DEFAULT_VERSION
from policies.documents.source import FixedRuleDocuments
from policies.documents.source import default_text
from policies.documents.source import load_text
from policies.dryrun import DryRunCase
from policies.dryrun import dry_run
from policies.explain import explain

NOW = 1_790_000_000.0
SCHOOL = Client(
    client_id="school",
    redirect_uris=("https://school.example/cb",),
    scopes=("openid", "profile", "diary", "payments", "child", "schedule"),
)


def ctx(**changes: Any) -> PolicyContext:
    base = PolicyContext(
        kind=JourneyKind.AUTHORIZE,
        client=SCHOOL,
        scopes=("openid", "diary"),
        catalogue=DEFAULT_SCOPES,
        account_level="confirmed",
        auth=AuthContext(acr=ACR_ESIA, amr=("pwd",), auth_time=int(NOW)),
        now=NOW,
        subject_id="subject-1",
        age=38,
        consented_scopes=("openid", "diary", "payments", "schedule", "profile", "child"),
    )
    return replace(base, **changes)


def outcome(text: str, context: PolicyContext) -> Any:
    return evaluate_document(parse_document(text, DEFAULT_SCOPES), context, "t")


ORDERED = """
[[rule]]
id = "school-diary-deny"
scopes = ["diary"]
clients = ["school"]
effect = "deny"
reason = "diary_closed"

[[rule]]
id = "diary-allow"
scopes = ["diary"]
effect = "allow"

[[rule]]
id = "all-factor"
scopes = ["*"]
roles = ["staff"]
effect = "require_factor"
acr = "urn:vhod:acr:esia-mfa"

[[rule]]
id = "notify-all"
scopes = ["*"]
age = ["14_to_17"]
effect = "notify_guardian"
"""


def test_the_first_deciding_rule_wins_in_document_order() -> None:
    result = outcome(ORDERED, ctx())
    diary = next(v for v in result.verdicts if v.scope == "diary")
    assert diary.rule_id == "school-diary-deny"
    assert [(t.rule_id, t.outcome) for t in diary.trace] == [
        ("school-diary-deny", "decided"),
        ("diary-allow", "not_reached"),
        ("all-factor", "skipped"),
        ("notify-all", "skipped"),
    ]
    assert result.decision is not None
    assert (result.decision.action, result.decision.reason) == (Action.DENY, "diary_closed")
    assert result.decision.details["rule"] == "school-diary-deny"
    assert result.decision.details["line"] == 2
    # Another client: the first rule does not match (clients), the second decides.
    other = replace(SCHOOL, client_id="meals")
    result = outcome(ORDERED, ctx(client=other))
    assert result.decision is None
    diary = next(v for v in result.verdicts if v.scope == "diary")
    assert (diary.rule_id, diary.trace[0].detail) == ("diary-allow", "clients")


def test_adding_effects_count_wherever_they_stand() -> None:
    teen_staff = ctx(roles=("staff",), age=16, client=replace(SCHOOL, client_id="meals"))
    result = outcome(ORDERED, teen_staff)
    assert result.decision is not None
    assert result.decision.action is Action.REQUIRE_FACTOR
    assert result.decision.details["acr"] == ACR_ESIA_MFA
    assert result.decision.details["rule"] == "all-factor"
    assert result.notifications == ("notify-all",)
    # With the factor, nothing fires; the notification stays.
    mfa = replace(teen_staff, auth=AuthContext(acr=ACR_ESIA_MFA, amr=("pwd", "otp"), auth_time=1))
    result = outcome(ORDERED, mfa)
    assert result.decision is None
    assert result.notifications == ("notify-all",)


def test_unknown_facts_never_match_a_specific_value() -> None:
    text = """
[[rule]]
scopes = ["*"]
schools = ["s-1"]
effect = "deny"
reason = "school_only"

[[rule]]
scopes = ["*"]
min_age = 18
effect = "deny"
reason = "adults_only_rule"
"""
    # No school known, no age known: neither rule matches.
    assert outcome(text, ctx(age=None)).decision is None
    decision = outcome(text, ctx(school_ids=("s-1",))).decision
    assert decision is not None
    assert decision.reason == "school_only"
    decision = outcome(text, ctx(age=30)).decision
    assert decision is not None
    assert decision.reason == "adults_only_rule"


def test_default_deny_document() -> None:
    text = '[policy]\ndefault = "deny"\n\n[[rule]]\nscopes = ["openid"]\neffect = "allow"\n'
    decision = outcome(text, ctx()).decision
    assert decision is not None
    assert (decision.action, decision.reason) == (Action.DENY, "no_rule_allows")
    assert decision.details["scope"] == "diary"
    assert outcome(text, ctx(scopes=("openid",))).decision is None


def test_default_document_pupils_under_14_never_consent_for_themselves() -> None:
    document = load_text(default_text(), DEFAULT_VERSION, DEFAULT_SCOPES)
    child = ctx(account_level="child", age=10, consented_scopes=None)
    decision = document.evaluate(child).decision
    assert decision is not None
    assert (decision.action, decision.reason) == (Action.DENY, "guardian_consent_missing")
    assert decision.details["rule"] == "under-14-guardian-consents"
    # A guardian's recorded consent meets the rule.
    consented = replace(child, guardian_consented_scopes=("openid", "diary"))
    assert document.evaluate(consented).decision is None
    # From 14 the pupil consents for themselves: the built-in consent checks follow.
    teen = ctx(age=15, consented_scopes=None)
    assert document.evaluate(teen).decision is None
    engine = build_policy_engine(FixedRuleDocuments(document))
    assert engine.evaluate(teen).reason == "consent_missing"


def test_default_document_factor_delegation_and_accounts() -> None:
    document = load_text(default_text(), DEFAULT_VERSION, DEFAULT_SCOPES)
    # The catalogue already asks for a factor for payments: the built-in check reports it.
    payments = ctx(scopes=("openid", "payments"))
    assert document.evaluate(payments).decision is None
    verdict = document.evaluate(payments).verdicts[1]
    assert (verdict.acr, verdict.factor_met) == (ACR_ESIA_MFA, False)
    engine = build_policy_engine(FixedRuleDocuments(document))
    assert engine.evaluate(payments).reason == "acr_not_met"
    # Where the catalogue does not, the rule does.
    relaxed = {**DEFAULT_SCOPES, "payments": DEFAULT_SCOPES["diary"]}
    decision = document.evaluate(replace(payments, catalogue=relaxed)).decision
    assert decision is not None
    assert (decision.action, decision.reason) == (Action.REQUIRE_FACTOR, "factor_required")
    assert decision.details["acr"] == ACR_ESIA_MFA
    # A 15-year-old paying: factor required and the guardian notified.
    teen = document.evaluate(ctx(age=15, scopes=("payments",)))
    assert teen.notifications == ("teen-payments-notify",)
    # Acting for a child: profile is not delegable; diary needs the guardian's consent,
    # which is the person's own (met by the built-in consent checks).
    acting = ctx(acting_for="child-1", acting_for_age=10, scopes=("openid", "profile"))
    decision = document.evaluate(acting).decision
    assert decision is not None
    assert decision.reason == "scope_not_delegable"
    assert document.evaluate(replace(acting, scopes=("openid", "diary"))).decision is None
    unconfirmed = document.evaluate(ctx(account_level="standard")).decision
    assert unconfirmed is not None
    assert unconfirmed.reason == "account_not_confirmed"


def test_acting_for_a_teen_by_self_needs_the_childs_consent() -> None:
    text = """
[[rule]]
scopes = ["*"]
delegation = true
age = ["14_to_17"]
effect = "require_consent"
by = "self"
"""
    acting = ctx(acting_for="child-2", acting_for_age=15, age=40)
    decision = outcome(text, acting).decision
    assert decision is not None
    assert decision.reason == "child_consent_missing"
    assert (
        outcome(text, replace(acting, child_consented_scopes=("openid", "diary"))).decision is None
    )


def test_the_engine_step_runs_after_account_checks_and_before_consent() -> None:
    document = load_text(ORDERED, "7", DEFAULT_SCOPES)
    engine = build_policy_engine(FixedRuleDocuments(document))
    decision = engine.evaluate(ctx(consented_scopes=None))
    assert decision.reason == "diary_closed"
    assert [t.reason for t in decision.trail][-2:] == ["child_not_linked", "diary_closed"]
    assert decision.details["version"] == "7"


def test_an_invalid_stored_document_fails_closed() -> None:
    document = load_text('[[rule]]\nscopes = ["nope"]\neffect = "allow"\n', "3", DEFAULT_SCOPES)
    decision = document.evaluate(ctx()).decision
    assert decision is not None
    assert (decision.action, decision.reason) == (Action.DENY, "policy_document_invalid")


def test_explain_lists_every_step_and_rule() -> None:
    document = load_text(default_text(), DEFAULT_VERSION, DEFAULT_SCOPES)
    explanation = explain(ctx(scopes=("openid", "payments")), document)
    assert explanation.decision.reason == "acr_not_met"
    assert explanation.outcome.startswith("second factor needed (urn:vhod:acr:esia-mfa)")
    steps = {s.step: s for s in explanation.steps}
    assert not steps["admin_rules"].fired  # the catalogue's minimum covers the rule
    assert steps["acr_not_met"].fired
    assert not steps["client_unknown"].fired
    data = explanation.to_dict()
    assert data["policy_version"] == "default"
    payments = next(s for s in data["scopes"] if s["scope"] == "payments")
    assert payments["acr_rule"] == "money-and-documents-need-factor"
    assert payments["met"] is False
    text = "\n".join(explanation.lines())
    assert "FIRES acr_not_met" in text
    assert "money-and-documents-need-factor: added require_factor" in text


def test_dry_run_reports_only_changed_decisions() -> None:
    current = load_text(default_text(), DEFAULT_VERSION, DEFAULT_SCOPES)
    candidate = load_text(
        '[[rule]]\nscopes = ["diary"]\nclients = ["school"]\neffect = "deny"\nreason = "closed"\n',
        "candidate",
        DEFAULT_SCOPES,
    )
    cases = [
        DryRunCase({"grant": "g1"}, ctx()),
        DryRunCase({"grant": "g2"}, ctx(scopes=("openid",))),
    ]
    report = dry_run(cases, current, candidate)
    assert report.cases == 2
    assert [c.label["grant"] for c in report.changes] == ["g1"]
    assert report.summary == {"allow->deny": 1}
    assert report.to_dict()["changes"][0]["after"] == {"action": "deny", "reason": "closed"}
