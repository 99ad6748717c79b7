"""Back-channel logout: SECURITY.md T65 (the logout token) and R12 (delivery off the
request path, bounded retries with back-off, failures logged and counted)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode

import pytest

from gateway.http.ops import REGISTRY
from gateway.oauth.backchannel import MAX_ATTEMPTS
from gateway.oauth.backchannel import BackchannelWorker
from gateway.oauth.backchannel import backoff_seconds
from gateway.oauth.backchannel import deliver_due
from gateway.oauth.backchannel import run_worker
from gateway.oauth.tokens import BACKCHANNEL_EVENT
from tests.helpers.oauth import ISSUER
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient


class Receiver:
    """A relying party's back-channel logout endpoint on 127.0.0.1."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.event = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                receiver.received.append(
                    {
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "form": parse_qs(body),
                    }
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver.event.set()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def rp(kit: OAuthKit, receiver: Receiver) -> RegisteredClient:
    return kit.register("rp", backchannel_logout_uri=receiver.url("/bcl/rp"))


def logout_now(kit: OAuthKit, id_token: str) -> None:
    response = kit.client.get("/logout?" + urlencode({"id_token_hint": id_token}))
    assert response.status_code == 200


def deliver(services: Any) -> Any:
    return deliver_due(services.oauth.ctx)


def event_count(name: str) -> float:
    return REGISTRY.get_sample_value("vhod_events_total", {"event": name}) or 0.0


def test_logout_token_is_delivered_to_every_client_of_the_session(
    kit: OAuthKit, services: Any, receiver: Receiver, rp: RegisteredClient
) -> None:
    second = kit.register("rp2", backchannel_logout_uri=receiver.url("/bcl/rp2"))
    silent = kit.register("silent")
    first_tokens = kit.login_tokens(rp)
    second_tokens = kit.login_tokens(second)
    kit.login_tokens(silent)
    logout_now(kit, first_tokens["id_token"])
    assert receiver.received == []  # off the request path
    report = deliver(services)
    assert report.delivered == 2
    assert sorted(r["path"] for r in receiver.received) == ["/bcl/rp", "/bcl/rp2"]
    for delivery in receiver.received:
        assert delivery["content_type"] == "application/x-www-form-urlencoded"
        (token,) = delivery["form"]["logout_token"]
        header, claims = kit.verify(token)
        client_id = delivery["path"].rsplit("/", 1)[1]
        id_token = (first_tokens if client_id == "rp" else second_tokens)["id_token"]
        _, id_claims = kit.verify(id_token)
        assert header["typ"] == "logout+jwt"
        assert claims["iss"] == ISSUER
        assert claims["aud"] == client_id
        assert claims["iat"] == int(services.clock.now())
        assert 0 < claims["exp"] - claims["iat"] <= 120
        assert claims["jti"]
        assert claims["events"] == {BACKCHANNEL_EVENT: {}}
        assert claims["sid"] == id_claims["sid"]
        assert claims["sub"] == id_claims["sub"]
        assert "nonce" not in claims
    assert deliver(services).handled == 0


def test_failed_delivery_is_retried_with_backoff(
    kit: OAuthKit, services: Any, receiver: Receiver, rp: RegisteredClient
) -> None:
    receiver.statuses = [500]
    logout_now(kit, kit.login_tokens(rp)["id_token"])
    retries = event_count("backchannel.retry")
    assert deliver(services).retried == 1
    assert event_count("backchannel.retry") == retries + 1
    assert deliver(services).handled == 0  # not due yet
    services.clock.advance(backoff_seconds(1))
    assert deliver(services).delivered == 1
    assert len(receiver.received) == 2
    tokens = [r["form"]["logout_token"][0] for r in receiver.received]
    assert tokens[0] != tokens[1]  # a fresh token (new jti) for each attempt


def test_delivery_gives_up_after_bounded_attempts(
    kit: OAuthKit, services: Any, receiver: Receiver
) -> None:
    closed = receiver.url("/nowhere").replace(str(receiver.server.server_address[1]), "9")
    rc = kit.register("gone", backchannel_logout_uri=closed)
    logout_now(kit, kit.login_tokens(rc)["id_token"])
    failed = event_count("backchannel.failed")
    attempts = 0
    while True:
        report = deliver(services)
        attempts += report.handled
        if report.failed:
            break
        assert report.retried == 1
        services.clock.advance(backoff_seconds(attempts))
    assert attempts == MAX_ATTEMPTS
    assert event_count("backchannel.failed") == failed + 1
    assert deliver(services).handled == 0


def test_worker_thread_delivers(
    kit: OAuthKit, services: Any, receiver: Receiver, rp: RegisteredClient
) -> None:
    worker = BackchannelWorker(services.oauth.ctx)
    worker.ensure_started()
    try:
        logout_now(kit, kit.login_tokens(rp)["id_token"])
        worker.wake()
        assert receiver.event.wait(10)
    finally:
        worker.stop()
    assert len(receiver.received) == 1


def test_run_worker_entry_point(
    kit: OAuthKit, services: Any, receiver: Receiver, rp: RegisteredClient
) -> None:
    logout_now(kit, kit.login_tokens(rp)["id_token"])
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(services, stop), daemon=True)
    thread.start()
    try:
        assert receiver.event.wait(10)
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()
