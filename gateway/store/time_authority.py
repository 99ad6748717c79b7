"""One time authority for every node (SECURITY.md §5 R7).

Codes, journeys, OTPs and tokens carry absolute times written by one node and judged by
another. Nodes whose clocks drift apart (a stopped NTP, a VM restored from a snapshot)
would then accept a code past its expiry, or refuse a fresh one, and stamp tokens with
``iat`` in the future. :class:`AuthorityClock` is the ``Clock`` of the serving process: the
local clock corrected by its offset to the shared store's clock — Redis ``TIME`` when the
ephemeral store is Redis, else PostgreSQL's ``clock_timestamp()`` — measured at most every
``refresh_seconds`` (half the round trip counted), so reading it costs nothing. With the
embedded SQLite default there is one node and the local clock is the authority.

If the authority cannot be reached, the last offset stays (zero before the first
measurement); whatever needs the store then fails closed anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC
from datetime import datetime

import sqlalchemy
from sqlalchemy import Engine

from gateway.core.errors import StoreUnavailable
from gateway.core.logs import log_event
from gateway.core.ports import EphemeralStore
from gateway.store.redis import RedisEphemeralStore
from gateway.store.sql.errors import sql_errors

__all__ = ["AuthorityClock", "authority_of"]

log = logging.getLogger("vhod.store")

REFRESH_SECONDS = 30.0
MAX_ROUND_TRIP = 1.0
"""A measurement whose round trip took longer says too little; the old offset stays."""


class AuthorityClock:
    """:class:`gateway.core.ports.Clock`: local time plus the offset to ``authority``."""

    def __init__(
        self,
        authority: Callable[[], float] | None = None,
        refresh_seconds: float = REFRESH_SECONDS,
        local: Callable[[], float] = time.time,
    ) -> None:
        self._authority = authority
        self._refresh = refresh_seconds
        self._local = local
        self._offset = 0.0
        self._measured_at: float | None = None

    def bind(self, authority: Callable[[], float] | None) -> None:
        """Set the authority (the stores are built after the clock)."""
        self._authority = authority
        self._measured_at = None

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> float:
        if self._authority is not None:
            due = self._measured_at is None or time.monotonic() - self._measured_at >= self._refresh
            if due:
                self._measure(self._authority)
        return self._local() + self._offset

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def _measure(self, authority: Callable[[], float]) -> None:
        self._measured_at = time.monotonic()
        before = self._local()
        try:
            told = authority()
        except StoreUnavailable as error:
            log_event(log, "clock.authority_unavailable", logging.WARNING, store=error.store)
            return
        after = self._local()
        if after - before > MAX_ROUND_TRIP:
            return
        offset = told - (before + after) / 2
        if abs(offset - self._offset) > 1.0:
            log_event(log, "clock.offset", logging.INFO, offset_seconds=round(offset, 3))
        self._offset = offset


def authority_of(engine: object, ephemeral: EphemeralStore) -> Callable[[], float] | None:
    """The shared clock of a deployment: Redis ``TIME``, else PostgreSQL's, else none."""
    if isinstance(ephemeral, RedisEphemeralStore):
        return ephemeral.server_time
    if isinstance(engine, Engine) and engine.dialect.name == "postgresql":
        database: Engine = engine

        def database_time() -> float:
            with sql_errors(), database.connect() as conn:
                value = conn.execute(
                    sqlalchemy.text("SELECT EXTRACT(EPOCH FROM clock_timestamp())")
                ).scalar_one()
            return float(value)

        return database_time
    return None
