"""``required_acr``: the strongest of the request's ``acr_values``, the requested scopes'
minimum acr and the client's own ``min_acr`` (issue 10 item 1); unknown values ignored.
The engine's ``acr_not_met`` and ``explain`` show the client's minimum."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gateway.config.schema import DEFAULT_SCOPES
from gateway.core.factors import ACR_ESIA
from gateway.core.factors import ACR_ESIA_MFA
from gateway.core.types import AuthContext
from gateway.core.types import Client
from gateway.core.types import JourneyKind
from policies.authn import required_acr
from policies.build import build_policy_engine
from policies.checks import Action
from policies.checks import PolicyContext
from policies.documents.source import DEFAULT_VERSION
from policies.documents.source import default_text
from policies.documents.source import load_text
from policies.explain import explain

NOW = 1_790_000_000.0
CLIENT = Client(
    client_id="c1",
    redirect_uris=("https://c1.example/cb",),
    scopes=("openid", "profile", "diary", "payments"),
)
MFA_CLIENT = replace(CLIENT, min_acr=ACR_ESIA_MFA)
ESIA_AUTH = AuthContext(ACR_ESIA, ("pwd",), int(NOW) - 60)
MFA_AUTH = AuthContext(ACR_ESIA_MFA, ("pwd", "sms", "mfa"), int(NOW) - 60)


def ctx(**kw: Any) -> PolicyContext:
    base = PolicyContext(
        kind=JourneyKind.AUTHORIZE,
        client=CLIENT,
        scopes=("openid", "profile"),
        catalogue=DEFAULT_SCOPES,
        account_level="confirmed",
        auth=ESIA_AUTH,
        now=NOW,
        subject_id="s1",
        age=38,
        consented_scopes=("openid", "profile", "diary", "payments"),
    )
    return replace(base, **kw)


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
    engine = build_policy_engine()
    decision = engine.evaluate(ctx(client=MFA_CLIENT))
    assert (decision.action, decision.reason) == (Action.REQUIRE_FACTOR, "acr_not_met")
    assert decision.details == {
        "acr": ACR_ESIA_MFA,
        "current": ACR_ESIA,
        "client_min_acr": ACR_ESIA_MFA,
    }
    assert engine.evaluate(ctx(client=MFA_CLIENT, auth=MFA_AUTH)).allowed
    assert engine.evaluate(ctx()).allowed  # a client without a minimum: no factor


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
