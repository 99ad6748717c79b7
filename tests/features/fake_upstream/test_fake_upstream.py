"""The fake upstream: persona page, cancel, single-use codes, refused in production."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

import pytest

from gateway.app import create_app
from gateway.config.schema import GatewayConfig
from gateway.core.errors import ConfigError
from gateway.core.errors import UpstreamProtocolError
from providers.registry import UpstreamDeps
from providers.registry import build_upstreams
from providers.upstream.fake import PERSONAS
from providers.upstream.fake import FakeUpstream
from tests.helpers.journey import JourneyActions
from tests.helpers.journey import hidden_fields


def test_persona_page_lists_every_persona(actions: JourneyActions) -> None:
    page = actions.follow(actions.authorize())
    text = page.get_data(as_text=True)
    for persona in PERSONAS.values():
        assert persona.label_ru in text
    assert 'name="csrf_token"' in text


def test_persona_post_needs_csrf(actions: JourneyActions) -> None:
    page = actions.follow(actions.authorize())
    state = hidden_fields(page.get_data(as_text=True))["state"]
    answer = actions.client.post("/login/fake", data={"state": state, "persona": "parent"})
    assert answer.status_code == 403


def test_cancel_is_access_denied_for_the_client(actions: JourneyActions) -> None:
    response = actions.cancel_at_fake()
    params = actions.redirect_params(response)
    assert params["error"] == "access_denied"
    assert params["state"] == actions.last_request["state"]
    assert "code" not in params


def test_code_is_single_use(services: Any) -> None:
    fake: FakeUpstream = services.upstreams["fake"]
    code = fake.issue_code("teen", "s1")
    identity = fake.complete({"code": code, "state": "s1"}, "s1", "cb")
    assert identity.account_level == "confirmed"
    assert identity.attributes["given_name"] == "Вера"
    with pytest.raises(UpstreamProtocolError) as info:
        fake.complete({"code": code, "state": "s1"}, "s1", "cb")
    assert info.value.reason == "code_replayed"


def test_personas_ages(services: Any) -> None:
    from gateway.core.profiles import age_on
    from gateway.core.profiles import today

    fake: FakeUpstream = services.upstreams["fake"]
    now = today(services.clock.now())
    ages = {p: age_on(fake.identity(p).attributes["birthdate"], now) for p in PERSONAS}
    assert ages["teen"] == 15
    assert ages["child"] == 10
    assert fake.identity("child").account_level == "child"
    assert len(fake.identity("parent").children) == 2


def test_fake_upstream_refused_in_production(services: Any) -> None:
    production = GatewayConfig.model_validate(
        {"mode": "production", "server": {"issuer": "https://vhod.example"}}
    )
    deps = UpstreamDeps(production, services.ephemeral, services.clock, b"p" * 32)
    with pytest.raises(ConfigError):
        build_upstreams(deps)


def test_fake_page_absent_when_fake_not_enabled(services: Any) -> None:
    """The app registers the page only for an enabled fake upstream (``[upstream] provider =
    "esia"`` builds no fake one)."""
    others = {name: u for name, u in services.upstreams.items() if name != "fake"}
    app = create_app(services=dataclasses.replace(services, upstreams=MappingProxyType(others)))
    assert app.test_client().get("/login/fake?state=x").status_code == 404
