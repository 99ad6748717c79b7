"""EsiaClient without a network: timestamps, signed authorize URLs (v2, v1), logout, breaker."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from gateway.config.schema import EsiaSettings
from gateway.core.clock import FixedClock
from gateway.core.errors import UpstreamUnavailable
from providers.upstream.esia.certificates import parse_certificate
from providers.upstream.esia.client import BreakerState
from providers.upstream.esia.client import CircuitBreaker
from providers.upstream.esia.client import EsiaClient
from providers.upstream.esia.client import esia_timestamp
from providers.upstream.esia.signing import PureGostSigner
from providers.upstream.esia.signing import verify_v1_cms
from providers.upstream.esia.signing import verify_v2

REPO = Path(__file__).resolve().parents[4]
STATE = "7648d7bd-6369-4073-b545-90250f68025e"
REDIRECT = "https://gw.example.ru/esia/callback"
SCOPES = ("openid", "fullname", "birthdate", "snils", "kid_fullname")


@pytest.fixture(scope="module")
def signer() -> PureGostSigner:
    return PureGostSigner.from_files(
        REPO / "tests/data/gost/gost-engine-selfsigned-key.pem",
        REPO / "tests/data/gost/gost-engine-selfsigned-cert.pem",
    )


def _client(signer: PureGostSigner, **settings: object) -> EsiaClient:
    values: dict[str, object] = {"base_url": "https://esia.example", "client_id": "MYSYS01"}
    values.update(settings)
    return EsiaClient(EsiaSettings(**values), signer, clock=FixedClock(1735732800.0))  # type: ignore[arg-type]


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_timestamp_format() -> None:
    assert esia_timestamp(1735732800.0) == "2025.01.01 12:00:00 +0000"
    local = esia_timestamp(1735732800.0, utc=False)
    assert len(local) == len("2025.01.01 12:00:00 +0300")
    assert ":" not in local.rsplit(" ", 1)[1]
    assert local[-5] in "+-"


def test_v2_authorize_url(signer: PureGostSigner) -> None:
    client = _client(signer)
    url = client.authorization_url(STATE, SCOPES, REDIRECT)
    assert url.startswith("https://esia.example/aas/oauth2/v2/ac?")
    q = _query(url)
    assert q["client_id"] == "MYSYS01"
    assert q["scope"] == " ".join(SCOPES)
    assert q["response_type"] == "code"
    assert q["state"] == STATE
    assert q["timestamp"] == "2025.01.01 12:00:00 +0000"
    assert q["access_type"] == "online"
    assert q["redirect_uri"] == REDIRECT
    cert = parse_certificate(signer.certificate)
    assert q["client_certificate_hash"] == cert.client_certificate_hash
    assert len(q["client_secret"]) == 86  # 64 bytes, base64url without padding
    signed = f"MYSYS01{' '.join(SCOPES)}2025.01.01 12:00:00 +0000{STATE}{REDIRECT}"
    assert verify_v2(cert, signed, q["client_secret"])
    assert "%20" in url  # spaces as %20, never '+' ambiguity in the signed scope


def test_v1_authorize_url(signer: PureGostSigner) -> None:
    client = _client(signer, protocol="v1", access_type="offline")
    url = client.authorization_url(STATE, SCOPES, REDIRECT)
    assert url.startswith("https://esia.example/aas/oauth2/ac?")
    q = _query(url)
    assert "client_certificate_hash" not in q
    assert q["access_type"] == "offline"
    signed = f"{' '.join(SCOPES)}2025.01.01 12:00:00 +0000MYSYS01{STATE}"
    assert verify_v1_cms(q["client_secret"], signed, [signer.certificate])


def test_clock_offset_moves_the_timestamp(signer: PureGostSigner) -> None:
    q = _query(_client(signer, clock_offset_seconds=-90).authorization_url(STATE, SCOPES, REDIRECT))
    assert q["timestamp"] == "2025.01.01 11:58:30 +0000"


def test_logout_url(signer: PureGostSigner) -> None:
    url = _client(signer).logout_url("https://gw.example.ru/logged out")
    assert url == (
        "https://esia.example/idp/ext/Logout?client_id=MYSYS01"
        "&redirect_url=https%3A%2F%2Fgw.example.ru%2Flogged%20out"
    )


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_state_machine() -> None:
    clock = _Clock()
    breaker = CircuitBreaker(threshold=3, reset_seconds=10, now=clock)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # a success resets the count
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(UpstreamUnavailable) as info:
        breaker.before_request()
    assert info.value.reason == "esia_circuit_open"
    clock.now = 10
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.before_request()  # the one trial
    with pytest.raises(UpstreamUnavailable):
        breaker.before_request()  # no second request while the trial runs
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN  # the trial failed: open again
    clock.now = 25
    breaker.before_request()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    breaker.before_request()
