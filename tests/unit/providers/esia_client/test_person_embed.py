"""The person with its contacts and documents in one request (ESIA.md §5.1 nested embeds),
and the separate collection reads when ESIA's answer does not carry them inline."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any
from typing import ClassVar
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from providers.upstream.esia.client import EsiaClient
from tests.unit.providers.esia_client.test_transport import _client

CONTACT = {"id": 14, "type": "MBT", "value": "+7(900)0000001", "vrfStu": "VERIFIED"}
DOCUMENT = {"id": 21, "type": "RF_PASSPORT", "series": "4500", "number": "000001"}


class _Esia(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode: ClassVar[str] = "inline"  # inline | ignored | urls
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Esia.seen.append(self.path)
        url = urlsplit(self.path)
        base = f"http://{self.headers['Host']}/rs/prns/1000"
        embeds = parse_qs(url.query).get("embed", [""])[0].strip("()").split(",")
        body: Any
        if url.path == "/rs/prns/1000":
            body = {"firstName": "x", "trusted": True}
            collections = {"contacts": ("ctts", CONTACT), "documents": ("docs", DOCUMENT)}
            for name, (suffix, item) in collections.items():
                if f"{name}.elements" not in embeds or _Esia.mode == "ignored":
                    continue
                inline = _Esia.mode == "inline"
                body[name] = {
                    "stateFacts": ["hasSize"],
                    "size": 1,
                    "elements": [item if inline else f"{base}/{suffix}/{item['id']}"],
                }
        elif url.path in ("/rs/prns/1000/ctts", "/rs/prns/1000/docs"):
            item = CONTACT if url.path.endswith("ctts") else DOCUMENT
            body = {"stateFacts": ["hasSize"], "size": 1, "elements": [item]}
        else:
            body = CONTACT if "/ctts/" in url.path else DOCUMENT
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def esia() -> Iterator[EsiaClient]:
    _Esia.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Esia)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield _client(f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    server.server_close()


def test_person_contacts_and_documents_come_in_one_request(esia: EsiaClient) -> None:
    _Esia.mode = "inline"
    person, inline = esia.person_with("1000", "token", ("contacts", "documents"))
    assert person == {"firstName": "x", "trusted": True}  # the envelopes are taken out
    assert inline == {"contacts": [CONTACT], "documents": [DOCUMENT]}
    assert [urlsplit(p).path for p in _Esia.seen] == ["/rs/prns/1000"]
    query = parse_qs(urlsplit(_Esia.seen[0]).query)
    assert query == {"embed": ["(contacts.elements,documents.elements)"]}


@pytest.mark.parametrize("mode", ["ignored", "urls"])
def test_a_collection_not_inline_is_read_on_its_own(esia: EsiaClient, mode: str) -> None:
    _Esia.mode = mode
    person, inline = esia.person_with("1000", "token", ("contacts", "documents"))
    assert person == {"firstName": "x", "trusted": True}
    assert inline == {"contacts": [CONTACT], "documents": [DOCUMENT]}
    paths = [urlsplit(p).path for p in _Esia.seen]
    assert paths == ["/rs/prns/1000", "/rs/prns/1000/ctts", "/rs/prns/1000/docs"]


def test_the_person_alone_asks_for_no_embed(esia: EsiaClient) -> None:
    assert esia.person("1000", "token") == {"firstName": "x", "trusted": True}
    assert _Esia.seen == ["/rs/prns/1000"]


def test_only_person_collections_can_be_embedded(esia: EsiaClient) -> None:
    with pytest.raises(ValueError, match="not a person collection"):
        esia.person_with("1000", "token", ("kids",))
    assert _Esia.seen == []
