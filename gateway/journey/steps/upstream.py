"""The upstream step: send the browser to the upstream, accept its callback, resolve the
person (``started`` → ``upstream_pending`` → ``upstream_done``).

:meth:`UpstreamStep.start` picks the upstream (the first configured; there is no chooser
page while vhod has one upstream) and returns an ``UPSTREAM`` step carrying the
upstream's authorization URL with a fresh UUID ``state`` mapped to the journey, so
/authorize sends the browser straight there, in one request and one journey write.

:meth:`UpstreamStep.complete` finds the journey through ``state`` — consumed: a replay
is refused — and it must be this browser's and waiting for this upstream with this very
``state`` (SECURITY.md T90); the upstream's refusal or outage ends the journey with
``access_denied`` / ``temporarily_unavailable``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from gateway.config.schema import ACR_ESIA
from gateway.core.errors import AccessDeniedError
from gateway.core.errors import ReplayDetected
from gateway.core.errors import TemporarilyUnavailableError
from gateway.core.errors import UpstreamDenied
from gateway.core.errors import UpstreamError
from gateway.core.errors import UpstreamUnavailable
from gateway.core.ids import constant_time_equals
from gateway.core.ids import new_uuid
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.ports import UpstreamProvider
from gateway.core.types import AuthContext
from gateway.journey.guardianship import GuardianshipLinker
from gateway.journey.state import Journey
from gateway.journey.state import JourneyState
from gateway.journey.steps.base import Answered
from gateway.journey.steps.base import Endings
from gateway.journey.steps.base import Step
from gateway.journey.steps.base import StepKind
from gateway.journey.steps.base import step_of
from gateway.journey.steps.records import LOGGER
from gateway.journey.steps.records import JourneyRecords
from gateway.journey.steps.records import reject
from gateway.journey.subjects import SubjectResolver

log = logging.getLogger(LOGGER)

UPSTREAM_STATE_NAMESPACE = "upstream_state"
MAX_STATE_LENGTH = 128


class UpstreamStep:
    def __init__(
        self,
        *,
        store: EphemeralStore,
        records: JourneyRecords,
        endings: Endings,
        uow: UnitOfWorkFactory,
        clock: Clock,
        issuer: str,
        upstreams: Mapping[str, UpstreamProvider],
        resolver: SubjectResolver,
        linker: GuardianshipLinker | None = None,
    ) -> None:
        """:param linker: links a parent's kids to roster entries after the person is
        resolved (``gateway.journey.guardianship``)."""
        if not upstreams:
            raise ValueError("at least one upstream provider is needed")
        self._store = store
        self._records = records
        self._endings = endings
        self._uow = uow
        self._clock = clock
        self._issuer = issuer
        self._upstreams = dict(upstreams)
        self._resolver = resolver
        self._linker = linker

    def callback_uri(self, provider: str) -> str:
        """The one fixed callback URI registered at the upstream."""
        return f"{self._issuer}/login/callback/{provider}"

    def start(self, journey: Journey) -> Step:
        """The ``UPSTREAM`` step of a new journey: a fresh ``state`` mapped to the journey,
        and the (first) upstream's authorization URL."""
        name, upstream = next(iter(self._upstreams.items()))
        state = new_uuid()
        ttl = self._records.ttl_left(journey)
        # The state → journey mapping and the journey, written together (one round trip).
        journey = self._records.save_with(
            replace(
                journey.advance(JourneyState.UPSTREAM_PENDING), upstream=name, upstream_state=state
            ),
            (UPSTREAM_STATE_NAMESPACE, state, journey.jid.encode(), ttl),
        )
        log_event(log, "journey.upstream_started", upstream=name, journey=journey.jid)
        url = upstream.authorization_url(state, _scopes(journey), self.callback_uri(name))
        return replace(step_of(StepKind.UPSTREAM, journey), location=url)

    def complete(self, provider: str, params: dict[str, str], binding: str) -> Answered | Step:
        """Accept the upstream's callback: the journey ``upstream_done`` with the person
        resolved (a fresh login), or the ``ERROR`` step when the upstream refused.

        :raises JourneyRejected: ``state`` missing, unknown, replayed or not this
            journey's; another browser's journey; an unknown upstream.
        """
        journey, state = self._waiting(provider, params, binding)
        upstream = self._upstreams.get(provider)
        if upstream is None:
            raise reject("upstream_unknown", journey.jid)
        try:
            identity = upstream.complete(
                params, state, self.callback_uri(provider), _scopes(journey)
            )
        except UpstreamDenied as exc:
            reason = f"upstream_denied:{exc.reason}"
            return self._endings.fail(journey, reason, AccessDeniedError())
        except UpstreamUnavailable as exc:
            reason = f"upstream_unavailable:{exc.reason}"
            return self._endings.fail(journey, reason, TemporarilyUnavailableError())
        except UpstreamError as exc:
            log_event(
                log, "upstream.rejected", logging.WARNING, reason=exc.reason, journey=journey.jid
            )
            reason = f"upstream_protocol:{exc.reason}"
            return self._endings.fail(journey, reason, AccessDeniedError())
        now = self._clock.now()
        subject, _ = self._resolver.resolve(self._uow, identity, now)
        if self._linker is not None and self._linker.wanted(identity, _scopes(journey)):
            self._linker.link(subject, identity)
        auth = AuthContext(acr=ACR_ESIA, amr=identity.amr, auth_time=int(now))
        journey = replace(
            journey.advance(JourneyState.UPSTREAM_DONE),
            identity=identity,
            subject_id=subject.subject_id,
            auth=auth,
            sid=None,
            upstream_state=None,
            fresh_login=True,
        )
        return Answered(journey, subject)

    def _waiting(
        self, provider: str, params: Mapping[str, str], binding: str
    ) -> tuple[Journey, str]:
        """The journey the callback's ``state`` names (the mapping consumed), and the
        ``state``."""
        state = params.get("state", "")
        if not state:
            raise reject("state_missing")
        if len(state) > MAX_STATE_LENGTH:
            raise reject("state_invalid")
        try:
            raw = self._store.consume(UPSTREAM_STATE_NAMESPACE, state, self._records.ttl_seconds)
        except ReplayDetected:
            raise reject("state_replayed") from None
        if raw is None:
            raise reject("state_unknown")
        jid = raw.decode()
        journey = self._records.load(jid, binding)
        if (
            journey.state is not JourneyState.UPSTREAM_PENDING
            or journey.upstream != provider
            or not constant_time_equals(journey.upstream_state or "", state)
        ):
            raise reject("state_mismatch", jid)
        return journey, state


def _scopes(journey: Journey) -> tuple[str, ...]:
    """The client's scopes, from which an upstream derives its own (none for vhod's own
    pages)."""
    return () if journey.request is None else journey.request.scopes
