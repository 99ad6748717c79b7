"""The authorization endpoint: SECURITY.md T5, T6, T8–T10, T19–T23, R1; request objects,
``prompt``/``max_age``/``resource`` parsing, disabled clients."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest

from gateway.core.errors import StoreUnavailable
from tests.helpers.oauth import ISSUER
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient
from tests.helpers.oauth import query_of


def assert_journey_started(response: Any) -> None:
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]
    assert urlsplit(response.headers["Location"]).path.startswith("/login/")


# ---------------------------------------------------------------- T5, T6: no open redirect

REGISTERED = "https://school.example/cb"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REGISTERED + "/",
        "https://SCHOOL.example/cb",
        REGISTERED + "?x=1",
        REGISTERED + "#f",
        "https://school.example:8443/cb",
        REGISTERED + "/../evil",
        "https://school.example/cb%2F..%2Fevil",
        "https://school.example.evil.com/cb",
        "https://school.example/cb.evil.com",
        "https://school.example@evil.com/cb",
        "http://school.example/cb",
        "javascript:alert(1)",
    ],
)
def test_redirect_uri_must_match_exactly(
    kit: OAuthKit, school: RegisteredClient, redirect_uri: str
) -> None:
    response = kit.get_authorize(school, redirect_uri=redirect_uri)
    kit.assert_error_page(response)


def test_registered_redirect_uri_succeeds(kit: OAuthKit, school: RegisteredClient) -> None:
    assert_journey_started(kit.get_authorize(school))


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "unknown"},
        {"client_id": None},
        {"redirect_uri": None},
    ],
)
def test_unknown_client_or_missing_redirect_uri_shows_a_page(
    kit: OAuthKit, school: RegisteredClient, overrides: dict[str, str | None]
) -> None:
    """OIDC Core §3.1.2.1 makes redirect_uri REQUIRED: no default even with one URI."""
    kit.assert_error_page(kit.get_authorize(school, **overrides))


def test_disabled_client_shows_a_page(kit: OAuthKit, school: RegisteredClient) -> None:
    kit.update(school, disabled=True)
    kit.assert_error_page(kit.get_authorize(school))


# ---------------------------------------------------------------- T8: error redirects


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "id_token token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "openid bogus"}, "invalid_scope"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"scope": "openid payments"}, "invalid_scope"),
        ({"scope": None}, "invalid_scope"),
        ({"scope": ""}, "invalid_scope"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"response_mode": "form_post"}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"request_uri": "https://rp.example/request.jwt"}, "request_uri_not_supported"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "bogus"}, "invalid_request"),
        ({"max_age": "abc"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"resource": "https://other.example/"}, "invalid_target"),
        ({"id_token_hint": "not-a-token"}, "invalid_request"),
        ({"id_token_hint": "not-a-token", "prompt": "none"}, "login_required"),
    ],
)
def test_errors_after_redirect_validation_are_redirected(
    kit: OAuthKit, school: RegisteredClient, overrides: dict[str, str | None], error: str
) -> None:
    response = kit.get_authorize(school, state="S-1", **overrides)
    kit.assert_error_redirect(response, school.redirect_uri, error, "S-1")


def test_error_redirect_keeps_the_registered_query(kit: OAuthKit) -> None:
    rc = kit.register("q", redirect_uris=("https://q.example/cb?tenant=7",))
    response = kit.get_authorize(rc, scope="openid bogus", state="s")
    location = response.headers["Location"]
    assert location.startswith("https://q.example/cb?tenant=7&error=invalid_scope")
    assert query_of(location)["tenant"] == ["7"]


# ---------------------------------------------------------------- T9: parameter hygiene


def _raw(kit: OAuthKit, rc: RegisteredClient, extra: list[tuple[str, str]]) -> Any:
    params = list(kit.authorize_params(rc, state="S").items()) + extra
    return kit.client.get("/authorize?" + urlencode(params))


@pytest.mark.parametrize("name", ["client_id", "redirect_uri"])
def test_duplicated_client_id_or_redirect_uri_shows_a_page(
    kit: OAuthKit, school: RegisteredClient, name: str
) -> None:
    value = school.client_id if name == "client_id" else school.redirect_uri
    kit.assert_error_page(_raw(kit, school, [(name, value)]))


def test_duplicated_state_is_refused_without_echoing_it(
    kit: OAuthKit, school: RegisteredClient
) -> None:
    response = _raw(kit, school, [("state", "S2")])
    kit.assert_error_redirect(response, school.redirect_uri, "invalid_request", None)


@pytest.mark.parametrize("name", ["scope", "nonce", "response_type", "code_challenge", "prompt"])
def test_other_duplicated_parameters_are_invalid_request(
    kit: OAuthKit, school: RegisteredClient, name: str
) -> None:
    value = {"scope": "openid", "response_type": "code", "prompt": "login"}.get(name, "x" * 43)
    extra = [(name, value), (name, value)] if name == "prompt" else [(name, value)]
    response = _raw(kit, school, extra)
    kit.assert_error_redirect(response, school.redirect_uri, "invalid_request", "S")


def test_unknown_parameters_are_ignored(kit: OAuthKit, school: RegisteredClient) -> None:
    assert_journey_started(_raw(kit, school, [("extra", "foobar")]))


def test_empty_values_count_as_absent(kit: OAuthKit, school: RegisteredClient) -> None:
    assert_journey_started(kit.get_authorize(school, prompt="", max_age="", acr_values=""))


def test_reversed_order_and_scope_order(kit: OAuthKit, school: RegisteredClient) -> None:
    params = list(kit.authorize_params(school, scope="profile openid").items())
    assert_journey_started(kit.client.get("/authorize?" + urlencode(params[::-1])))


def test_post_behaves_like_get(kit: OAuthKit, school: RegisteredClient) -> None:
    """OIDC Core §3.1.2.1 (T10): POST form-encoded, CSRF-exempt (cross-site by design)."""
    response = kit.client.post(
        "/authorize", data=kit.authorize_params(school), headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert_journey_started(response)
    bad = kit.client.post("/authorize", data=kit.authorize_params(school, scope="openid x"))
    assert query_of(bad.headers["Location"])["error"] == ["invalid_scope"]


def test_post_ignores_query_parameters(kit: OAuthKit, school: RegisteredClient) -> None:
    params = kit.authorize_params(school)
    response = kit.client.post("/authorize?" + urlencode(params), data={})
    kit.assert_error_page(response)


# ---------------------------------------------------------------- T19–T23: state, iss, nonce


@pytest.mark.parametrize(
    "state", ["a", "x" * 512, "a%26b+c/d=e", "состояние ✓", "<script>alert(1)</script>"]
)
def test_state_round_trips_byte_identical_on_errors(
    kit: OAuthKit, school: RegisteredClient, state: str
) -> None:
    response = kit.get_authorize(school, state=state, scope="openid bogus")
    kit.assert_error_redirect(response, school.redirect_uri, "invalid_scope", state)


def test_state_round_trips_on_success(kit: OAuthKit, school: RegisteredClient) -> None:
    state = "a%26b+c/d=e состояние " + "x" * 300
    authorized = kit.login(school, state=state)
    query = query_of(authorized.location)
    assert query["state"] == [state]
    assert query["iss"] == [ISSUER]
    assert set(query) == {"code", "state", "iss"}


def test_absent_state_is_absent_in_the_answer(kit: OAuthKit, school: RegisteredClient) -> None:
    authorized = kit.login(school, state=None)
    assert set(query_of(authorized.location)) == {"code", "iss"}
    error = kit.get_authorize(school, state=None, scope="openid bogus")
    kit.assert_error_redirect(error, school.redirect_uri, "invalid_scope", None)


def test_state_over_the_limit_is_refused_never_truncated(
    kit: OAuthKit, school: RegisteredClient, services: Any
) -> None:
    limit = services.config.oauth.max_state_length
    kit.assert_error_page(kit.get_authorize(school, state="s" * (limit + 1)))
    assert_journey_started(kit.get_authorize(school, state="s" * limit))


def test_code_is_delivered_with_303_and_only_code_state_iss(
    kit: OAuthKit, school: RegisteredClient
) -> None:
    """T12 (no 307/308 after the consent POST), T22 (no tokens in URLs)."""
    params = kit.authorize_params(school)
    first = kit.client.get("/authorize?" + urlencode(params))
    response = kit.journey.login_via_fake("parent", response=first)
    if response.request.path.endswith("/consent"):
        response = kit.journey.give_consent(response)
    assert response.status_code == 303
    query = query_of(response.headers["Location"])
    assert set(query) == {"code", "state", "iss"}
    assert query["iss"] == [ISSUER]


@pytest.mark.parametrize("nonce", ["n" * 64, "n-ü+/=%26" + "x" * 376])
def test_nonce_round_trips_into_the_id_token(
    kit: OAuthKit, school: RegisteredClient, nonce: str
) -> None:
    tokens = kit.login_tokens(school, nonce=nonce)
    _, claims = kit.verify(tokens["id_token"])
    assert claims["nonce"] == nonce


def test_no_nonce_means_no_nonce_claim(kit: OAuthKit, school: RegisteredClient) -> None:
    tokens = kit.login_tokens(school, nonce=None)
    _, claims = kit.verify(tokens["id_token"])
    assert "nonce" not in claims


def test_nonce_over_the_limit_is_invalid_request(
    kit: OAuthKit, school: RegisteredClient, services: Any
) -> None:
    limit = services.config.oauth.max_nonce_length
    response = kit.get_authorize(school, state="s", nonce="n" * (limit + 1))
    kit.assert_error_redirect(response, school.redirect_uri, "invalid_request", "s")


def test_error_pages_do_not_reflect_input(kit: OAuthKit, school: RegisteredClient) -> None:
    response = kit.get_authorize(school, client_id='"><img src=x onerror=alert(1)>')
    kit.assert_error_page(response)
    body = response.get_data(as_text=True)
    assert "<img" not in body
    assert "onerror" not in body
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


# ---------------------------------------------------------------- the request handed over


def test_validated_request_is_handed_to_the_journey(
    kit: OAuthKit, school: RegisteredClient, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []

    def fake_start(req: Any) -> Any:
        from flask import Response

        seen.append(req)
        return Response("journey", status=200)

    monkeypatch.setattr("gateway.http.oauth.start_journey", fake_start)
    params = kit.authorize_params(
        school,
        scope="openid openid profile",
        prompt="login consent",
        max_age="300",
        acr_values="urn:vhod:acr:esia-mfa urn:other",
        ui_locales="ru",
        login_hint="hint",
        resource="school",
    )
    assert kit.client.get("/authorize?" + urlencode(params)).status_code == 200
    (req,) = seen
    assert req.client_id == "school"
    assert req.scopes == ("openid", "profile")
    assert req.prompt == ("login", "consent")
    assert req.max_age == 300
    assert req.acr_values == ("urn:vhod:acr:esia-mfa",)
    assert req.state == params["state"]
    assert req.nonce == params["nonce"]
    assert req.code_challenge == params["code_challenge"]
    assert req.resource == ("school",)
    assert req.id_token_hint_subject is None


def test_valid_id_token_hint_names_the_internal_subject(
    kit: OAuthKit, school: RegisteredClient, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = kit.login_tokens(school)
    _, claims = kit.verify(tokens["id_token"])
    seen: list[Any] = []

    def fake_start(req: Any) -> Any:
        from flask import Response

        seen.append(req)
        return Response("journey", status=200)

    monkeypatch.setattr("gateway.http.oauth.start_journey", fake_start)
    services.clock.advance(services.config.oauth.id_token_ttl_seconds + 60)  # expired is fine
    kit.client.get(
        "/authorize?" + urlencode(kit.authorize_params(school, id_token_hint=tokens["id_token"]))
    )
    (req,) = seen
    with services.uow() as uow:
        grant_subject = uow.grants.find_subject("school", claims["sub"])
    assert req.id_token_hint_subject == grant_subject
    assert req.id_token_hint_subject != claims["sub"]


def test_id_token_hint_of_another_client_is_not_valid(
    kit: OAuthKit, school: RegisteredClient, other: RegisteredClient
) -> None:
    tokens = kit.login_tokens(other)
    response = kit.get_authorize(school, state="s", prompt="none", id_token_hint=tokens["id_token"])
    kit.assert_error_redirect(response, school.redirect_uri, "login_required", "s")


def test_access_token_is_not_an_id_token_hint(kit: OAuthKit, school: RegisteredClient) -> None:
    tokens = kit.login_tokens(school)
    response = kit.get_authorize(
        school, state="s", prompt="none", id_token_hint=tokens["access_token"]
    )
    kit.assert_error_redirect(response, school.redirect_uri, "login_required", "s")


# ---------------------------------------------------------------- R1: outage after validation


def test_store_outage_after_validation_is_temporarily_unavailable(
    kit: OAuthKit, school: RegisteredClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(req: Any) -> Any:
        raise StoreUnavailable("redis", "connection refused")

    monkeypatch.setattr("gateway.http.oauth.start_journey", broken)
    response = kit.get_authorize(school, state="s")
    kit.assert_error_redirect(response, school.redirect_uri, "temporarily_unavailable", "s")


def test_store_outage_before_validation_is_a_503_page(
    kit: OAuthKit, school: RegisteredClient, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise StoreUnavailable("sql", "down")

    monkeypatch.setattr(services.oauth.ctx, "uow", broken)
    response = kit.get_authorize(school)
    assert response.status_code == 503
    assert "Location" not in response.headers
    assert response.headers["Retry-After"]


def test_a_machine_only_scope_is_never_asked_of_a_person(kit: OAuthKit) -> None:
    """``roster`` is for a school system's own (client-credentials) tokens: a sign-in asking
    for it is refused before any page, so no consent page ever shows it."""
    roster_school = kit.register("rosters", scopes=("openid", "profile", "roster"))
    response = kit.get_authorize(roster_school, scope="openid roster", state="s-roster")
    kit.assert_error_redirect(response, roster_school.redirect_uri, "invalid_scope", "s-roster")
    assert kit.get_authorize(roster_school, scope="openid profile").status_code in (302, 303)
