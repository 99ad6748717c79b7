"""Fixtures for the factor pages on ``/account/factors`` and the push device endpoints:
a signed-in browser (:class:`AccountFactors`), a push :class:`Device` speaking to the app
through the Flask test client, and the dev outbox."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest

from gateway.http.session_cookie import SESSION_COOKIE
from providers.factors.device import Device
from providers.factors.device import DeviceRequestFailed
from providers.factors.senders.outbox import DevOutbox
from providers.factors.senders.outbox import OutboxMessage
from tests.helpers.journey import JourneyActions
from tests.helpers.journey import hidden_fields

FACTORS = "/account/factors"
_SECRET = re.compile(r'<code class="secret">([A-Z2-7 ]+)</code>')
_TOKEN = re.compile(r'<code class="secret">([^<]+)</code>')
_NUMBER = re.compile(r'class="number"[^>]*><strong>(\d+)</strong>')
_CODES = re.compile(r"<li><code>([0-9a-z]{4}-[0-9a-z]{4})</code></li>")
_KINDS = re.compile(r'name="kind" value="([a-z]+)"')


class ClientTransport:
    """A :class:`~providers.factors.device.DeviceTransport` over a Flask test client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(path, json=body)
        if response.status_code >= 400:
            raise DeviceRequestFailed(response.status_code, response.get_data(as_text=True))
        answer = response.get_json()
        assert isinstance(answer, dict)
        return answer


class AccountFactors:
    """A browser on vhod's account pages: signs in, reads and submits the factor forms."""

    def __init__(self, actions: JourneyActions, services: Any) -> None:
        self.actions = actions
        self.client = actions.client
        self.services = services

    # ------------------------------------------------------------------ signing in

    def sign_in(self, persona: str = "parent") -> Any:
        start = self.client.get(FACTORS)
        assert start.status_code == 302, start.status_code
        page = self.actions.login_via_fake(persona, response=start)
        assert page.request.path == FACTORS, page.request.path
        return page

    def subject_id(self) -> str:
        cookie = self.client.get_cookie(SESSION_COOKIE)
        assert cookie is not None
        session = self.services.sso_sessions.current(cookie.value)
        assert session is not None
        return str(session.subject_id)

    # ------------------------------------------------------------------ forms

    def post(self, path: str, **data: str) -> Any:
        """Submit a form of the factor list page (its CSRF token) to ``path``."""
        token = hidden_fields(self.client.get(FACTORS).get_data(as_text=True))["csrf_token"]
        return self.client.post(FACTORS + path, data={"csrf_token": token, **data})

    def begin_totp(self) -> tuple[str, str, Any]:
        """``(secret, credential_id, page)`` of a new TOTP enrolment page."""
        page = self.post("/totp")
        assert page.status_code == 200, page.status_code
        text = page.get_data(as_text=True)
        found = _SECRET.search(text)
        assert found is not None
        return found.group(1).replace(" ", ""), hidden_fields(text)["credential_id"], page

    def totp_code(self, secret: str) -> str:
        return pyotp.TOTP(secret).at(self.services.clock.now())

    def confirm_totp(self, credential_id: str, code: str) -> Any:
        return self.post("/totp/confirm", credential_id=credential_id, code=code)

    def enrol_totp(self) -> str:
        secret, credential_id, _ = self.begin_totp()
        done = self.confirm_totp(credential_id, self.totp_code(secret))
        assert done.status_code == 303, done.status_code
        return secret

    def push_token(self) -> str:
        page = self.post("/push")
        assert page.status_code == 200, page.status_code
        found = _TOKEN.search(page.get_data(as_text=True))
        assert found is not None
        return found.group(1)

    def recovery_codes(self) -> list[str]:
        page = self.post("/recovery")
        assert page.status_code == 200, page.status_code
        assert page.headers["Cache-Control"] == "no-store"
        return _CODES.findall(page.get_data(as_text=True))

    def step_up_with_totp(self, response: Any, secret: str) -> Any:
        """Pass the factor page the change sent us to, with the TOTP app (a later step,
        so the enrolment's code is not replayed)."""
        page = self.actions.follow(response)
        assert page.request.path.endswith("/factor"), page.request.path
        self.services.clock.advance(30)
        sent = self.actions.pick_factor(page, "totp")
        return self.actions.follow(self.actions.answer_factor(sent, self.totp_code(secret)))

    # ------------------------------------------------------------------ reading

    def enrolled_kinds(self) -> list[str]:
        return [f.kind.value for f in self.services.factors.enrolled(self.subject_id())]

    def audit(self, event: str) -> list[dict[str, Any]]:
        with self.services.uow() as uow:
            return [dict(e.fields) for e in uow.audit.iter_all() if e.event == event]

    def outbox(self, kind: str = "email") -> list[OutboxMessage]:
        return DevOutbox(self.services.ephemeral, self.services.clock).messages(kind)


def factor_kinds(page: Any) -> list[str]:
    """The factor buttons of a login's factor page, in order."""
    return _KINDS.findall(page.get_data(as_text=True))


def shown_number(page: Any) -> int:
    found = _NUMBER.search(page.get_data(as_text=True))
    assert found is not None, "no number on the page"
    return int(found.group(1))


@pytest.fixture
def factors(actions: JourneyActions, services: Any) -> AccountFactors:
    return AccountFactors(actions, services)


@pytest.fixture
def device(app: Any, services: Any) -> Device:
    """A push device talking to the app through its own test client (no browser cookies),
    on the services' clock."""
    return Device(ClientTransport(app.test_client()), clock=services.clock.now)
