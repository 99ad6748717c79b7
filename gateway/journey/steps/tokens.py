"""One-time step tokens: every form a journey shows (consent, the denial page's "back";
the second factor's next) carries a fresh random token, stored under a keyed digest of
(journey id, token) and consumed when the form is answered, so a form is answered once
and only from the page that showed it (a replay or a forged token is refused)."""

from __future__ import annotations

from gateway.core.errors import ReplayDetected
from gateway.core.ids import keyed_digest
from gateway.core.ids import new_code
from gateway.core.ports import EphemeralStore
from gateway.journey.state import Journey
from gateway.journey.steps.records import JourneyRecords
from gateway.journey.steps.records import reject

STEP_NAMESPACE = "journey_step"
MAX_TOKEN_LENGTH = 128


class StepTokens:
    def __init__(self, store: EphemeralStore, pepper: bytes, records: JourneyRecords) -> None:
        self._store = store
        self._pepper = pepper
        self._records = records

    def offer(self, journey: Journey) -> str:
        """A fresh token for the form ``journey`` shows now; it lives as long as the
        journey."""
        token = new_code()
        self._store.put(
            STEP_NAMESPACE, self._key(journey.jid, token), b"1", self._records.ttl_left(journey)
        )
        return token

    def use(self, journey: Journey, token: str) -> None:
        """Consume ``token``.

        :raises JourneyRejected: unknown (``step_unknown``) or used before
            (``step_replayed``).
        """
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise reject("step_unknown", journey.jid)
        try:
            used = self._store.consume(
                STEP_NAMESPACE, self._key(journey.jid, token), self._records.ttl_seconds
            )
        except ReplayDetected:
            raise reject("step_replayed", journey.jid) from None
        if used is None:
            raise reject("step_unknown", journey.jid)

    def _key(self, jid: str, token: str) -> str:
        return keyed_digest(self._pepper, "journey_step", f"{jid}:{token}")
