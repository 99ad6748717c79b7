"""T69: the login's cookies outside dev (https issuer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.config.schema import GatewayConfig
from tests.conftest import make_config
from tests.helpers.journey import JourneyActions


@pytest.fixture
def config(tmp_path: Path) -> GatewayConfig:
    return make_config(tmp_path, server={"issuer": "https://vhod.example"})


def set_cookie_headers(response: Any) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_session_and_binding_cookies_are_host_prefixed(actions: JourneyActions) -> None:
    start = actions.authorize()
    binding = [h for h in set_cookie_headers(start) if h.startswith("__Host-vhod_j=")]
    assert len(binding) == 1
    page = actions.login_via_fake(response=start)
    answer = actions.give_consent(page)
    assert answer.status_code == 303
    headers = set_cookie_headers(answer)
    session = [h for h in headers if h.startswith("__Host-vhod=")]
    for header in (*binding, *session):
        lowered = header.lower()
        assert "; secure" in lowered
        assert "; httponly" in lowered
        assert "; samesite=lax" in lowered
        assert "; path=/" in lowered
        assert "domain=" not in lowered
        assert len(header) < 4096


def test_session_cookie_attributes(actions: JourneyActions) -> None:
    actions.login_and_consent()
    cookie = actions.client.get_cookie("__Host-vhod")
    assert cookie is not None
    assert cookie.secure
    assert cookie.http_only
    assert cookie.same_site == "Lax"
    assert cookie.path == "/"
    assert cookie.origin_only  # no Domain attribute
    assert len(cookie.value) < 100


def test_no_session_id_in_any_url(actions: JourneyActions) -> None:
    actions.login_and_consent()
    cookie = actions.client.get_cookie("__Host-vhod")
    binding = actions.client.get_cookie("__Host-vhod_j")
    assert cookie is not None
    assert binding is not None
    response = actions.follow(actions.authorize(client_id="meals"))
    assert cookie.value not in response.request.url
    assert binding.value not in response.request.url
