"""Acting for a child in the policy (``policies.delegation``; SECURITY.md T96): the child
choice fires only for ``child`` with links, a person without links is refused with a
page of its own, non-delegable scopes are refused, and a chosen child must stay linked."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gateway.config.schema import ACR_ESIA
from gateway.config.schema import DEFAULT_SCOPES
from gateway.core.types import AuthContext
from gateway.core.types import Client
from gateway.core.types import JourneyKind
from policies.build import build_policy_engine
from policies.checks import Action
from policies.checks import PolicyContext
from policies.documents.source import DEFAULT_VERSION
from policies.documents.source import FixedRuleDocuments
from policies.documents.source import default_text
from policies.documents.source import load_text

NOW = 1_790_000_000.0
CLIENT = Client(
    client_id="c1",
    redirect_uris=("https://c1.example/cb",),
    scopes=("openid", "profile", "diary", "child", "children"),
)


ENGINE = build_policy_engine(
    FixedRuleDocuments(load_text(default_text(), DEFAULT_VERSION, DEFAULT_SCOPES))
)


def ctx(**kw: Any) -> PolicyContext:
    base = PolicyContext(
        kind=JourneyKind.AUTHORIZE,
        client=CLIENT,
        scopes=("openid", "child", "diary"),
        catalogue=DEFAULT_SCOPES,
        account_level="confirmed",
        auth=AuthContext(ACR_ESIA, ("pwd",), int(NOW) - 60),
        now=NOW,
        subject_id="parent",
        age=38,
        consented_scopes=("openid", "child", "diary"),
    )
    return replace(base, **kw)


@pytest.mark.parametrize(
    ("kw", "reason", "action"),
    [
        ({"child_links": 2}, "child_not_chosen", Action.CHOOSE_CHILD),
        ({"child_links": 1}, "child_not_chosen", Action.CHOOSE_CHILD),
        ({"child_links": 0}, "no_children_linked", Action.DENY),
        (
            {"child_links": 2, "acting_for": "kid", "acting_for_linked": True},
            "allowed",
            Action.ALLOW,
        ),
        (
            {"child_links": 1, "acting_for": "kid", "acting_for_linked": False},
            "child_not_linked",
            Action.DENY,
        ),
        ({"scopes": ("openid", "diary")}, "allowed", Action.ALLOW),
    ],
)
def test_child_choice_decisions(kw: dict[str, Any], reason: str, action: Action) -> None:
    decision = ENGINE.evaluate(ctx(**kw))
    assert (decision.reason, decision.action) == (reason, action)


def test_the_choice_waits_for_the_factor_first() -> None:
    # A scope needing esia-mfa: the factor comes before the child choice.
    client = replace(CLIENT, scopes=(*CLIENT.scopes, "payments"))
    decision = ENGINE.evaluate(
        ctx(client=client, scopes=("openid", "child", "payments"), child_links=2)
    )
    assert decision.reason == "acr_not_met"


@pytest.mark.parametrize("scope", ["profile", "children"])
def test_T96_non_delegable_scopes_are_refused_when_acting(scope: str) -> None:
    for extra in ({}, {"acting_for": "kid", "acting_for_linked": True, "child_links": 1}):
        decision = ENGINE.evaluate(ctx(scopes=("openid", "child", scope), **extra))
        assert decision.reason == "scope_not_delegable"
        assert decision.action is Action.DENY
        assert decision.error == "access_denied"
        assert decision.details == {"scopes": [scope]}


def test_acting_consent_is_the_childs_own_record() -> None:
    decision = ENGINE.evaluate(
        ctx(acting_for="kid", acting_for_linked=True, child_links=1, consented_scopes=None)
    )
    assert decision.action is Action.REQUIRE_CONSENT
