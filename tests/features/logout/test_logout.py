"""RP-initiated logout: SECURITY.md T62–T64, T68 (confirmation form)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.helpers.journey import hidden_fields
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient
from tests.helpers.oauth import query_of
from tests.helpers.oauth import unverified_claims

BYE = "https://school.example/bye"


@pytest.fixture
def rp(kit: OAuthKit) -> RegisteredClient:
    return kit.register("rp", post_logout_redirect_uris=(BYE,))


@pytest.fixture
def tokens(kit: OAuthKit, rp: RegisteredClient) -> dict[str, Any]:
    return kit.login_tokens(rp)


def logout(kit: OAuthKit, method: str = "GET", **params: str) -> Any:
    if method == "GET":
        return kit.client.get("/logout?" + urlencode(params))
    return kit.client.post("/logout", data=params, headers={"Sec-Fetch-Site": "cross-site"})


def signed_in(kit: OAuthKit, rc: RegisteredClient) -> bool:
    response = kit.journey.follow(kit.get_authorize(rc, prompt="none", state="probe"))
    return "code" in query_of(response.headers["Location"])


def assert_confirmation(response: Any) -> dict[str, str]:
    assert response.status_code == 200
    assert "Location" not in response.headers
    fields = hidden_fields(response.get_data(as_text=True))
    assert "csrf_token" in fields
    assert "logout" in fields
    return fields


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_logout_with_a_valid_hint_redirects_with_state(
    kit: OAuthKit, rp: RegisteredClient, tokens: dict[str, Any], method: str
) -> None:
    assert signed_in(kit, rp)
    response = logout(
        kit,
        method,
        id_token_hint=tokens["id_token"],
        post_logout_redirect_uri=BYE,
        state="bye-state",
        client_id="rp",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == BYE + "?state=bye-state"
    assert "vhod=;" in response.headers.get("Set-Cookie", "")
    assert not signed_in(kit, rp)


def test_logout_without_state_or_redirect(
    kit: OAuthKit, rp: RegisteredClient, tokens: dict[str, Any]
) -> None:
    redirected = logout(kit, id_token_hint=tokens["id_token"], post_logout_redirect_uri=BYE)
    assert redirected.headers["Location"] == BYE
    tokens2 = kit.login_tokens(rp)
    page = logout(kit, id_token_hint=tokens2["id_token"])
    assert page.status_code == 200
    assert "Location" not in page.headers
    assert not signed_in(kit, rp)


def test_expired_hint_of_the_current_session_is_accepted(
    kit: OAuthKit, rp: RegisteredClient, tokens: dict[str, Any], services: Any
) -> None:
    services.clock.advance(services.config.oauth.id_token_ttl_seconds + 60)
    response = logout(kit, id_token_hint=tokens["id_token"], post_logout_redirect_uri=BYE)
    assert response.status_code == 303


def _foreign_hint(tokens: dict[str, Any]) -> str:
    claims = unverified_claims(tokens["id_token"])
    key = RSAKey.generate_key(2048)
    return jwt.encode({"alg": "RS256", "kid": "foreign"}, claims, key, algorithms=["RS256"])


def _none_hint(tokens: dict[str, Any]) -> str:
    header, payload, _ = tokens["id_token"].split(".")
    del header
    return "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + payload + "."


@pytest.mark.parametrize(
    "case",
    [
        "unregistered_redirect",
        "redirect_with_query",
        "redirect_without_hint",
        "foreign_key",
        "alg_none",
        "client_mismatch",
        "no_params",
        "only_state",
    ],
)
def test_doubtful_requests_ask_first_and_never_redirect(
    kit: OAuthKit, rp: RegisteredClient, tokens: dict[str, Any], case: str
) -> None:
    hint = tokens["id_token"]
    params = {
        "unregistered_redirect": {
            "id_token_hint": hint,
            "post_logout_redirect_uri": "https://evil.example/",
        },
        "redirect_with_query": {
            "id_token_hint": hint,
            "post_logout_redirect_uri": BYE + "?foo=bar",
        },
        "redirect_without_hint": {"post_logout_redirect_uri": BYE, "client_id": "rp"},
        "foreign_key": {"id_token_hint": _foreign_hint(tokens), "post_logout_redirect_uri": BYE},
        "alg_none": {"id_token_hint": _none_hint(tokens), "post_logout_redirect_uri": BYE},
        "client_mismatch": {
            "id_token_hint": hint,
            "client_id": "school",
            "post_logout_redirect_uri": BYE,
        },
        "no_params": {},
        "only_state": {"state": "s"},
    }[case]
    response = logout(kit, **params)
    fields = assert_confirmation(response)
    assert signed_in(kit, rp), "nothing is logged out before confirmation"
    confirmed = kit.client.post("/logout/confirm", data=fields)
    assert confirmed.status_code == 200
    assert "Location" not in confirmed.headers
    assert not signed_in(kit, rp)


def test_confirmation_needs_the_csrf_token(
    kit: OAuthKit, rp: RegisteredClient, tokens: dict[str, Any]
) -> None:
    fields = assert_confirmation(logout(kit))
    forged = kit.client.post("/logout/confirm", data={"logout": fields["logout"]})
    assert forged.status_code == 403
    cross_site = kit.client.post(
        "/logout/confirm", data=fields, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross_site.status_code == 403
    assert signed_in(kit, rp)


def test_confirmation_reference_is_single_use(
    kit: OAuthKit, rp: RegisteredClient, tokens: dict[str, Any]
) -> None:
    fields = assert_confirmation(logout(kit))
    assert kit.client.post("/logout/confirm", data=fields).status_code == 200
    again = kit.client.post("/logout/confirm", data=fields)
    assert again.status_code == 400


def test_hint_of_another_session_asks_first(
    kit: OAuthKit, rp: RegisteredClient, tokens: dict[str, Any]
) -> None:
    kit.client.delete_cookie("vhod", domain="localhost")
    fresh = kit.login_tokens(rp)
    assert (
        unverified_claims(fresh["id_token"])["sid"] != unverified_claims(tokens["id_token"])["sid"]
    )
    response = logout(kit, id_token_hint=tokens["id_token"], post_logout_redirect_uri=BYE)
    fields = assert_confirmation(response)
    confirmed = kit.client.post("/logout/confirm", data=fields)
    assert confirmed.status_code == 303
    assert confirmed.headers["Location"] == BYE


def test_logout_ends_refresh_tokens_without_offline_access(
    kit: OAuthKit, rp: RegisteredClient, services: Any
) -> None:
    online = kit.login_tokens(rp, scope="openid profile")
    offline = kit.login_tokens(rp, scope="openid offline_access")
    assert (
        unverified_claims(online["id_token"])["sid"]
        == unverified_claims(offline["id_token"])["sid"]
    )
    response = logout(kit, id_token_hint=online["id_token"])
    assert response.status_code == 200
    kit.assert_json_error(kit.refresh(rp, online["refresh_token"]), "invalid_grant")
    assert kit.introspect(rp, online["access_token"]).get_json() == {"active": False}
    assert kit.refresh(rp, offline["refresh_token"]).status_code == 200
    assert kit.introspect(rp, offline["access_token"]).get_json()["active"] is True
