"""Process-wide ports: time and the resources the composition root owns."""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch. Example: ``return time.time()``."""
        ...


class Disposable(Protocol):
    """A process-wide resource the composition root owns (the SQL engine's pool)."""

    def dispose(self) -> None:
        """Close it (at process exit, or before ``vhod serve`` forks its workers)."""
        ...
