"""Fixtures for the journey unit tests: the real services (SQL store, sealer, fixed
clock) without the Flask app, a registered client, two browsers, a driver for the fake
upstream, and the walks through the journey's steps that the step tests share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from gateway.core.types import AuthorizationRequest
from gateway.core.types import Client
from gateway.journey.service import Completion
from gateway.journey.service import JourneyService
from gateway.journey.service import Step
from gateway.journey.service import StepKind
from gateway.journey.steps import build_journey_steps
from policies.build import build_policy_engine
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


@pytest.fixture
def browser() -> Browser:
    return Browser(binding="B" * 43)


@pytest.fixture
def other_browser() -> Browser:
    return Browser(binding="O" * 43)


def audit_events(services: Any) -> list[Any]:
    with services.uow() as uow:
        return list(uow.audit.iter_all())


def consent_and_finish(journeys: JourneyService, browser: Browser, step: Step) -> Completion:
    assert step.kind is StepKind.CONSENT, step
    prompt = journeys.consent_prompt(step.jid, browser.binding)
    step = journeys.record_consent(step.jid, browser.binding, prompt.step_token, approved=True)
    return finish(journeys, browser, step)


def finish(journeys: JourneyService, browser: Browser, step: Step) -> Completion:
    assert step.kind is StepKind.FINISH, step
    done = journeys.finish(step, browser.binding, browser.session_cookie)
    if done.session_cookie is not None:
        browser.session_cookie = done.session_cookie
    return done


def full_login(
    journeys: JourneyService,
    fake: FakeUpstream,
    browser: Browser,
    persona: str = "parent",
    **kw: Any,
) -> Completion:
    step = journeys.begin(request_for(**kw), session_of(journeys, browser), browser.binding)
    assert step.kind is StepKind.UPSTREAM
    step = login(journeys, fake, browser, step, persona)
    if step.kind is StepKind.CONSENT:
        return consent_and_finish(journeys, browser, step)
    return finish(journeys, browser, step)


def location(step: Step) -> str:
    assert step.kind is StepKind.UPSTREAM, step
    assert step.location is not None
    return step.location


def session_of(journeys: JourneyService, browser: Browser) -> Any:
    return journeys.steps.sso.sessions.current(browser.session_cookie)


JOURNEY_NAMESPACES = frozenset({"journey", "upstream_state", "journey_step"})


class CountingStore:
    """The ephemeral store, noting every operation on the journey's own namespaces (the
    login path's store work is kept minimal; these tests pin it)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.ops: list[tuple[str, str]] = []

    def _note(self, op: str, namespace: str) -> None:
        if namespace in JOURNEY_NAMESPACES:
            self.ops.append((op, namespace))

    def put(self, namespace: str, key: str, value: bytes, ttl_seconds: int) -> None:
        self._note("put", namespace)
        self.inner.put(namespace, key, value, ttl_seconds)

    def put_many(self, items: list[tuple[str, str, bytes, int]]) -> None:
        for namespace, *_ in items:
            self._note("put_many", namespace)
        self.inner.put_many(items)

    def get(self, namespace: str, key: str) -> bytes | None:
        self._note("get", namespace)
        value: bytes | None = self.inner.get(namespace, key)
        return value

    def get_many(self, keys: Any) -> list[bytes | None]:
        for namespace, _ in keys:
            self._note("get", namespace)
        values: list[bytes | None] = self.inner.get_many(keys)
        return values

    def put_and_get_many(self, item: Any, keys: Any) -> list[bytes | None]:
        self._note("put", item[0])
        for namespace, _ in keys:
            self._note("get", namespace)
        values: list[bytes | None] = self.inner.put_and_get_many(item, keys)
        return values

    def delete(self, namespace: str, key: str) -> bool:
        self._note("delete", namespace)
        return bool(self.inner.delete(namespace, key))

    def consume(self, namespace: str, key: str, tombstone_ttl_seconds: int) -> bytes | None:
        self._note("consume", namespace)
        value: bytes | None = self.inner.consume(namespace, key, tombstone_ttl_seconds)
        return value

    def incr(self, namespace: str, key: str, ttl_seconds: int, amount: int = 1) -> int:
        return int(self.inner.incr(namespace, key, ttl_seconds, amount))

    def ping(self) -> None:
        self.inner.ping()


def counted_journeys(services: Any) -> tuple[JourneyService, CountingStore]:
    """A journey service on the same ports as ``services.journeys`` whose journey-store
    work is counted."""
    store = CountingStore(services.ephemeral)
    steps = build_journey_steps(
        store=store,
        uow=services.uow,
        sealer=services.sealer,
        clock=services.clock,
        pepper=services.pepper,
        config=services.config,
        upstreams=services.upstreams,
        policy=build_policy_engine(),
        sessions=services.journeys.steps.sso.sessions,
    )
    return JourneyService(steps), store
