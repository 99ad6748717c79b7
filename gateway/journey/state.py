"""The login journey as an explicit state machine (STYLE.md habit 12, after hydra's
``flow/flow.go``).

.. code-block:: text

    stateDiagram-v2
        [*] --> started
        started --> upstream_pending: no usable SSO session
        started --> factor_pending: session reused, factor needed
        started --> child_choice: session reused, acting for a child
        started --> consent_pending: session reused, consent needed
        started --> completed: session reused, policy allows
        upstream_pending --> upstream_pending: upstream chosen again
        upstream_pending --> upstream_done: callback accepted
        upstream_done --> factor_pending
        upstream_done --> child_choice
        upstream_done --> consent_pending
        upstream_done --> completed
        factor_pending --> child_choice
        factor_pending --> consent_pending
        factor_pending --> completed
        child_choice --> factor_pending: a rule for acting asks for a factor
        child_choice --> consent_pending
        child_choice --> completed
        consent_pending --> completed
        started --> failed
        upstream_pending --> failed
        upstream_done --> failed
        factor_pending --> failed
        child_choice --> failed
        consent_pending --> failed
        completed --> [*]
        failed --> [*]

A state is skipped when the policy needs nothing there (an SSO session skips the upstream;
remembered consent skips the consent page). ``completed`` and ``failed`` are final.
Every other move is refused by :meth:`Journey.advance`. The journey lives in the ephemeral
store (sealed, see ``codec.py``), bound to a browser cookie, and expires by TTL.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace

from gateway.core.factors import FactorChallenge
from gateway.core.types import AuthContext
from gateway.core.types import AuthorizationRequest
from gateway.core.types import JourneyKind
from gateway.core.types import UpstreamIdentity


class JourneyState(enum.StrEnum):
    STARTED = "started"
    UPSTREAM_PENDING = "upstream_pending"
    UPSTREAM_DONE = "upstream_done"
    FACTOR_PENDING = "factor_pending"
    CHILD_CHOICE = "child_choice"
    CONSENT_PENDING = "consent_pending"
    COMPLETED = "completed"
    FAILED = "failed"


S = JourneyState

TRANSITIONS: dict[JourneyState, frozenset[JourneyState]] = {
    S.STARTED: frozenset(
        {
            S.UPSTREAM_PENDING,
            S.FACTOR_PENDING,
            S.CHILD_CHOICE,
            S.CONSENT_PENDING,
            S.COMPLETED,
            S.FAILED,
        }
    ),
    S.UPSTREAM_PENDING: frozenset({S.UPSTREAM_PENDING, S.UPSTREAM_DONE, S.FAILED}),
    S.UPSTREAM_DONE: frozenset(
        {S.FACTOR_PENDING, S.CHILD_CHOICE, S.CONSENT_PENDING, S.COMPLETED, S.FAILED}
    ),
    S.FACTOR_PENDING: frozenset({S.CHILD_CHOICE, S.CONSENT_PENDING, S.COMPLETED, S.FAILED}),
    S.CHILD_CHOICE: frozenset({S.FACTOR_PENDING, S.CONSENT_PENDING, S.COMPLETED, S.FAILED}),
    S.CONSENT_PENDING: frozenset({S.COMPLETED, S.FAILED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
}
"""Legal moves: ``TRANSITIONS[from]`` is the set of states ``from`` may move to."""

FINAL_STATES = frozenset({S.COMPLETED, S.FAILED})


class IllegalTransition(Exception):
    """A move the transitions table does not allow (a programming error or tampering)."""

    def __init__(self, current: JourneyState, target: JourneyState) -> None:
        super().__init__(f"journey cannot move from {current} to {target}")
        self.current = current
        self.target = target


@dataclass(frozen=True)
class Journey:
    """One login in progress.

    :param jid: public journey id (in URLs); not enough to resume on its own.
    :param binding: keyed digest of the browser-binding cookie value.
    :param request: the validated authorization request (``authorize`` journeys).
    :param return_to: where an ``account`` journey returns (an allow-listed path).
    :param upstream: the upstream chosen, and ``upstream_state`` the state sent to it.
    :param identity: what the upstream said (personal data: the journey is sealed).
    :param subject_id: the internal subject, once known.
    :param auth: acr / amr / auth_time of this login or of the reused SSO session.
    :param sid: the reused SSO session's id (``None`` after a fresh upstream login).
    :param fresh_login: an upstream round trip happened in this journey.
    :param consent_given: the person approved on the consent page in this journey.
    :param min_acr: an ``account`` journey's required acr (vhod's own pages: the admin
        side asks for ``esia-mfa``); ``authorize`` journeys use the request's ``acr_values``.
    :param factor: the second factor started at ``factor_pending`` (a code sent, a push
        challenge waiting), ``None`` until the person picks one.
    :param acting_for: the child chosen at ``child_choice`` (internal subject id): the
        tokens will be about that child, with the person as ``act``.
    :param ready: the policy allowed; :meth:`JourneyService.finish` may complete it.
    :param failure: reason code when ``failed``.
    :param stored: this journey is in the ephemeral store (loaded from or saved to it); not
        part of the stored record itself.
    """

    jid: str
    binding: str
    created_at: float
    kind: JourneyKind = JourneyKind.AUTHORIZE
    state: JourneyState = JourneyState.STARTED
    request: AuthorizationRequest | None = None
    return_to: str | None = None
    upstream: str | None = None
    upstream_state: str | None = None
    identity: UpstreamIdentity | None = None
    subject_id: str | None = None
    auth: AuthContext | None = None
    sid: str | None = None
    fresh_login: bool = False
    consent_given: bool = False
    min_acr: str | None = None
    factor: FactorChallenge | None = None
    acting_for: str | None = None
    ready: bool = False
    failure: str | None = None
    history: tuple[JourneyState, ...] = field(default_factory=tuple)
    stored: bool = field(default=False, compare=False)

    def can_advance(self, target: JourneyState) -> bool:
        return target in TRANSITIONS[self.state]

    def advance(self, target: JourneyState) -> Journey:
        """A copy in state ``target``.

        :raises IllegalTransition: when the table does not allow the move.
        """
        if not self.can_advance(target):
            raise IllegalTransition(self.state, target)
        return replace(self, state=target, history=(*self.history, self.state))

    @property
    def client_id(self) -> str | None:
        return None if self.request is None else self.request.client_id
