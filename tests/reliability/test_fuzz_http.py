"""Fuzzing over HTTP with schemathesis (issue 14 item 2): the admin API against its own
OpenAPI document (``/admin/openapi.json``, with an admin session and its CSRF token), and
the OAuth / OpenID endpoints against ``gateway/oauth/openapi.json``, the description kept
next to the code.

Every answer: no 5xx, no unhandled exception (the app runs with ``testing``, so one would
propagate into the test), and every refusal in its protocol's format — OAuth JSON with
``error`` (and ``Cache-Control: no-store``) at the token-side endpoints, a ``Bearer``
challenge at userinfo, vhod's HTML page or a redirect at the browser endpoints, the admin
API's JSON error. Budget: ``tests/reliability/fuzzing.py``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import given

from gateway.app import build_services
from gateway.app import create_app
from gateway.config.loader import data_dir
from gateway.core.clock import FixedClock
from tests.conftest import make_config
from tests.features.admin.helpers import AdminActions
from tests.helpers.oauth import OAuthKit
from tests.reliability.fuzzing import CASES
from tests.reliability.fuzzing import FUZZ

BASE = "http://127.0.0.1:8080"
SECRET = "fuzz-secret-0123456789-abcdefghijkl"
TOKEN_SIDE = ("/token", "/par", "/introspect", "/revoke")
BROWSER_SIDE = ("/authorize", "/logout")


class World:
    """One gateway for the whole module: a client ``school`` (secret :data:`SECRET`), a
    person signed in (an SSO session in :attr:`browser`), an admin session."""

    def __init__(self, tmp: Path, template: Path) -> None:
        import shutil

        config = make_config(tmp)
        shutil.copytree(template, data_dir(config), dirs_exist_ok=True)
        self.services = build_services(config, FixedClock(), prepare_stores=True)
        self.app = create_app(services=self.services)
        self.app.testing = True
        kit = OAuthKit(self.app.test_client(), self.services)
        self.school = kit.register("school", secret=SECRET)
        self.tokens = kit.login_tokens(self.school, scope="openid profile offline_access")
        self.browser = kit.client
        self.admin = AdminActions(self.app, self.services).become_admin()
        self.calls = 0

    def close(self) -> None:
        self.services.engine.dispose()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, oauth_template: Path) -> Iterator[World]:
    made = World(tmp_path_factory.mktemp("fuzz"), oauth_template)
    yield made
    made.close()


def _operations(document: dict[str, Any]) -> Iterator[Any]:
    schema = schemathesis.openapi.from_dict(document)
    for path, methods in document["paths"].items():
        for method in methods:
            yield schema[path][method.upper()]


def _fuzz(document: dict[str, Any], check: Any) -> None:
    """Run ``check(case)`` on generated cases of every operation of ``document``
    (schemathesis strategies under hypothesis; schemathesis's pytest plugin does not load
    with this pytest)."""
    for operation in _operations(document):

        @given(operation.as_strategy())
        @FUZZ
        def run(case: Any) -> None:
            check(case)

        run()


def _oauth_document() -> dict[str, Any]:
    text = resources.files("gateway.oauth").joinpath("openapi.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def _send(client: Any, case: Any, headers: dict[str, str]) -> Any:
    """The case through the Flask test client (its cookie jar: the session it holds)."""
    kw = case.as_transport_kwargs(base_url=BASE)
    sent = {k: v for k, v in kw["headers"].items() if k != "Connection"}
    sent.update(headers)
    body: dict[str, Any] = {}
    if "json" in kw:
        body["json"] = kw["json"]
    elif kw.get("data") is not None:
        body["data"] = kw["data"]
    return client.open(
        kw["url"].removeprefix(BASE),
        method=kw["method"],
        query_string=kw.get("params") or None,
        headers=sent,
        **body,
    )


def test_fuzz_admin_api(world: World) -> None:
    _fuzz(world.admin.get("/admin/openapi.json").get_json(), lambda c: _admin_case(c, world))


def test_fuzz_oauth_endpoints(world: World) -> None:
    _fuzz(_oauth_document(), lambda c: _oauth_case(c, world))


def _admin_case(case: Any, world: World) -> None:
    world.calls += 1
    headers = {"X-CSRF-Token": world.admin.csrf} if world.calls % 4 else {}
    response = _send(world.admin.client, case, headers)
    CASES["admin-api"] += 1
    assert response.status_code < 500, (case.method, case.path, response.get_data()[:500])
    if response.status_code >= 400:
        assert response.mimetype == "application/json", (case.path, response.mimetype)
        body = response.get_json()
        assert isinstance(body.get("error"), str), body


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _oauth_case(case: Any, world: World) -> None:
    world.calls += 1
    headers: dict[str, str] = {}
    if case.path in TOKEN_SIDE and world.calls % 3:
        secret = SECRET if world.calls % 3 == 1 else "wrong"
        headers["Authorization"] = _basic("school", secret)
    if case.path == "/userinfo" and world.calls % 2:
        headers["Authorization"] = f"Bearer {world.tokens['access_token']}"
    client = world.browser if world.calls % 2 else world.app.test_client()
    response = _send(client, case, headers)
    CASES["oauth"] += 1
    status = response.status_code
    assert status < 500, (case.method, case.path, response.get_data()[:500])
    if case.path in TOKEN_SIDE and status >= 400:
        assert response.mimetype == "application/json", (case.path, status, response.mimetype)
        assert isinstance(response.get_json().get("error"), str)
        assert response.headers["Cache-Control"] == "no-store"
        if status == 401:
            assert 'error="invalid_client"' in response.headers["WWW-Authenticate"]
        if status == 429:
            assert int(response.headers["Retry-After"]) > 0
    if case.path == "/userinfo" and status in (400, 401, 403):
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), response.headers
    if case.path in BROWSER_SIDE:
        if status in (301, 302, 303, 307):
            _check_redirect(response.headers["Location"], world)
        elif status >= 400:
            assert response.mimetype == "text/html", (case.path, status, response.mimetype)


def _check_redirect(location: str, world: World) -> None:
    """A redirect goes to vhod itself, or to the client's registered URI with ``error``
    or ``code`` (the signed-in browser), and ``iss``."""
    parts = urlsplit(location)
    if not parts.netloc or parts.netloc.startswith("127.0.0.1"):
        return
    assert location.startswith(world.school.redirect_uri), location
    query = parse_qs(parts.query)
    assert "error" in query or "code" in query, location
    assert "iss" in query, location
