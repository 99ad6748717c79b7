"""Fixtures for the journey unit tests: the real services (SQL store, sealer, fixed
clock) without the Flask app, a registered client, and a driver for the fake upstream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from gateway.core.types import AuthorizationRequest
from gateway.core.types import Client
from gateway.journey.service import JourneyService
from gateway.journey.service import Step
from providers.upstream.fake import FakeUpstream

CLIENT_ID = "school-diary"
OTHER_CLIENT_ID = "school-meals"
SCOPES = ("openid", "profile", "diary", "payments", "email")


def add_client(services: Any, client_id: str = CLIENT_ID, **kw: Any) -> Client:
    client = Client(
        client_id=client_id,
        redirect_uris=(f"https://{client_id}.example/cb",),
        scopes=kw.pop("scopes", SCOPES),
        name=kw.pop("name", f"Школа {client_id}"),
        **kw,
    )
    with services.uow() as uow:
        uow.clients.add(client)
        uow.commit()
    return client


def request_for(client_id: str = CLIENT_ID, **kw: Any) -> AuthorizationRequest:
    return AuthorizationRequest(
        client_id=client_id,
        redirect_uri=f"https://{client_id}.example/cb",
        scopes=kw.pop("scopes", ("openid", "profile")),
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        state=kw.pop("state", "xyz-state-0123456789abcdefghijklmnopqrstuv"),
        nonce=kw.pop("nonce", "n-0S6_WzA2Mj-0123456789abcdefghijklmnopq"),
        **kw,
    )


@dataclass
class Browser:
    """One browser: its journey-binding value and its SSO cookie."""

    binding: str
    session_cookie: str | None = None


@pytest.fixture
def journeys(services: Any) -> JourneyService:
    add_client(services)
    add_client(services, OTHER_CLIENT_ID)
    service: JourneyService = services.journeys
    return service


@pytest.fixture
def fake(services: Any) -> FakeUpstream:
    upstream: FakeUpstream = services.upstreams["fake"]
    return upstream


def upstream_state(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def login(
    journeys: JourneyService,
    fake: FakeUpstream,
    browser: Browser,
    step: Step,
    persona: str = "parent",
) -> Step:
    """From an UPSTREAM step through the fake upstream to the callback's step."""
    assert step.location is not None, step
    url = step.location
    state = upstream_state(url)
    code = fake.issue_code(persona, state)
    return journeys.complete_upstream("fake", {"code": code, "state": state}, browser.binding)
