"""Time as a dependency: ``SystemClock`` in production, ``FixedClock`` in tests."""

from __future__ import annotations

import time
from datetime import UTC
from datetime import datetime


class SystemClock:
    """Wall-clock time in seconds since the epoch (UTC)."""

    def now(self) -> float:
        return time.time()

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=UTC)


class FixedClock:
    """A clock that moves only when told to; for tests (no real waiting)."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self._now, tz=UTC)

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, value: float) -> None:
        self._now = value
