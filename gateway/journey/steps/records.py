"""Where a journey waits between requests: sealed in the ephemeral store (``codec.py``),
bound to one browser, for ``session.journey_ttl_seconds`` from its start.

Binding: the journey stores the keyed digest of the browser's journey-cookie value and
every load compares it in constant time, so a journey id alone (it is in URLs) resumes
nothing (SECURITY.md T90). :meth:`JourneyRecords.load_waiting` is the guard of every
step that waits for the person: the journey must be waiting in that step's state.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

from gateway.core.errors import JourneyRejected
from gateway.core.errors import ReplayDetected
from gateway.core.ids import constant_time_equals
from gateway.core.ids import keyed_digest
from gateway.core.ids import new_id
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import Sealer
from gateway.core.types import AuthorizationRequest
from gateway.core.types import JourneyKind
from gateway.journey import codec
from gateway.journey.state import Journey
from gateway.journey.state import JourneyState

LOGGER = "gateway.journey.service"
"""One logger for every journey event, whichever step logs it (operators filter on it)."""
log = logging.getLogger(LOGGER)

JOURNEY_NAMESPACE = "journey"
MAX_JID_LENGTH = 64


def reject(reason: str, jid: str | None = None) -> JourneyRejected:
    """The journey cannot be resumed at all: logged with its reason code; the person sees
    one generic page and nothing reaches the client."""
    log_event(log, "journey.rejected", logging.WARNING, reason=reason, journey=jid)
    return JourneyRejected(reason)


class JourneyRecords:
    """Save, load and consume journeys; the browser binding and the journey's TTL."""

    def __init__(
        self,
        store: EphemeralStore,
        sealer: Sealer,
        clock: Clock,
        pepper: bytes,
        ttl_seconds: int,
    ) -> None:
        self._store = store
        self._sealer = sealer
        self._clock = clock
        self._pepper = pepper
        self.ttl_seconds = ttl_seconds
        """The journey's lifetime; also how long one-time tombstones are kept."""

    def bind(self, binding: str) -> str:
        """The keyed digest a journey stores of its browser's cookie value."""
        return keyed_digest(self._pepper, "journey_binding", binding)

    def start(
        self,
        binding: str,
        *,
        request: AuthorizationRequest | None = None,
        kind: JourneyKind = JourneyKind.AUTHORIZE,
        return_to: str | None = None,
        min_acr: str | None = None,
    ) -> Journey:
        """A new journey of this browser, starting now (not stored yet)."""
        return Journey(
            jid=new_id(),
            binding=self.bind(binding),
            created_at=self._clock.now(),
            kind=kind,
            request=request,
            return_to=return_to,
            min_acr=min_acr,
        )

    def ttl_left(self, journey: Journey) -> int:
        """Whole seconds ``journey`` has left (at least 1).

        :raises JourneyRejected: it has expired.
        """
        left = journey.created_at + self.ttl_seconds - self._clock.now()
        if left <= 0:
            raise reject("journey_expired", journey.jid)
        return max(1, math.ceil(left))

    def wait_in(self, journey: Journey, state: JourneyState) -> Journey:
        """Store ``journey`` waiting in ``state`` (moved there unless it already is) —
        the ``enter`` of every waiting step."""
        if journey.state is not state:
            journey = journey.advance(state)
        return self.save(journey)

    def save(self, journey: Journey) -> Journey:
        """Store ``journey``; the same journey, marked as stored."""
        self._store.put(*self.entry(journey))
        return replace(journey, stored=True)

    def save_with(self, journey: Journey, *others: tuple[str, str, bytes, int]) -> Journey:
        """:meth:`save`, and the ``others`` (``put_many`` items) in the same round trip."""
        self._store.put_many([*others, self.entry(journey)])
        return replace(journey, stored=True)

    def entry(self, journey: Journey) -> tuple[str, str, bytes, int]:
        """``journey`` as an ephemeral-store item (namespace, key, sealed value, TTL)."""
        return (
            JOURNEY_NAMESPACE,
            journey.jid,
            codec.encode(journey, self._sealer),
            self.ttl_left(journey),
        )

    def load(self, jid: str, binding: str) -> Journey:
        """The stored journey ``jid`` of this browser.

        :raises JourneyRejected: unknown, expired, unreadable or another browser's.
        """
        if not jid or len(jid) > MAX_JID_LENGTH:
            raise reject("journey_unknown")
        raw = self._store.get(JOURNEY_NAMESPACE, jid)
        if raw is None:
            raise reject("journey_unknown", jid)
        try:
            journey = replace(codec.decode(raw, jid, self._sealer), stored=True)
        except codec.JourneyDecodeError:
            raise reject("journey_invalid", jid) from None
        return self.check_binding(journey, binding)

    def load_waiting(self, jid: str, binding: str, state: JourneyState) -> Journey:
        """:meth:`load`, and the journey must be waiting in ``state`` (a step's page is
        answered only while the journey is at that step; T83).

        :raises JourneyRejected: as :meth:`load`, or ``step_out_of_order``.
        """
        journey = self.load(jid, binding)
        if journey.state is not state:
            raise reject("step_out_of_order", jid)
        return journey

    def load_request(
        self, jid: str, binding: str, state: JourneyState
    ) -> tuple[Journey, AuthorizationRequest]:
        """:meth:`load_waiting` for a page about a client's request (consent, child
        choice): the journey and its request.

        :raises JourneyRejected: as :meth:`load_waiting`, or a journey without a request.
        """
        journey = self.load_waiting(jid, binding, state)
        if journey.request is None:
            raise reject("step_out_of_order", jid)
        return journey, journey.request

    def check_binding(self, journey: Journey, binding: str) -> Journey:
        """``journey`` if ``binding`` is its browser's and it has not expired."""
        if not binding or not constant_time_equals(journey.binding, self.bind(binding)):
            raise reject("binding_mismatch", journey.jid)
        self.ttl_left(journey)
        return journey

    def delete(self, jid: str) -> None:
        self._store.delete(JOURNEY_NAMESPACE, jid)

    def consume(self, jid: str) -> None:
        """Take the stored journey out, once (its tombstone refuses a second take).

        :raises JourneyRejected: taken before (``journey_replayed``) or gone meanwhile —
            ended by another request, or expired (``journey_unknown``).
        """
        try:
            taken = self._store.consume(JOURNEY_NAMESPACE, jid, self.ttl_seconds)
        except ReplayDetected:
            raise reject("journey_replayed", jid) from None
        if taken is None:
            raise reject("journey_unknown", jid)
