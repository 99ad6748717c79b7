"""The ESIA client's circuit breaker (SECURITY.md T93, R11): fail fast with
``UpstreamUnavailable("esia_circuit_open")`` after repeated timeouts / 5xx /
ESIA-007007/007008, and let one trial request through after ``breaker_reset_seconds``."""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable

from gateway.core.errors import UpstreamUnavailable
from gateway.core.logs import log_event
from providers.upstream.esia.errors import ESIA_CIRCUIT_OPEN

log = logging.getLogger("providers.upstream.esia.client")
"""The client's logger: the breaker's events stay where operators look for ESIA's."""


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Closed → open after ``threshold`` consecutive failures → half-open after
    ``reset_seconds`` (one trial request) → closed on success, open again on failure.

    Thread-safe; one per process and upstream. ``now`` is a monotonic clock (injectable
    for tests).
    """

    def __init__(
        self,
        threshold: int,
        reset_seconds: float,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._reset_seconds = reset_seconds
        self._now = now
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at = 0.0
        self._state = BreakerState.CLOSED
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            self._maybe_half_open()
            return self._state

    def _maybe_half_open(self) -> None:
        if (
            self._state is BreakerState.OPEN
            and self._now() - self._opened_at >= self._reset_seconds
        ):
            self._state = BreakerState.HALF_OPEN
            self._trial_in_flight = False

    def before_request(self) -> None:
        """Raise ``UpstreamUnavailable("esia_circuit_open")`` unless a request may go."""
        with self._lock:
            self._maybe_half_open()
            if self._state is BreakerState.CLOSED:
                return
            if self._state is BreakerState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return
        raise UpstreamUnavailable(ESIA_CIRCUIT_OPEN, "circuit open")

    def record_success(self) -> None:
        with self._lock:
            if self._state is not BreakerState.CLOSED:
                log_event(log, "esia.circuit_closed")
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            self._trial_in_flight = False
            if self._state is BreakerState.HALF_OPEN or self._failures >= self._threshold:
                if self._state is not BreakerState.OPEN:
                    log_event(log, "esia.circuit_opened", logging.WARNING, failures=self._failures)
                self._state = BreakerState.OPEN
                self._opened_at = self._now()
