"""The dev outbox: senders record, people read ``/dev/outbox`` (JSON or a Russian page)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config.schema import GatewayConfig
from gateway.config.schema import Mode
from gateway.core.clock import FixedClock
from gateway.core.errors import ConfigError
from gateway.dev.outbox import DevOutbox
from gateway.dev.outbox import build_outbox
from gateway.dev.outbox import install_outbox
from gateway.store.memory import MemoryEphemeralStore


@pytest.fixture
def outbox(clock: FixedClock) -> DevOutbox:
    return DevOutbox(MemoryEphemeralStore(clock), clock, ttl_seconds=600, limit=3)


def test_messages_newest_first_and_by_kind(outbox: DevOutbox) -> None:
    first = outbox.record("sms", "телефон …0101", "Код входа: 123456")
    outbox.record("push", "устройство «Pixel»", "Подтвердите вход в vhod")
    assert first.seq == 1
    assert [m.text for m in outbox.messages()] == ["Подтвердите вход в vhod", "Код входа: 123456"]
    assert [m.kind for m in outbox.messages("sms")] == ["sms"]
    assert outbox.messages("push")[0].to == "устройство «Pixel»"


def test_only_the_newest_are_read_and_messages_expire(outbox: DevOutbox, clock: FixedClock) -> None:
    for n in range(5):
        outbox.record("sms", "…0101", f"code {n}")
    assert [m.text for m in outbox.messages()] == ["code 4", "code 3", "code 2"]
    clock.advance(601)
    assert outbox.messages() == []
    assert outbox.record("sms", "…0101", "fresh").seq == 1


def test_clear(outbox: DevOutbox) -> None:
    outbox.record("sms", "…0101", "one")
    outbox.record("sms", "…0101", "two")
    assert outbox.clear() == 2
    assert outbox.messages() == []


@pytest.mark.parametrize(
    ("kind", "to", "text"), [("fax", "x", "y"), ("sms", "x" * 201, "y"), ("sms", "x", "y" * 2001)]
)
def test_bad_messages_are_refused(outbox: DevOutbox, kind: str, to: str, text: str) -> None:
    with pytest.raises(ValueError, match=r"kind|too long"):
        outbox.record(kind, to, text)


def test_production_refuses_the_outbox(clock: FixedClock, app: Any) -> None:
    production = GatewayConfig.model_construct(mode=Mode.PRODUCTION)
    store = MemoryEphemeralStore(clock)
    with pytest.raises(ConfigError, match="refused in production"):
        build_outbox(production, store, clock)
    with pytest.raises(ConfigError, match="refused in production"):
        install_outbox(app, DevOutbox(store, clock), production=True)


def test_the_gateway_has_no_outbox_unless_the_dev_stack_installs_it(client: Any) -> None:
    assert client.get("/dev/outbox").status_code == 404


def test_outbox_over_http(app: Any, services: Any) -> None:
    outbox = build_outbox(services.config, services.ephemeral, services.clock)
    install_outbox(app, outbox, production=False)
    client = app.test_client()
    empty = client.get("/dev/outbox")
    assert empty.status_code == 200
    assert "Сообщений пока нет" in empty.get_data(as_text=True)

    outbox.record("sms", "телефон …0101", "Код входа: 654321")
    outbox.record("push", "устройство …42", "Подтвердите вход")
    outbox.record("email", "i…@example.ru", "Код входа в vhod: 777888")
    as_json = client.get("/dev/outbox", headers={"Accept": "application/json"})
    assert as_json.headers["Cache-Control"] == "no-store"
    messages = as_json.get_json()["messages"]
    assert [(m["seq"], m["channel"], m["to"], m["text"]) for m in messages] == [
        (1, "sms", "телефон …0101", "Код входа: 654321"),
        (2, "push", "устройство …42", "Подтвердите вход"),
        (3, "email", "i…@example.ru", "Код входа в vhod: 777888"),
    ]
    assert messages[0]["time"].endswith("+00:00")
    only_email = client.get("/dev/outbox?kind=email", headers={"Accept": "application/json"})
    assert [m["kind"] for m in only_email.get_json()["messages"]] == ["email"]
    only_sms = client.get("/dev/outbox?kind=sms", headers={"Accept": "application/json"})
    assert [m["kind"] for m in only_sms.get_json()["messages"]] == ["sms"]
    page = client.get("/dev/outbox", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Исходящие сообщения" in page
    assert "Код входа: 654321" in page
    assert "телефон …0101" in page
    assert page.index("Код входа: 654321") < page.index("Код входа в vhod: 777888")
    assert "письмо" in page
