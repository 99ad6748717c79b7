"""A client registered with a minimum acr (issue 10 item 1): every sign-in to it passes a
second factor, whatever the request says; other clients are not affected."""

from __future__ import annotations

from typing import Any

from gateway.core.factors import ACR_ESIA
from gateway.core.factors import ACR_ESIA_MFA
from tests.features.factors.conftest import SCOPES
from tests.helpers.oauth import Authorized
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient
from tests.helpers.oauth import query_of


def _consented(kit: OAuthKit, response: Any) -> Any:
    if response.status_code == 200 and response.request.path.endswith("/consent"):
        return kit.journey.give_consent(response)
    return response


def test_a_client_minimum_sends_a_plain_request_to_the_factor_page(kit: OAuthKit) -> None:
    bank = kit.register("bank", scopes=SCOPES, min_acr=ACR_ESIA_MFA)
    first = kit.get_authorize(bank)  # openid profile, no acr_values
    verifier = kit.verifier
    page = kit.journey.login_via_fake("parent", response=first)
    assert page.status_code == 200, page.status_code
    assert page.request.path.endswith("/factor"), page.request.path
    response = _consented(kit, kit.journey.pass_factor(page, "sms"))
    assert response.status_code == 303, response.status_code
    location = response.headers["Location"]
    query = query_of(location)
    assert "code" in query, location
    exchanged = kit.exchange(bank, Authorized(query["code"][0], verifier, "", "", location))
    assert exchanged.status_code == 200, exchanged.get_data(as_text=True)
    tokens = exchanged.get_json()
    for token in (tokens["id_token"], tokens["access_token"]):
        claims = kit.verify(token)[1]
        assert claims["acr"] == ACR_ESIA_MFA
        assert "sms" in claims["amr"]


def test_a_client_without_a_minimum_gets_no_factor_page(
    kit: OAuthKit, school: RegisteredClient
) -> None:
    kit.register("bank", scopes=SCOPES, min_acr=ACR_ESIA_MFA)
    page = kit.journey.login_via_fake("parent", response=kit.get_authorize(school))
    assert not page.request.path.endswith("/factor")
    response = _consented(kit, page)
    assert "code=" in response.headers["Location"]
    tokens = kit.login_tokens(school)  # the SSO session: no factor asked either
    claims = kit.verify(tokens["id_token"])[1]
    assert claims["acr"] == ACR_ESIA
    assert claims["amr"] == ["pwd"]
