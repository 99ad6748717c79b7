"""The lean lane (``gateway.http.fast_lane``) answers as the Flask views do.

Each request is sent twice: through the app (the lane takes it) and to the Flask app
behind the lane. Status, headers (but the per-request id and, for tokens, the length of a
random token) and body shape must be the same, and the lane must really have answered
(the Flask app behind it is not called).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from werkzeug.test import Client

from gateway.app import create_app
from gateway.core.types import TokenFormat
from gateway.http.fast_lane import FastLane
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient
from tests.helpers.oauth import basic

FORM = "application/x-www-form-urlencoded"
VARIABLE = {"X-Request-Id"}


class Lanes:
    def __init__(self, services: Any) -> None:
        app = create_app(services=services)
        app.testing = True
        lane = app.wsgi_app
        assert isinstance(lane, FastLane)
        self.flask_calls = 0
        behind = lane.flask

        def counted(environ: dict[str, Any], start_response: Any) -> Any:
            self.flask_calls += 1
            return behind(environ, start_response)

        lane.flask = counted
        self.lane = Client(app)
        self.flask = Client(behind)
        self.kit = OAuthKit(app.test_client(), services)

    def both(self, method: str, path: str, **kwargs: Any) -> tuple[Any, Any]:
        calls = self.flask_calls
        through_lane = self.lane.open(path, method=method, **kwargs)
        assert self.flask_calls == calls, "the lane handed the request to Flask"
        through_flask = self.flask.open(path, method=method, **kwargs)
        return through_lane, through_flask


@pytest.fixture
def lanes(services: Any) -> Lanes:
    return Lanes(services)


@pytest.fixture
def school(lanes: Lanes) -> RegisteredClient:
    return lanes.kit.register("school", introspection_allowed=True)


def same_headers(a: Any, b: Any, *, ignore: frozenset[str] = frozenset()) -> None:
    skip = VARIABLE | ignore
    assert sorted((k, v) for k, v in a.headers if k not in skip) == sorted(
        (k, v) for k, v in b.headers if k not in skip
    )


def same(a: Any, b: Any) -> None:
    assert a.status == b.status
    same_headers(a, b)
    assert a.get_data() == b.get_data()


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks"])
def test_documents(lanes: Lanes, path: str) -> None:
    got, want = lanes.both("GET", path)
    same(got, want)
    assert got.status_code == 200
    assert got.headers["Cache-Control"] == "public, max-age=300"
    same(*lanes.both("HEAD", path))
    etag = got.headers["ETag"]
    for match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        got, want = lanes.both("GET", path, headers={"If-None-Match": match})
        assert got.status_code == 304
        same(got, want)
    same(*lanes.both("GET", path, headers={"If-None-Match": '"other"'}))


def test_request_id_is_echoed_when_plausible(lanes: Lanes) -> None:
    path = "/.well-known/openid-configuration"
    got = lanes.lane.get(path, headers={"X-Request-Id": "abcd-1234-efgh"})
    assert got.headers["X-Request-Id"] == "abcd-1234-efgh"
    made_up = lanes.lane.get(path, headers={"X-Request-Id": "bad id!"}).headers["X-Request-Id"]
    assert len(made_up) == 16
    assert made_up.isalnum()


def post(lanes: Lanes, path: str, data: str, headers: dict[str, str]) -> tuple[Any, Any]:
    return lanes.both("POST", path, data=data, headers={"Content-Type": FORM, **headers})


@pytest.mark.parametrize("token_format", [TokenFormat.JWT, TokenFormat.OPAQUE])
def test_token_issued(lanes: Lanes, token_format: TokenFormat) -> None:
    client = lanes.kit.register("school", token_format=token_format)
    got, want = post(lanes, "/token", "grant_type=client_credentials&scope=diary", client.auth())
    assert got.status_code == want.status_code == 200
    same_headers(got, want, ignore=frozenset({"Content-Length"}))
    body, expected = got.get_json(), want.get_json()
    assert body.keys() == expected.keys()
    assert body["access_token"] != expected["access_token"]
    assert {k: v for k, v in body.items() if k != "access_token"} == {
        k: v for k, v in expected.items() if k != "access_token"
    }


@pytest.mark.parametrize(
    ("data", "auth", "error"),
    [
        ("grant_type=client_credentials", basic("school", "wrong"), "invalid_client"),
        ("grant_type=client_credentials", basic("nobody", "x" * 43), "invalid_client"),
        ("grant_type=client_credentials", {}, "invalid_client"),
        ("grant_type=password&username=a&password=b", None, "unsupported_grant_type"),
        ("scope=diary", None, "invalid_request"),
        ("grant_type=client_credentials&scope=unknown", None, "invalid_scope"),
        ("grant_type=client_credentials&grant_type=client_credentials", None, "invalid_request"),
        ("grant_type=client_credentials&scope=%FF", None, "invalid_scope"),
    ],
)
def test_token_errors(
    lanes: Lanes, school: RegisteredClient, data: str, auth: dict[str, str] | None, error: str
) -> None:
    got, want = post(lanes, "/token", data, school.auth() if auth is None else auth)
    same(got, want)
    assert got.get_json()["error"] == error


def test_introspection_and_revocation(lanes: Lanes, school: RegisteredClient) -> None:
    opaque = lanes.kit.register("reader", token_format=TokenFormat.OPAQUE)
    issued = lanes.lane.post(
        "/token", data={"grant_type": "client_credentials"}, headers=opaque.auth()
    ).get_json()["access_token"]
    got, want = post(lanes, "/introspect", f"token={issued}", school.auth())
    same(got, want)
    assert got.get_json()["active"] is True
    same(*post(lanes, "/introspect", f"token={issued}", basic("school", "wrong")))
    same(*post(lanes, "/revoke", f"token={issued}", opaque.auth()))
    got, want = post(lanes, "/introspect", f"token={issued}", school.auth())
    same(got, want)
    assert got.get_json() == {"active": False}


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/token", {}),
        ("OPTIONS", "/token", {"headers": {"Origin": "https://school.example"}}),
        (
            "POST",
            "/token",
            {
                "data": {"grant_type": "client_credentials"},
                "headers": {"Origin": "https://school.example"},
            },
        ),
        ("POST", "/token", {"data": b"grant_type=\xff", "headers": {"Content-Type": FORM}}),
        ("POST", "/token", {"json": {"grant_type": "client_credentials"}}),
        ("POST", "/token?lang=en", {"data": {"grant_type": "client_credentials"}}),
        ("GET", "/jwks?x=1", {}),
        ("GET", "/jwks", {"headers": {"Origin": "https://school.example"}}),
        ("POST", "/userinfo", {"data": {"access_token": "x"}}),
    ],
)
def test_other_requests_go_to_flask(
    lanes: Lanes, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    calls = lanes.flask_calls
    lanes.lane.open(path, method=method, **kwargs)
    assert lanes.flask_calls == calls + 1


def test_a_body_flask_must_read_is_put_back(lanes: Lanes, school: RegisteredClient) -> None:
    """Not UTF-8: the lane read the body, gave it back, and Flask answered as it would."""
    credentials = base64.b64encode(f"school:{school.secret}".encode()).decode()
    headers = {"Content-Type": FORM, "Authorization": f"Basic {credentials}"}
    got = lanes.lane.post("/token", data=b"grant_type=client_credentials&x=\xff", headers=headers)
    want = lanes.flask.post("/token", data=b"grant_type=client_credentials&x=\xff", headers=headers)
    assert got.status_code == want.status_code
    assert json.loads(got.get_data())["error"] == json.loads(want.get_data())["error"]
