"""Registered clients, cached per process, invalidated across processes at once.

Every token, introspection and revocation request authenticates a client, and reading it
from the durable store was a fifth of such a request's CPU. :class:`ClientCache` keeps the
clients a process has seen, each with the **version** of the client table it was read
under. The version is a counter in the ephemeral store (shared by every process and node):
every unit of work that writes a client increments it after its commit
(:func:`bump_client_version`, wired by the composition root as the unit of work's hook),
and every use case reads it once before trusting a cached client. So a disabled client, a
rotated secret or a removed redirect URI counts for the next request on every node, as
before (SECURITY.md T97), and the read that replaces the database query is one ephemeral
``get`` of a few bytes.

When the counter cannot be incremented (the ephemeral store is down at the moment of an
admin change; the change itself is committed), processes would trust their copy until the
counter moves again. ``max_age`` bounds that: no cached client is older than it (30 s).
Unknown ids are cached too (as "no such client"), within a bounded number of entries, so
guessing ids costs no database reads; registering a client moves the version as any
other write does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from gateway.core.errors import StoreUnavailable
from gateway.core.logs import log_event
from gateway.core.ports import EphemeralStore
from gateway.core.types import Client
from gateway.oauth.context import OAuthContext

log = logging.getLogger(__name__)

NS_CLIENT_VERSION = "client_version"
VERSION_KEY = "all"
VERSION_TTL_SECONDS = 90 * 86400
"""The counter outlives any deployment's quiet spell; if it does expire, the version reads
as absent, which differs from every cached version, so nothing stale survives it."""
VERSION = (NS_CLIENT_VERSION, VERSION_KEY)
"""Where the version lives, for a caller that reads it along with other values."""
MAX_AGE_SECONDS = 30.0
MAX_ENTRIES = 4096


def bump_client_version(ephemeral: EphemeralStore) -> Callable[[], None]:
    """The hook a unit of work runs after committing a client write."""

    def bump() -> None:
        try:
            ephemeral.incr(NS_CLIENT_VERSION, VERSION_KEY, VERSION_TTL_SECONDS)
        except StoreUnavailable as error:
            log_event(
                log,
                "client_cache.bump_failed",
                logging.WARNING,
                store=error.store,
                max_age_seconds=MAX_AGE_SECONDS,
            )

    return bump


class ClientCache:
    """``get(client_id, version)`` → the client as of ``version`` (see the module
    docstring); ``version()`` reads the current one."""

    def __init__(
        self,
        ctx: OAuthContext,
        *,
        max_age: float = MAX_AGE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """:param ctx: its stores are looked up on each use (tests swap them)."""
        self._ctx = ctx
        self._max_age = max_age
        self._monotonic = monotonic
        self._entries: dict[str, tuple[bytes | None, float, Client | None]] = {}
        self._lock = threading.Lock()
        self._seen: bytes | None = None

    def version(self) -> bytes | None:
        """The client table's current version (one ephemeral read)."""
        return self.seen(self._ctx.ephemeral.get(*VERSION))

    def seen(self, version: bytes | None) -> bytes | None:
        """Note ``version`` as the latest read from the store (and return it)."""
        self._seen = version
        return version

    def assumed(self, client_id: str) -> tuple[bytes, Client] | None:
        """The version last read and the client as cached under it, when there are both
        and the entry is within ``max_age`` — what a deferred check
        (``gateway.oauth.deferred``) may assume until its write reads the real version."""
        version = self._seen
        entry = self._entries.get(client_id)
        if version is None or entry is None or entry[0] != version or entry[2] is None:
            return None
        if self._monotonic() - entry[1] >= self._max_age:
            return None
        return version, entry[2]

    def get(self, client_id: str, version: bytes | None) -> Client | None:
        """The client (``None``: no such client), read from the durable store unless this
        process read it under the same ``version`` less than ``max_age`` ago."""
        now = self._monotonic()
        entry = self._entries.get(client_id)
        if entry is not None and entry[0] == version and now - entry[1] < self._max_age:
            return entry[2]
        with self._ctx.uow(read_only=True) as uow:
            client = uow.clients.get(client_id)
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[client_id] = (version, now, client)
        return client
