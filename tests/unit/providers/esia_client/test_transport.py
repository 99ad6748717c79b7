"""EsiaClient's transport against a local HTTP server: keep-alive reuse, answer size limit."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from gateway.config.schema import EsiaSettings
from gateway.core.clock import FixedClock
from gateway.core.errors import UpstreamUnavailable
from providers.upstream.esia.client import MAX_RESPONSE_BYTES
from providers.upstream.esia.client import BreakerState
from providers.upstream.esia.client import EsiaClient
from providers.upstream.esia.signing import PureGostSigner

REPO = Path(__file__).resolve().parents[4]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as ESIA's front end
    connections: ClassVar[set[int]] = set()

    def do_GET(self) -> None:
        _Handler.connections.add(id(self.connection))
        size = MAX_RESPONSE_BYTES + 10 if self.path.startswith("/rs/prns/2") else 0
        body = json.dumps({"firstName": "x", "pad": "p" * size}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def esia() -> Iterator[str]:
    _Handler.connections = set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _client(base_url: str, **settings: object) -> EsiaClient:
    signer = PureGostSigner.from_files(
        REPO / "tests/data/gost/gost-engine-selfsigned-key.pem",
        REPO / "tests/data/gost/gost-engine-selfsigned-cert.pem",
    )
    values: dict[str, object] = {"base_url": base_url, "client_id": "MYSYS01", **settings}
    return EsiaClient(EsiaSettings(**values), signer, clock=FixedClock(1735732800.0))  # type: ignore[arg-type]


def test_connections_are_kept_alive_between_calls(esia: str) -> None:
    client = _client(esia)
    for _ in range(3):
        assert client.person("1000", "token")["firstName"] == "x"
    assert len(_Handler.connections) == 1


def test_an_oversized_answer_is_unavailable_and_counts_as_a_failure(esia: str) -> None:
    client = _client(esia, breaker_failure_threshold=1)
    with pytest.raises(UpstreamUnavailable) as info:
        client.person("2000", "token")
    assert info.value.reason == "esia_unavailable"
    assert client.breaker.state is BreakerState.OPEN
    healthy = _client(esia)  # a fresh client on the same server still gets answers
    assert healthy.person("1000", "token")["firstName"] == "x"
