"""Senders: HTTP SMS gateway, SMTP, and the dev outbox sink."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from email import policy
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from gateway.config.factors import EmailSettings
from gateway.config.factors import SmsHttpSettings
from gateway.core.clock import FixedClock
from gateway.dev.outbox import DevOutbox
from gateway.store.memory import MemoryEphemeralStore
from providers.factors.senders.base import SendFailed
from providers.factors.senders.http_sms import HttpSmsSender
from providers.factors.senders.outbox import OutboxEmailSender
from providers.factors.senders.outbox import OutboxSmsSender
from providers.factors.senders.smtp import SmtpEmailSender

TEXT = "Код входа в vhod: 123456. Никому его не сообщайте."


# --------------------------------------------------------------------------- HTTP SMS


class _Gateway:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.body = b'{"status": "OK"}'
        self.delay = 0.0


@pytest.fixture
def gateway() -> Iterator[tuple[_Gateway, str]]:
    state = _Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            state.requests.append(
                {
                    "body": self.rfile.read(length).decode(),
                    "type": self.headers.get("Content-Type"),
                    "auth": self.headers.get("X-Api-Key"),
                }
            )
            time.sleep(state.delay)
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/send"
    server.shutdown()
    server.server_close()


def _http(url: str, **overrides: Any) -> SmsHttpSettings:
    return SmsHttpSettings(url=url, **overrides)


def test_http_sms_form_body_with_auth(gateway: tuple[_Gateway, str]) -> None:
    state, url = gateway
    sender = HttpSmsSender(
        _http(url, auth_header="X-Api-Key", body_template={"to": "{to_digits}", "msg": "{text}"}),
        auth_value="secret-key",
    )
    sender.send("+79161234567", TEXT)
    (request,) = state.requests
    assert request["type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request["body"]) == {"to": ["79161234567"], "msg": [TEXT]}
    assert request["auth"] == "secret-key"


def test_http_sms_json_body_and_success_field(gateway: tuple[_Gateway, str]) -> None:
    state, url = gateway
    settings = _http(url, body_format="json", success_field="status", success_value="OK")
    HttpSmsSender(settings).send("+79161234567", TEXT)
    assert json.loads(state.requests[0]["body"]) == {"to": "+79161234567", "msg": TEXT}
    state.body = b'{"status": "ERROR", "status_code": 202}'
    with pytest.raises(SendFailed) as refused:
        HttpSmsSender(settings).send("+79161234567", TEXT)
    assert refused.value.maybe_sent is False
    state.body = b"not json"
    with pytest.raises(SendFailed) as unreadable:
        HttpSmsSender(settings).send("+79161234567", TEXT)
    assert unreadable.value.maybe_sent is True


def test_http_sms_5xx_is_not_retried(gateway: tuple[_Gateway, str]) -> None:
    state, url = gateway
    state.status = 503
    with pytest.raises(SendFailed) as failed:
        HttpSmsSender(_http(url)).send("+79161234567", TEXT)
    assert failed.value.reason == "status_503"
    assert len(state.requests) == 1


def test_http_sms_4xx_is_surely_not_sent(gateway: tuple[_Gateway, str]) -> None:
    state, url = gateway
    state.status = 401
    with pytest.raises(SendFailed) as failed:
        HttpSmsSender(_http(url)).send("+79161234567", TEXT)
    assert failed.value.maybe_sent is False


def test_http_sms_read_timeout_is_maybe_sent(gateway: tuple[_Gateway, str]) -> None:
    state, url = gateway
    state.delay = 1.0
    with pytest.raises(SendFailed) as failed:
        HttpSmsSender(_http(url, read_timeout_seconds=0.2)).send("+79161234567", TEXT)
    assert failed.value.maybe_sent is True
    assert failed.value.reason == "timeout"
    time.sleep(1.0)
    assert len(state.requests) == 1


def test_http_sms_refused_connection_is_not_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SendFailed) as failed:
        HttpSmsSender(_http(f"http://127.0.0.1:{port}/send")).send("+79161234567", TEXT)
    assert failed.value.maybe_sent is False


# --------------------------------------------------------------------------- SMTP


class _SmtpState:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.data: bytes = b""
        self.reject_rcpt = False
        self.hang_after_data = False


@pytest.fixture
def smtp() -> Iterator[tuple[_SmtpState, int]]:
    """A minimal line-based SMTP stub (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT)."""
    state = _SmtpState()

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self) -> None:
            self.reply("220 stub ESMTP")
            while True:
                raw = self.rfile.readline()
                if not raw:
                    return
                line = raw.decode().rstrip("\r\n")
                state.lines.append(line)
                verb = line.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    self.reply("250-stub")
                    self.reply("250-AUTH PLAIN")
                    self.reply("250 8BITMIME")
                elif verb == "AUTH":
                    self.reply("235 ok")
                elif verb == "MAIL":
                    self.reply("250 ok")
                elif verb == "RCPT":
                    self.reply("550 no such user" if state.reject_rcpt else "250 ok")
                elif verb == "DATA":
                    self.reply("354 go on")
                    chunks = []
                    while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                        chunks.append(chunk)
                    state.data = b"".join(chunks)
                    if state.hang_after_data:
                        time.sleep(1.0)
                        return
                    self.reply("250 queued")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("502 not implemented")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, server.server_address[1]
    server.shutdown()
    server.server_close()


def _email(port: int, **overrides: Any) -> EmailSettings:
    base: dict[str, Any] = {
        "sender": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "plain",
        "from_address": "vhod@school.example.ru",
        "timeout_seconds": 0.5,
    }
    base.update(overrides)
    return EmailSettings(**base)


def test_smtp_sends_a_utf8_message_with_a_russian_subject(smtp: tuple[_SmtpState, int]) -> None:
    state, port = smtp
    SmtpEmailSender(_email(port, smtp_username="vhod"), password="pw").send("ivan@example.ru", TEXT)
    assert any(line.startswith("AUTH PLAIN") for line in state.lines)
    assert "rcpt to:<ivan@example.ru>" in [line.lower() for line in state.lines]
    message = message_from_bytes(state.data, policy=policy.default)
    assert message["Subject"] == "Код входа в vhod"
    assert message["To"] == "ivan@example.ru"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().strip() == TEXT


def test_smtp_refused_recipient_is_not_sent(smtp: tuple[_SmtpState, int]) -> None:
    state, port = smtp
    state.reject_rcpt = True
    with pytest.raises(SendFailed) as failed:
        SmtpEmailSender(_email(port)).send("nobody@example.ru", TEXT)
    assert failed.value.maybe_sent is False


def test_smtp_timeout_after_data_is_maybe_sent(smtp: tuple[_SmtpState, int]) -> None:
    state, port = smtp
    state.hang_after_data = True
    with pytest.raises(SendFailed) as failed:
        SmtpEmailSender(_email(port)).send("ivan@example.ru", TEXT)
    assert failed.value.maybe_sent is True


def test_smtp_starttls_unsupported_is_not_sent(smtp: tuple[_SmtpState, int]) -> None:
    _, port = smtp
    with pytest.raises(SendFailed) as failed:
        SmtpEmailSender(_email(port, smtp_security="starttls")).send("ivan@example.ru", TEXT)
    assert failed.value.maybe_sent is False


def test_smtp_unreachable_is_not_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SendFailed) as failed:
        SmtpEmailSender(_email(port)).send("ivan@example.ru", TEXT)
    assert failed.value.maybe_sent is False


# --------------------------------------------------------------------------- dev outbox


def test_outbox_senders_write_masked_destinations_to_the_dev_outbox(clock: FixedClock) -> None:
    outbox = DevOutbox(MemoryEphemeralStore(clock), clock)
    OutboxSmsSender(outbox).send("+79161234567", TEXT)
    OutboxEmailSender(outbox).send("ivan@example.ru", TEXT)
    newest, oldest = outbox.messages()
    assert (oldest.kind, oldest.to, oldest.text) == ("sms", "…67", TEXT)
    assert (newest.kind, newest.to) == ("email", "i…@example.ru")
