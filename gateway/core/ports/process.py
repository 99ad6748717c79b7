"""Process-wide ports: time and the resources the composition root owns."""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch. Example: ``return time.time()``."""
        ...


class RestoreEpoch(Protocol):
    """The not-before epoch set after a database restore (SECURITY.md §5 R15): tokens,
    grants and consents issued before it are dead. Kept where a restore cannot roll it
    back (``gateway.store.restore_epoch``)."""

    def not_before(self) -> float:
        """Seconds since the epoch; ``0.0`` when no restore was declared."""
        ...

    def bump(self, at: float) -> float:
        """Declare a restore: the epoch becomes ``at`` (rounded up to a whole second;
        never lower)."""
        ...


class Disposable(Protocol):
    """A process-wide resource the composition root owns (the SQL engine's pool)."""

    def dispose(self) -> None:
        """Close it (at process exit, or before ``vhod serve`` forks its workers)."""
        ...
