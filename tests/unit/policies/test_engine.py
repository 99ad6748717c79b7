from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gateway.config.schema import ACR_ESIA
from gateway.config.schema import ACR_ESIA_MFA
from gateway.config.schema import DEFAULT_SCOPES
from gateway.core.types import AuthContext
from gateway.core.types import Client
from gateway.core.types import JourneyKind
from policies.authn import required_acr
from policies.build import build_policy_engine
from policies.checks import Action
from policies.checks import Check
from policies.checks import Decision
from policies.checks import PolicyContext
from policies.documents.source import DEFAULT_VERSION
from policies.documents.source import default_text
from policies.documents.source import load_text
from policies.engine import PolicyEngine
from policies.explain import explain
from policies.rules import RuleDocuments
from policies.rules import RuleDocumentsCheck

NOW = 1_790_000_000.0
CLIENT = Client(
    client_id="c1",
    redirect_uris=("https://c1.example/cb",),
    scopes=("openid", "profile", "diary", "payments"),
)


def ctx(**kw: Any) -> PolicyContext:
    base = PolicyContext(
        kind=JourneyKind.AUTHORIZE,
        client=CLIENT,
        scopes=("openid", "profile"),
        catalogue=DEFAULT_SCOPES,
        account_level="confirmed",
        auth=AuthContext(ACR_ESIA, ("pwd",), int(NOW) - 60),
        now=NOW,
        subject_id="s1",
        age=38,
        consented_scopes=("openid", "profile"),
    )
    return replace(base, **kw)


ENGINE = build_policy_engine()


def reason(**kw: Any) -> str:
    return ENGINE.evaluate(ctx(**kw)).reason


def test_allow_with_full_trail() -> None:
    decision = ENGINE.evaluate(ctx())
    assert decision.allowed
    assert decision.reason == "allowed"
    assert [e.reason for e in decision.trail] == list(ENGINE.reasons)
    assert not any(e.fired for e in decision.trail)


def test_order_of_the_built_in_checks_is_stable() -> None:
    assert ENGINE.reasons == (
        "client_unknown",
        "client_disabled",
        "scope_not_allowed",
        "hint_subject_mismatch",
        "account_level_unknown",
        "account_not_confirmed",
        "child_account_adult",
        "parent_as_pupil",
        "child_account_parent",
        "scope_not_delegable",
        "child_not_linked",
        "admin_rules",
        "max_age_exceeded",
        "acr_not_met",
        "no_children_linked",
        "child_not_chosen",
        "consent_missing",
        "consent_scopes_missing",
        "consent_prompted",
    )


@pytest.mark.parametrize(
    ("kw", "expected", "action", "error"),
    [
        ({"client": None}, "client_unknown", Action.DENY, "access_denied"),
        ({"client": replace(CLIENT, disabled=True)}, "client_disabled", Action.DENY, None),
        ({"scopes": ("openid", "email")}, "scope_not_allowed", Action.DENY, "invalid_scope"),
        ({"hint_subject": "s2"}, "hint_subject_mismatch", Action.DENY, "login_required"),
        ({"account_level": "weird"}, "account_level_unknown", Action.DENY, "access_denied"),
        ({"account_level": "standard"}, "account_not_confirmed", Action.DENY, "access_denied"),
        ({"account_level": "simplified"}, "account_not_confirmed", Action.DENY, None),
        ({"account_level": "child", "age": 18}, "child_account_adult", Action.DENY, None),
        ({"max_age": 30}, "max_age_exceeded", Action.DENY, "login_required"),
        (
            {"acr_values": (ACR_ESIA_MFA,)},
            "acr_not_met",
            Action.REQUIRE_FACTOR,
            "interaction_required",
        ),
        ({"consented_scopes": None}, "consent_missing", Action.REQUIRE_CONSENT, None),
        (
            {"consented_scopes": ("openid",)},
            "consent_scopes_missing",
            Action.REQUIRE_CONSENT,
            "consent_required",
        ),
        ({"prompt": ("consent",)}, "consent_prompted", Action.REQUIRE_CONSENT, None),
    ],
)
def test_each_check_reason(
    kw: dict[str, Any], expected: str, action: Action, error: str | None
) -> None:
    decision = ENGINE.evaluate(ctx(**kw))
    assert decision.reason == expected
    assert decision.action is action
    if error is not None:
        assert decision.error == error
    assert decision.trail[-1].reason == expected
    assert decision.trail[-1].fired


@pytest.mark.parametrize(
    ("level", "age"),
    [("confirmed", 38), ("confirmed", 15), ("child", 10), ("child", 17), ("child", None)],
)
def test_accepted_accounts(level: str, age: int | None) -> None:
    assert reason(account_level=level, age=age) == "allowed"


def test_first_firing_check_wins() -> None:
    # Unconfirmed account and no consent: the account check comes first.
    assert reason(account_level="standard", consented_scopes=None) == "account_not_confirmed"
    # Disabled client beats everything about the person.
    assert reason(client=replace(CLIENT, disabled=True), account_level="standard") == (
        "client_disabled"
    )


def test_scope_minimum_acr_from_the_catalogue() -> None:
    decision = ENGINE.evaluate(
        ctx(scopes=("openid", "payments"), consented_scopes=("openid", "payments"))
    )
    assert decision.reason == "acr_not_met"
    assert decision.details["acr"] == ACR_ESIA_MFA
    mfa = AuthContext(ACR_ESIA_MFA, ("pwd", "otp", "mfa"), int(NOW))
    assert reason(scopes=("openid", "payments"), consented_scopes=None, auth=mfa) == (
        "consent_missing"
    )


def test_acr_values_any_listed_value_is_acceptable() -> None:
    assert reason(acr_values=(ACR_ESIA_MFA, ACR_ESIA)) == "allowed"
    assert reason(acr_values=("urn:unknown",)) == "allowed"  # unknown values are ignored


def test_max_age_within_bounds() -> None:
    assert reason(max_age=10_000) == "allowed"


def test_account_journey_needs_no_client_and_no_consent() -> None:
    assert (
        reason(kind=JourneyKind.ACCOUNT, client=None, scopes=(), consented_scopes=None) == "allowed"
    )
    assert (
        reason(kind=JourneyKind.ACCOUNT, client=None, scopes=(), account_level="standard")
        == "account_not_confirmed"
    )


def test_consent_given_now_satisfies_prompt_consent() -> None:
    assert reason(prompt=("consent",), consent_given_now=True, consented_scopes=None) == ("allowed")


class DenyDiary:
    version = "test-1"

    def evaluate(self, ctx: PolicyContext) -> Decision | None:
        if "diary" in ctx.scopes:
            return Decision(Action.DENY, "rule:no-diary", error="access_denied")
        return None


def test_rule_documents_enter_through_one_step() -> None:
    documents: RuleDocuments = DenyDiary()
    engine = build_policy_engine(documents)
    decision = engine.evaluate(ctx(scopes=("openid", "diary"), consented_scopes=None))
    assert decision.reason == "rule:no-diary"
    assert decision.trail[-1].reason == "rule:no-diary"
    # Built-in account checks still come first.
    assert engine.evaluate(ctx(account_level="standard")).reason == "account_not_confirmed"


def test_step_reasons_must_be_distinct() -> None:
    check = Check("x", "d", "access_denied", lambda c: False)
    with pytest.raises(ValueError, match="distinct"):
        PolicyEngine([check, check])


def test_admin_rules_step_without_documents_allows() -> None:
    from policies.rules import NoRuleDocuments

    assert RuleDocumentsCheck(NoRuleDocuments()).evaluate(ctx()) is None


# --------------------------------------------------------------- the client's minimum acr
# required_acr: the strongest of the request's acr_values, the requested scopes' minimum
# acr and the client's own min_acr (issue 10 item 1); unknown values ignored.

MFA_CLIENT = replace(CLIENT, min_acr=ACR_ESIA_MFA)
MFA_AUTH = AuthContext(ACR_ESIA_MFA, ("pwd", "sms", "mfa"), int(NOW) - 60)


@pytest.mark.parametrize(
    ("client", "acr_values", "scopes", "expected"),
    [
        (CLIENT, (), (), None),
        (CLIENT, (), ("openid", "profile"), ACR_ESIA),  # the catalogue's default minimum
        (MFA_CLIENT, (), (), ACR_ESIA_MFA),
        (MFA_CLIENT, (), ("openid", "profile"), ACR_ESIA_MFA),
        (replace(CLIENT, min_acr=ACR_ESIA), (), ("openid",), ACR_ESIA),
        # The strongest of request, scopes and client wins.
        (MFA_CLIENT, (ACR_ESIA,), ("openid",), ACR_ESIA_MFA),
        (replace(CLIENT, min_acr=ACR_ESIA), (ACR_ESIA_MFA,), ("openid",), ACR_ESIA_MFA),
        (replace(CLIENT, min_acr=ACR_ESIA), (), ("openid", "payments"), ACR_ESIA_MFA),
        # Unknown values are ignored, the client's as the request's.
        (replace(CLIENT, min_acr="urn:unknown"), (), (), None),
        (MFA_CLIENT, ("urn:unknown",), ("openid",), ACR_ESIA_MFA),
        # No client (an account journey): only the request and the scopes count.
        (None, (ACR_ESIA_MFA,), (), ACR_ESIA_MFA),
        (None, (), (), None),
    ],
)
def test_required_acr_takes_the_strongest(
    client: Client | None,
    acr_values: tuple[str, ...],
    scopes: tuple[str, ...],
    expected: str | None,
) -> None:
    assert required_acr(ctx(client=client, acr_values=acr_values, scopes=scopes)) == expected


def test_client_minimum_asks_for_a_factor_on_a_plain_request() -> None:
    decision = ENGINE.evaluate(ctx(client=MFA_CLIENT))
    assert (decision.action, decision.reason) == (Action.REQUIRE_FACTOR, "acr_not_met")
    assert decision.details == {
        "acr": ACR_ESIA_MFA,
        "current": ACR_ESIA,
        "client_min_acr": ACR_ESIA_MFA,
    }
    assert ENGINE.evaluate(ctx(client=MFA_CLIENT, auth=MFA_AUTH)).allowed
    assert ENGINE.evaluate(ctx()).allowed  # a client without a minimum: no factor


def test_explain_shows_the_client_minimum() -> None:
    document = load_text(default_text(), DEFAULT_VERSION, DEFAULT_SCOPES)
    explanation = explain(ctx(client=MFA_CLIENT), document)
    assert explanation.decision.reason == "acr_not_met"
    data = explanation.to_dict()
    assert data["required_acr"] == ACR_ESIA_MFA
    assert data["client_min_acr"] == ACR_ESIA_MFA
    step = next(s for s in data["steps"] if s["step"] == "acr_not_met")
    assert step["details"]["client_min_acr"] == ACR_ESIA_MFA
    text = "\n".join(explanation.lines())
    assert f"client minimum acr: {ACR_ESIA_MFA}" in text
    plain = explain(ctx(), document).to_dict()
    assert plain["client_min_acr"] is None
    assert plain["required_acr"] == ACR_ESIA  # the catalogue's default minimum
