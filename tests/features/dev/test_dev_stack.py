"""Smoke test of ``vhod dev``: the whole stack in-process on free ports, one person's
day with the demo school (school → gateway → ESIA sandbox → gateway → school), then the
library (SSO), token refresh, logout with back-channel notification, and the outbox."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from click.testing import CliRunner

from gateway.cli import main
from gateway.config.loader import config_from_dict
from gateway.config.schema import GatewayConfig
from gateway.config.schema import Mode
from gateway.core.errors import ConfigError
from gateway.dev.runner import DEMO_CLIENTS
from gateway.dev.runner import DevStack
from gateway.dev.runner import ensure_demo_client
from gateway.dev.runner import run_dev_stack

TIMEOUT = 15
_TXN = re.compile(r'name="txn" value="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')
_ACTION = re.compile(r'<form[^>]* method="post" action="([^"]+)"')


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    data = tmp_path_factory.mktemp("dev-stack") / "var"
    config = config_from_dict({"server": {"data_dir": str(data)}, "logging": {"level": "WARNING"}})
    running = DevStack.start(config, "127.0.0.1", 0, 0, 0)
    yield running
    running.stop()


class Person:
    """A browser that follows every redirect between the three apps."""

    def __init__(self) -> None:
        self.session = requests.Session()

    def go(self, response: requests.Response) -> requests.Response:
        for _ in range(20):
            if response.status_code not in (302, 303):
                return response
            target = urljoin(response.url, response.headers["Location"])
            response = self.session.get(target, allow_redirects=False, timeout=TIMEOUT)
        raise AssertionError("too many redirects")

    def get(self, url: str) -> requests.Response:
        return self.go(self.session.get(url, allow_redirects=False, timeout=TIMEOUT))

    def submit(self, page: requests.Response, **fields: str) -> requests.Response:
        match = _ACTION.search(page.text)
        assert match is not None, page.url
        data = dict(_HIDDEN.findall(page.text)) | fields
        url = urljoin(page.url, match.group(1))
        return self.go(self.session.post(url, data=data, allow_redirects=False, timeout=TIMEOUT))

    def esia(self, page: requests.Response, stack: DevStack, persona: str) -> requests.Response:
        assert page.url.startswith(stack.sandbox.url), page.url
        match = _TXN.search(page.text)
        assert match is not None
        response = self.session.post(
            f"{stack.sandbox.url}/sandbox/login",
            data={"txn": match.group(1), "persona": persona, "action": "login"},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        return self.go(response)


def _school_sessions(stack: DevStack, prefix: str) -> int:
    app = stack.school.app  # the dispatcher: root school + mounts
    school = app.mounts[prefix] if prefix else app.app
    return len(school.extensions["demo_school"])


def test_describe_lists_urls_clients_and_personas(stack: DevStack) -> None:
    text = "\n".join(stack.describe())
    assert f"{stack.school.url}/" in text
    assert f"{stack.config.server.issuer}/dev/outbox" in text
    assert "demo-school" in text
    assert "demo-library" in text
    for persona in ("parent", "kid7", "teen15", "parent_foreign", "standard", "simplified"):
        assert persona in text
    assert "Тестова" not in text
    assert "100-200" not in text


def test_a_day_with_the_demo_school(stack: DevStack) -> None:
    person = Person()
    home = person.get(f"{stack.school.url}/")
    assert "Войти через Госуслуги" in home.text

    esia_page = person.get(f"{stack.school.url}/login")
    consent = person.esia(esia_page, stack, "parent")
    assert consent.url.endswith("/consent")
    school = person.submit(consent, decision="approve")
    assert school.url == f"{stack.school.url}/"
    assert "Вы вошли" in school.text
    assert "urn:vhod:acr:esia" in school.text  # acr
    assert "pwd" in school.text  # amr
    assert "Тестова" in school.text  # userinfo: family_name

    refreshed = person.submit(school)  # the first form: "Обновить токены"
    assert "Токены обновлены" in refreshed.text

    library = person.get(f"{stack.school.url}/library/login")
    assert library.url.endswith("/consent")  # SSO: no ESIA page, only the new client's consent
    library = person.submit(library, decision="approve")
    assert library.url == f"{stack.school.url}/library/"
    assert "Вы вошли" in library.text
    assert _school_sessions(stack, "/library") == 1

    school = person.get(f"{stack.school.url}/")
    forms = _ACTION.findall(school.text)
    assert forms[-1].endswith("/logout")
    csrf = dict(_HIDDEN.findall(school.text))["csrf_token"]
    out = person.go(
        person.session.post(
            f"{stack.school.url}/logout",
            data={"csrf_token": csrf},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
    )
    assert out.url == f"{stack.school.url}/?notice=signed_out"
    assert "Войти через Госуслуги" in out.text

    # The gateway tells the library by back-channel logout (delivered off the request path).
    deadline = time.monotonic() + 10
    while _school_sessions(stack, "/library") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _school_sessions(stack, "/library") == 0


def test_the_outbox_is_served_newest_last(stack: DevStack) -> None:
    stack.outbox.record("sms", "телефон …0101", "Код входа: 111222")
    stack.outbox.record("email", "a…@example.test", "Код входа: 333444")
    stack.outbox.record("push", "устройство «Pixel»", "Подтвердите вход: 42")
    url = f"{stack.config.server.issuer}/dev/outbox"
    response = requests.get(url, headers={"Accept": "application/json"}, timeout=TIMEOUT)
    assert response.status_code == 200
    last = response.json()["messages"][-3:]
    assert [m["channel"] for m in last] == ["sms", "email", "push"]
    assert last[-1]["text"] == "Подтвердите вход: 42"
    page = requests.get(url, timeout=TIMEOUT).text
    assert page.index("111222") < page.index("333444") < page.index("Подтвердите вход: 42")


def _outbox_code(stack: DevStack, kind: str) -> str:
    """The code in the newest ``kind`` message of ``/dev/outbox`` (JSON, newest last)."""
    response = requests.get(
        f"{stack.config.server.issuer}/dev/outbox",
        params={"kind": kind},
        headers={"Accept": "application/json"},
        timeout=TIMEOUT,
    )
    found = re.search(r"\b(\d{6})\b", response.json()["messages"][-1]["text"])
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(("persona", "kind"), [("teen15", "sms"), ("single", "email")])
def test_login_with_confirmation(stack: DevStack, persona: str, kind: str) -> None:
    """«Войти с подтверждением»: ESIA, then a code (SMS or e-mail: the dev config asks ESIA
    for the verified e-mail too) from the outbox; the school shows acr esia-mfa."""
    person = Person()
    home = person.get(f"{stack.school.url}/")
    assert "Войти с подтверждением" in home.text
    factor = person.esia(person.get(f"{stack.school.url}/login?mfa=1"), stack, persona)
    assert factor.url.endswith("/factor"), factor.url
    assert f'value="{kind}"' in factor.text  # single: mobile not verified, e-mail only
    sent = person.submit(factor, kind=kind)
    assert sent.status_code == 200
    answer = person.submit(sent, code=_outbox_code(stack, kind))
    assert answer.url.endswith("/consent"), answer.url
    school = person.submit(answer, decision="approve")
    assert school.url == f"{stack.school.url}/"
    assert "urn:vhod:acr:esia-mfa" in school.text
    assert f"pwd, {kind}, mfa" in school.text


def test_signing_in_for_a_child_at_the_demo_school(stack: DevStack) -> None:
    """«Войти за ребёнка»: ESIA as ``parent``, the child choice (Пётр or Иван), the consent
    for that child; the school shows tokens about the child with ``act``."""
    person = Person()
    home = person.get(f"{stack.school.url}/")
    assert "Войти за ребёнка" in home.text
    choice = person.esia(person.get(f"{stack.school.url}/login?child=1"), stack, "parent")
    assert choice.url.endswith("/child"), choice.url
    buttons = dict(
        (name, value)
        for value, name in re.findall(r'name="child" value="([^"]+)">([^<]+)<', choice.text)
    )
    assert set(buttons) == {"Пётр", "Иван"}
    consent = person.submit(choice, child=buttons["Иван"])
    assert consent.url.endswith("/consent"), consent.url
    assert "Иван" in consent.text
    school = person.submit(consent, decision="approve")
    assert school.url == f"{stack.school.url}/"
    assert "Вы вошли" in school.text
    assert "<th>act</th>" in school.text


def test_demo_clients_are_registered_idempotently(stack: DevStack) -> None:
    demo = DEMO_CLIENTS[0]
    moved = ensure_demo_client(stack.services, demo, "http://127.0.0.1:1/")
    assert moved.redirect_uris == ("http://127.0.0.1:1//callback",)
    back = ensure_demo_client(stack.services, demo, stack.schools[demo.client_id].base_url)
    assert back.redirect_uris == (f"{stack.school.url}/callback",)
    assert ensure_demo_client(stack.services, demo, stack.schools[demo.client_id].base_url) == back


def test_production_mode_refuses_the_dev_stack(tmp_path: Path) -> None:
    production = GatewayConfig.model_construct(mode=Mode.PRODUCTION)
    with pytest.raises(ConfigError, match="refused in production"):
        DevStack.start(production, "127.0.0.1", 0, 0, 0)
    with pytest.raises(ConfigError, match="refused in production"):
        run_dev_stack(production, "127.0.0.1", 0, 0, 0)


def test_cli_has_dev_and_sandbox_commands() -> None:
    runner = CliRunner()
    dev = runner.invoke(main, ["dev", "--help"])
    assert dev.exit_code == 0
    assert "--sandbox-port" in dev.output
    assert "--school-port" in dev.output
    sandbox = runner.invoke(main, ["sandbox", "--help"])
    assert sandbox.exit_code == 0
    assert "ESIA sandbox" in sandbox.output
