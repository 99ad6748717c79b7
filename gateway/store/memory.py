"""``MemoryEphemeralStore``: the ephemeral store in process memory, for unit tests only.

It follows the same contract as the Redis and SQL backends (the contract suite in
``tests/contract`` runs against all three) and takes its time from an injected
:class:`~gateway.core.ports.Clock`, so tests move time with ``FixedClock`` instead of
sleeping. It is not shared between processes and forgets everything on restart, which is
why production mode refuses it: single use and rate limits would not hold across workers.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.core.errors import ReplayDetected
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.store._checks import check_amount
from gateway.store._checks import check_namespace
from gateway.store._checks import check_ttl

_SWEEP_EVERY_WRITES = 1024


@dataclass
class _Entry:
    value: bytes
    expires_at: float
    consumed: bool = False
    counter: bool = False


class MemoryEphemeralStore:
    """A dict behind a lock. Counters read back (``get``) as decimal ASCII, as in Redis."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._writes = 0

    def put(self, namespace: str, key: str, value: bytes, ttl_seconds: int) -> None:
        check_namespace(namespace)
        check_ttl(ttl_seconds)
        with self._lock:
            now = self._clock.now()
            self._entries[(namespace, key)] = _Entry(bytes(value), now + ttl_seconds)
            self._after_write(now)

    def put_many(self, items: Sequence[tuple[str, str, bytes, int]]) -> None:
        for namespace, _, _, ttl_seconds in items:
            check_namespace(namespace)
            check_ttl(ttl_seconds)
        with self._lock:
            now = self._clock.now()
            for namespace, key, value, ttl_seconds in items:
                self._entries[(namespace, key)] = _Entry(bytes(value), now + ttl_seconds)
            self._after_write(now)

    def get(self, namespace: str, key: str) -> bytes | None:
        check_namespace(namespace)
        with self._lock:
            entry = self._live(namespace, key, self._clock.now())
            if entry is None or entry.consumed:
                return None
            return entry.value

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[bytes | None]:
        return [self.get(namespace, key) for namespace, key in keys]

    def put_and_get_many(
        self, item: tuple[str, str, bytes, int], keys: Sequence[tuple[str, str]]
    ) -> list[bytes | None]:
        self.put(*item)
        return self.get_many(keys)

    def delete(self, namespace: str, key: str) -> bool:
        check_namespace(namespace)
        with self._lock:
            live = self._live(namespace, key, self._clock.now()) is not None
            self._entries.pop((namespace, key), None)
            return live

    def consume(self, namespace: str, key: str, tombstone_ttl_seconds: int) -> bytes | None:
        check_namespace(namespace)
        check_ttl(tombstone_ttl_seconds, "tombstone_ttl_seconds")
        with self._lock:
            now = self._clock.now()
            entry = self._live(namespace, key, now)
            if entry is None:
                return None
            if entry.consumed:
                raise ReplayDetected(namespace, value=entry.value)
            entry.consumed = True
            entry.expires_at = now + tombstone_ttl_seconds
            self._after_write(now)
            return entry.value

    def incr(self, namespace: str, key: str, ttl_seconds: int, amount: int = 1) -> int:
        check_namespace(namespace)
        check_ttl(ttl_seconds)
        check_amount(amount)
        with self._lock:
            now = self._clock.now()
            entry = self._live(namespace, key, now)
            if entry is None or entry.consumed or not entry.counter:
                total = amount
                self._entries[(namespace, key)] = _Entry(
                    str(total).encode(), now + ttl_seconds, counter=True
                )
            else:
                total = int(entry.value) + amount
                entry.value = str(total).encode()
            self._after_write(now)
            return total

    def ping(self) -> None:
        return None

    def _live(self, namespace: str, key: str, now: float) -> _Entry | None:
        entry = self._entries.get((namespace, key))
        if entry is None:
            return None
        if entry.expires_at <= now:
            del self._entries[(namespace, key)]
            return None
        return entry

    def _after_write(self, now: float) -> None:
        # Drop expired entries now and then so a long test run does not grow without bound.
        self._writes += 1
        if self._writes % _SWEEP_EVERY_WRITES == 0:
            expired = [k for k, e in self._entries.items() if e.expires_at <= now]
            for k in expired:
                del self._entries[k]


_: type[EphemeralStore] = MemoryEphemeralStore
