"""ESIA slow or down (SECURITY.md T93, R11): bounded timeouts, no retries, circuit breaker.

The test config uses 0.5 s timeouts; injected latencies stay small (≤ 0.8 s).
"""

from __future__ import annotations

import time

import pytest

from gateway.core.errors import UpstreamError
from gateway.core.errors import UpstreamUnavailable
from providers.upstream.esia.client import BreakerState
from providers.upstream.esia.client import CircuitBreaker
from tests.helpers.esia import CALLBACK
from tests.helpers.esia import EsiaSandbox


class _Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _token_step_error(sandbox: EsiaSandbox, provider: object) -> UpstreamError:
    state, result = sandbox.authorize(provider, "single")  # type: ignore[arg-type]
    with pytest.raises(UpstreamError) as info:
        provider.complete(result.query, state, CALLBACK, ("openid",))  # type: ignore[attr-defined]
    return info.value


def test_slow_token_endpoint_times_out_quickly(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider()
    state, result = sandbox.authorize(provider, "single")
    sandbox.faults(latency_ms=800, endpoints=["token"])
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable) as info:
        provider.complete(result.query, state, CALLBACK, ("openid",))
    elapsed = time.monotonic() - started
    assert info.value.reason == "esia_timeout"
    assert elapsed < 0.8  # the 0.5 s read timeout, not the 0.8 s latency; no retry


def test_slow_rest_api_times_out(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider()
    state, result = sandbox.authorize(provider, "single")
    sandbox.faults(latency_ms=700, endpoints=["rest"])
    with pytest.raises(UpstreamUnavailable) as info:
        provider.complete(result.query, state, CALLBACK, ("openid",))
    assert info.value.reason == "esia_timeout"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_unavailable(sandbox: EsiaSandbox, status: int) -> None:
    provider = sandbox.provider()
    state, result = sandbox.authorize(provider, "single")
    sandbox.faults(http_status=status, endpoints=["token"])
    with pytest.raises(UpstreamUnavailable) as info:
        provider.complete(result.query, state, CALLBACK, ("openid",))
    assert info.value.reason == "esia_unavailable"


def test_unreachable_esia_is_unavailable(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider(base_url="http://127.0.0.1:9")  # nothing listens there
    state = "7648d7bd-6369-4073-b545-90250f68025e"
    with pytest.raises(UpstreamUnavailable) as info:
        provider.complete({"state": state, "code": "x"}, state, CALLBACK, ("openid",))
    assert info.value.reason == "esia_unavailable"


def test_circuit_opens_fails_fast_and_recovers(sandbox: EsiaSandbox) -> None:
    clock = _Monotonic()
    provider = sandbox.provider(breaker_failure_threshold=2, breaker_reset_seconds=30)
    provider.client.breaker = CircuitBreaker(2, 30, now=clock)
    sandbox.faults(http_status=503, endpoints=["token"])
    for _ in range(2):
        assert _token_step_error(sandbox, provider).reason == "esia_unavailable"
    assert provider.client.breaker.state is BreakerState.OPEN
    sandbox.clear_faults()
    # Open: no request reaches ESIA, even though it is healthy again.
    started = time.monotonic()
    err = _token_step_error(sandbox, provider)
    assert isinstance(err, UpstreamUnavailable)
    assert err.reason == "esia_circuit_open"
    assert time.monotonic() - started < 0.5
    # After the reset time one trial goes through; success closes the circuit.
    clock.now += 31
    assert provider.client.breaker.state is BreakerState.HALF_OPEN
    state, result = sandbox.authorize(provider, "single")
    identity = provider.complete(result.query, state, CALLBACK, ("openid",))
    assert identity.account_level == "confirmed"
    assert provider.client.breaker.state is BreakerState.CLOSED


def test_esia_overload_code_counts_as_failure(sandbox: EsiaSandbox) -> None:
    clock = _Monotonic()
    provider = sandbox.provider()
    provider.client.breaker = CircuitBreaker(1, 30, now=clock)
    sandbox.faults(token_error="007008")
    assert _token_step_error(sandbox, provider).reason == "esia_unavailable"
    assert provider.client.breaker.state is BreakerState.OPEN


def test_person_errors_do_not_open_the_circuit(sandbox: EsiaSandbox) -> None:
    clock = _Monotonic()
    provider = sandbox.provider()
    provider.client.breaker = CircuitBreaker(1, 30, now=clock)
    sandbox.faults(token_error="007011")
    assert _token_step_error(sandbox, provider).reason == "esia_code_rejected"
    assert provider.client.breaker.state is BreakerState.CLOSED
