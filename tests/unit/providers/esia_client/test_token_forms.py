"""The ESIA token-endpoint form of ``exchange_code`` and ``refresh`` in every protocol and
refresh variant (ESIA.md §3.1), read off the wire without a network: what is sent and
what the ``client_secret`` signs."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from urllib3.exceptions import ProtocolError

from gateway.config.schema import EsiaSettings
from gateway.core.clock import FixedClock
from gateway.core.errors import UpstreamUnavailable
from providers.upstream.esia.certificates import parse_certificate
from providers.upstream.esia.client import SCOPE_ORG
from providers.upstream.esia.client import EsiaClient
from providers.upstream.esia.signing import PureGostSigner
from providers.upstream.esia.signing import verify_v1_cms
from providers.upstream.esia.signing import verify_v2

REPO = Path(__file__).resolve().parents[4]
REDIRECT = "https://gw.example.ru/esia/callback"
SCOPES = ("openid", "fullname")
SCOPE = "openid fullname"
TIMESTAMP = "2025.01.01 12:00:00 +0000"
ORG = SCOPE_ORG


class _Recorder:
    """A urllib3 pool stand-in that keeps the request and fails it (no network)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def request(self, method: str, url: str, body: str | None = None, **_: Any) -> Any:
        form = {k: v[0] for k, v in parse_qs(body or "", keep_blank_values=True).items()}
        self.sent.append((method, url, form))
        raise ProtocolError("no network in unit tests")


@pytest.fixture(scope="module")
def signer() -> PureGostSigner:
    return PureGostSigner.from_files(
        REPO / "tests/data/gost/gost-engine-selfsigned-key.pem",
        REPO / "tests/data/gost/gost-engine-selfsigned-cert.pem",
    )


def _sent(signer: PureGostSigner, call: str, secret: str, **settings: object) -> dict[str, str]:
    values: dict[str, object] = {"base_url": "https://esia.example", "client_id": "MYSYS01"}
    values.update(settings)
    pool = _Recorder()
    client = EsiaClient(
        EsiaSettings(**values),  # type: ignore[arg-type]
        signer,
        clock=FixedClock(1735732800.0),
        http=pool,  # type: ignore[arg-type]
    )
    with pytest.raises(UpstreamUnavailable):
        getattr(client, call)(secret, SCOPES, REDIRECT)
    [(method, _url, form)] = pool.sent
    assert method == "POST"
    assert form["client_id"] == "MYSYS01"
    assert form["scope"] == SCOPE
    assert form["timestamp"] == TIMESTAMP
    assert form["token_type"] == "Bearer"
    return form


def _signed_v2_with_org(signer: PureGostSigner, form: dict[str, str], tail: str) -> bool:
    """The form carries ``scope_org`` and the certificate hash, and its secret signs
    ``client_id+scope+scope_org+timestamp+state+tail``."""
    cert = parse_certificate(signer.certificate)
    assert form["scope_org"] == ORG
    assert form["client_certificate_hash"] == cert.client_certificate_hash
    signed = f"MYSYS01{SCOPE}{ORG}{TIMESTAMP}{form['state']}{tail}"
    return verify_v2(cert, signed, form["client_secret"])


def test_v2_code_exchange(signer: PureGostSigner) -> None:
    form = _sent(signer, "exchange_code", "the-code")
    assert form["grant_type"] == "authorization_code"
    assert form["code"] == "the-code"
    assert form["redirect_uri"] == REDIRECT
    assert _signed_v2_with_org(signer, form, f"{REDIRECT}the-code")


def test_v1_code_exchange(signer: PureGostSigner) -> None:
    form = _sent(signer, "exchange_code", "the-code", protocol="v1")
    assert form["code"] == "the-code"
    assert form["redirect_uri"] == REDIRECT
    assert "scope_org" not in form
    assert "client_certificate_hash" not in form
    signed = f"{SCOPE}{TIMESTAMP}MYSYS01{form['state']}"
    assert verify_v1_cms(form["client_secret"], signed, [signer.certificate])


def test_v2_refresh_ili4(signer: PureGostSigner) -> None:
    form = _sent(signer, "refresh", "the-refresh", refresh_variant="ili4")
    assert form["grant_type"] == "refresh_token"
    assert form["refresh_token"] == "the-refresh"
    assert "code" not in form
    assert form["redirect_uri"] == REDIRECT
    assert _signed_v2_with_org(signer, form, REDIRECT)


def test_v2_refresh_ais(signer: PureGostSigner) -> None:
    form = _sent(signer, "refresh", "the-refresh", refresh_variant="ais")
    assert form["refresh_token"] == "the-refresh"
    assert "redirect_uri" not in form
    assert "scope_org" not in form
    assert "client_certificate_hash" not in form
    signed = f"MYSYS01{SCOPE}{TIMESTAMP}{form['state']}the-refresh"
    assert verify_v2(parse_certificate(signer.certificate), signed, form["client_secret"])


def test_v1_refresh(signer: PureGostSigner) -> None:
    form = _sent(signer, "refresh", "the-refresh", protocol="v1", refresh_variant="ili4")
    assert form["refresh_token"] == "the-refresh"
    assert form["redirect_uri"] == REDIRECT
    assert "scope_org" not in form
    signed = f"{SCOPE}{TIMESTAMP}MYSYS01{form['state']}"
    assert verify_v1_cms(form["client_secret"], signed, [signer.certificate])


def test_each_token_request_has_its_own_state(signer: PureGostSigner) -> None:
    first = _sent(signer, "exchange_code", "c")
    second = _sent(signer, "exchange_code", "c")
    assert first["state"] != second["state"]
