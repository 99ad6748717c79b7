"""A client authentication whose store read rides on the use case's one write (issue 13).

A ``client_credentials`` request for an opaque access token makes one write to the
ephemeral store (the token's record). Its client authentication needs two small values
from the same store: the client's failure counter (``gateway.oauth.clientauth``) and the
client table's version (``gateway.oauth.client_cache``). Read first, they cost a round
trip of their own; so when this process has the client cached, the server authenticates
against the cache **assuming** the version it last saw, and this module carries the check
of that assumption to the write: the token's record is stored and the two values read in
one round trip (``EphemeralStore.put_and_get_many``), and the token is given out only if
the version is the assumed one and the client is not over its failure limit.

Only a client this process has not seen fail lately is authenticated this way
(``gateway.oauth.clientauth``: the throttle's "quiet" clients), so the secret of a client
under a guessing attack is not evaluated before its failure counter is read, beyond the
one request that shows a node the failures.

When the check fails — the client table changed since, or the client is being
throttled — the record is deleted (the token never left the process) and the use case
raises :class:`StaleAuthentication`; the provider runs the request again the ordinary way
(reads first), which gives the answer the request would have had: a disabled client's
``invalid_client``, a rotated secret's, the throttle's refusal. The same happens when the
use case ends, with an answer or an error, before its write checked anything. So what a
client is told never rests on an unchecked assumption; the event log has no
``token.issued`` for a token that was not given out (the grant logs after the write).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = [
    "DeferredCheck",
    "StaleAuthentication",
    "defer",
    "deferred_check",
    "pending",
    "unsettled",
]


class StaleAuthentication(Exception):
    """The assumption a deferred check carried did not hold: run the use case again with
    its reads first."""


@dataclass
class DeferredCheck:
    """What to read along with the use case's write, and whether the values are fine."""

    keys: Sequence[tuple[str, str]]
    accept: Callable[[list[bytes | None]], bool]
    settled: bool = False


_pending: ContextVar[DeferredCheck | None] = ContextVar("vhod_deferred_check", default=None)


@contextmanager
def deferred_check() -> Iterator[None]:
    """The scope of one use case that may defer its check (none pending at its start)."""
    token = _pending.set(None)
    try:
        yield
    finally:
        _pending.reset(token)


def defer(check: DeferredCheck) -> None:
    """Carry ``check`` to the use case's write (inside :func:`deferred_check`)."""
    _pending.set(check)


def pending() -> DeferredCheck | None:
    """The check the next write must make, if any (settled ones are not returned)."""
    check = _pending.get()
    return check if check is not None and not check.settled else None


def unsettled() -> bool:
    """A check was deferred and no write has made it yet."""
    return pending() is not None
