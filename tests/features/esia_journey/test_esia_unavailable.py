"""T93 over HTTP: ESIA slower than our timeout, then the circuit breaker.

A stack of its own (the breaker is per process and this module opens it): timeouts of
0.4 s, the circuit opens after 2 consecutive failures and stays open for the module.
The sandbox's answers are delayed by 1.5 s — beyond the timeout, never waited for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.features.esia_journey.browser import Browser
from tests.features.esia_journey.stack import JourneyStack

SCOPE = "openid profile"
TIMEOUT_SECONDS = 0.4
SLOW_MS = 1500


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JourneyStack]:
    running = JourneyStack(
        tmp_path_factory.mktemp("esia-unavailable"),
        connect_timeout_seconds=TIMEOUT_SECONDS,
        read_timeout_seconds=TIMEOUT_SECONDS,
        breaker_failure_threshold=2,
        breaker_reset_seconds=600,
    )
    yield running
    running.stop()


def _reasons(caplog: pytest.LogCaptureFixture) -> list[Any]:
    return [
        getattr(r, "vhod_fields", {}).get("reason")
        for r in caplog.records
        if r.getMessage() == "journey.failed"
    ]


def _unavailable(stack: JourneyStack, browser: Browser) -> None:
    answer = browser.esia_login(browser.authorize(stack.school, SCOPE), "single")
    assert answer.location is not None
    assert answer.location.startswith(stack.school.redirect_uri)
    assert answer.query["error"] == "temporarily_unavailable"
    assert answer.query["state"] == browser.request["state"]
    assert answer.query["iss"] == stack.gateway_url


def test_t93_slow_esia_times_out_then_the_circuit_opens(
    stack: JourneyStack, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    stack.faults(latency_ms=SLOW_MS, endpoints=["token"])
    _unavailable(stack, browser)
    _unavailable(stack, browser)
    assert _reasons(caplog) == ["upstream_unavailable:esia_timeout"] * 2

    # ESIA is well again, but the open circuit fails logins fast without calling it.
    stack.clear_faults()
    caplog.clear()
    _unavailable(stack, browser)
    assert _reasons(caplog) == ["upstream_unavailable:esia_circuit_open"]
    silent = browser.authorize(stack.school, "openid", prompt="none")
    assert silent.query["error"] == "login_required"  # no session was made


def test_t93_signing_in_to_vhod_itself_shows_a_russian_page(
    stack: JourneyStack, browser: Browser
) -> None:
    """vhod's own pages have no school system to answer: the person gets the ESIA page."""
    stack.faults(latency_ms=SLOW_MS, endpoints=["token"])
    _unavailable(stack, browser)  # opens the circuit when this test runs alone
    _unavailable(stack, browser)
    stack.clear_faults()
    page = browser.get(f"{stack.gateway_url}/account")
    assert page.url.startswith(stack.sandbox_url), page.url
    answer = browser.esia_login(page, "single")  # the circuit is open
    assert answer.status == 503
    assert "Госуслуги временно недоступны" in answer.text
    assert "приостановлен" in answer.text
