"""Pushed authorization requests (RFC 9126): SECURITY.md T52–T56."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest

from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient
from tests.helpers.oauth import query_of

PREFIX = "urn:ietf:params:oauth:request_uri:"


def push(kit: OAuthKit, rc: RegisteredClient, **overrides: str | None) -> Any:
    params = kit.authorize_params(rc, **overrides)
    params.pop("client_id")
    return kit.client.post("/par", data=params, headers=rc.auth())


def front(kit: OAuthKit, client_id: str, request_uri: str, **extra: str) -> Any:
    query = {"client_id": client_id, "request_uri": request_uri, **extra}
    return kit.client.get("/authorize?" + urlencode(query))


def login_through(kit: OAuthKit, start: Any) -> Any:
    response = kit.journey.login_via_fake("parent", response=start)
    if response.status_code == 200 and response.request.path.endswith("/consent"):
        response = kit.journey.give_consent(response)
    return response


def test_par_happy_path(kit: OAuthKit, school: RegisteredClient, services: Any) -> None:
    response = push(kit, school, state="par-state")
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["request_uri"].startswith(PREFIX)
    assert len(body["request_uri"]) - len(PREFIX) >= 43
    assert body["expires_in"] == services.config.oauth.par_ttl_seconds
    verifier = kit.verifier
    start = front(kit, "school", body["request_uri"])
    assert urlsplit(start.headers["Location"]).path.startswith("/login/")
    done = login_through(kit, start)
    query = query_of(done.headers["Location"])
    assert query["state"] == ["par-state"]
    token = kit.client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": school.redirect_uri,
            "code_verifier": verifier,
        },
        headers=school.auth(),
    )
    assert token.status_code == 200


def test_front_channel_parameters_besides_request_uri_are_ignored(
    kit: OAuthKit, school: RegisteredClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []

    def fake_start(req: Any) -> Any:
        from flask import Response

        seen.append(req)
        return Response("journey")

    monkeypatch.setattr("gateway.http.oauth.start_journey", fake_start)
    uri = push(kit, school, scope="openid").get_json()["request_uri"]
    front(kit, "school", uri, scope="openid profile email", state="other")
    (req,) = seen
    assert req.scopes == ("openid",)
    assert req.state != "other"


def test_par_requires_client_authentication(kit: OAuthKit, school: RegisteredClient) -> None:
    params = kit.authorize_params(school)
    kit.assert_json_error(kit.client.post("/par", data=params), "invalid_client", 401)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"request_uri": PREFIX + "x" * 43}, "invalid_request"),
        ({"redirect_uri": "https://evil.example/cb"}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"scope": "openid bogus"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_pushed_requests_are_validated(
    kit: OAuthKit, school: RegisteredClient, overrides: dict[str, str | None], error: str
) -> None:
    kit.assert_json_error(push(kit, school, **overrides), error)


def test_par_method_size_and_duplicates(kit: OAuthKit, school: RegisteredClient) -> None:
    assert kit.client.get("/par").status_code == 405
    big = kit.client.post("/par", data={"x": "y" * (1024 * 1024)}, headers=school.auth())
    assert big.status_code == 413
    body = urlencode([*kit.authorize_params(school).items(), ("scope", "openid")])
    dup = kit.client.post(
        "/par",
        data=body,
        headers={**school.auth(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    kit.assert_json_error(dup, "invalid_request")


def test_request_uri_is_bound_to_its_client(
    kit: OAuthKit, school: RegisteredClient, other: RegisteredClient
) -> None:
    uri = push(kit, school).get_json()["request_uri"]
    kit.assert_error_page(front(kit, "other", uri))


def test_request_uri_expires(kit: OAuthKit, school: RegisteredClient, services: Any) -> None:
    uri = push(kit, school).get_json()["request_uri"]
    services.clock.advance(services.config.oauth.par_ttl_seconds + 1)
    kit.assert_error_page(front(kit, "school", uri))


def test_unknown_request_uri(kit: OAuthKit, school: RegisteredClient) -> None:
    kit.assert_error_page(front(kit, "school", PREFIX + "x" * 43))


def test_reload_before_completion_is_allowed_reuse_after_is_not(
    kit: OAuthKit, school: RegisteredClient
) -> None:
    uri = push(kit, school).get_json()["request_uri"]
    first = front(kit, "school", uri)
    again = front(kit, "school", uri)
    assert urlsplit(first.headers["Location"]).path.startswith("/login/")
    assert urlsplit(again.headers["Location"]).path.startswith("/login/")
    done = login_through(kit, again)
    assert "code" in query_of(done.headers["Location"])
    kit.assert_error_page(front(kit, "school", uri))


def test_clients_that_require_par_cannot_use_the_front_channel(kit: OAuthKit) -> None:
    rc = kit.register("paronly", require_par=True)
    response = kit.get_authorize(rc, state="s")
    kit.assert_error_redirect(response, rc.redirect_uri, "invalid_request", "s")
    uri = push(kit, rc).get_json()["request_uri"]
    assert urlsplit(front(kit, "paronly", uri).headers["Location"]).path.startswith("/login/")
