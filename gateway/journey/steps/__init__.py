"""The login journey's steps, one small unit each (DESIGN.md "Journey", "One login, file
by file"); :class:`~gateway.journey.service.JourneyService` is the thin façade over them
that the HTTP layer calls.

===================  ==========================  ===========================================
module               unit                        journey states it moves
===================  ==========================  ===========================================
``records``          :class:`JourneyRecords`     — (sealed store, browser binding, TTL)
``tokens``           :class:`StepTokens`         — (one-time tokens of every form)
``base``             :class:`Endings`, ``Step``  any → ``failed``
``upstream``         :class:`UpstreamStep`       ``started`` → ``upstream_pending`` →
                                                 ``upstream_done``
``sso``              :class:`SsoStep`            ``started`` on a reused session; the session
                                                 a finished journey ends in
``context``          :class:`PolicyContextBuilder`  — (what the policy sees)
``decide``           :class:`Decisions`          the policy's decision → the next step
``consent``          :class:`ConsentStep`        → ``consent_pending`` → (policy)
``factor``           :class:`FactorStep`         → ``factor_pending`` → (policy)
``child``            :class:`ChildChoiceStep`    → ``child_choice`` → (policy)
``denial``           :class:`DenialPage`         → ``failed`` with a page for the person
``finish``           :class:`FinishStep`         → ``completed``
===================  ==========================  ===========================================

Where wave 2 plugs in: a step that waits for the person implements
:class:`~gateway.journey.steps.base.WaitingStep` (its ``state``, ``enter`` from the
policy's decision, and its own answer methods returning
:class:`~gateway.journey.steps.base.Answered` or an ending ``Step``). The second factor
(``factor_pending``, decision ``require_factor``) fills its slot when the composition root
passes :class:`~gateway.core.factors.SecondFactors` (without them: ``NotOffered``); the child
choice (``child_choice``, decision ``choose_child``) is :class:`ChildChoiceStep`, fed by
``gateway.core.children.links_for_client`` through :class:`SubjectClaims`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.config.schema import GatewayConfig
from gateway.core.factors import SecondFactors
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.ports import UpstreamProvider
from gateway.journey.claims import SubjectClaims
from gateway.journey.guardianship import GuardianshipLinker
from gateway.journey.guardianship import LinkProblems
from gateway.journey.pupils import PupilIdentities
from gateway.journey.sessions import EphemeralSsoSessions
from gateway.journey.state import JourneyState
from gateway.journey.steps.base import Endings
from gateway.journey.steps.base import WaitingStep
from gateway.journey.steps.child import ChildChoiceStep
from gateway.journey.steps.consent import ConsentStep
from gateway.journey.steps.context import PolicyContextBuilder
from gateway.journey.steps.decide import Decisions
from gateway.journey.steps.decide import NotOffered
from gateway.journey.steps.denial import DenialPage
from gateway.journey.steps.factor import FactorStep
from gateway.journey.steps.finish import FinishStep
from gateway.journey.steps.records import JourneyRecords
from gateway.journey.steps.sso import SsoStep
from gateway.journey.steps.tokens import StepTokens
from gateway.journey.steps.upstream import UpstreamStep
from gateway.journey.subjects import SubjectResolver
from policies.checks import Action
from policies.engine import PolicyEngine


@dataclass(frozen=True)
class JourneySteps:
    """The journey's units, built once (:func:`build_journey_steps`)."""

    records: JourneyRecords
    tokens: StepTokens
    endings: Endings
    upstream: UpstreamStep
    sso: SsoStep
    consent: ConsentStep
    denial: DenialPage
    context: PolicyContextBuilder
    decisions: Decisions
    finish: FinishStep
    child: ChildChoiceStep | None = None
    """The child choice (``choose_child``)."""
    factor: FactorStep | None = None
    """``None`` while no second factors are wired (the ``require_factor`` slot refuses)."""


def build_journey_steps(
    *,
    store: EphemeralStore,
    uow: UnitOfWorkFactory,
    sealer: Sealer,
    clock: Clock,
    pepper: bytes,
    config: GatewayConfig,
    upstreams: Mapping[str, UpstreamProvider],
    policy: PolicyEngine,
    sessions: EphemeralSsoSessions,
    factors: SecondFactors | None = None,
) -> JourneySteps:
    """Every step with just the ports it uses.

    :raises ValueError: no upstream provider.
    """
    records = JourneyRecords(store, sealer, clock, pepper, config.session.journey_ttl_seconds)
    pupils = PupilIdentities(sealer)
    linker = GuardianshipLinker(uow, sealer, clock, pepper, LinkProblems(store, sealer), pupils)
    tokens = StepTokens(store, pepper, records)
    endings = Endings(records, uow, clock, pepper)
    upstream = UpstreamStep(
        store=store,
        records=records,
        endings=endings,
        uow=uow,
        clock=clock,
        issuer=config.server.issuer,
        upstreams=upstreams,
        resolver=SubjectResolver(sealer, pepper, pupils),
        linker=linker,
    )
    sso = SsoStep(sessions)
    consent = ConsentStep(
        records=records,
        tokens=tokens,
        endings=endings,
        uow=uow,
        sealer=sealer,
        clock=clock,
        pepper=pepper,
        policy=policy,
    )
    denial = DenialPage(records, tokens, endings)
    factor = (
        None
        if factors is None
        else FactorStep(
            records=records,
            tokens=tokens,
            endings=endings,
            uow=uow,
            sealer=sealer,
            clock=clock,
            pepper=pepper,
            factors=factors,
        )
    )
    child = ChildChoiceStep(
        records=records,
        tokens=tokens,
        endings=endings,
        uow=uow,
        children=SubjectClaims(uow, sealer, config.scopes, clock),
    )
    waiting: dict[Action, WaitingStep] = {
        Action.REQUIRE_CONSENT: consent,
        Action.REQUIRE_FACTOR: factor or NotOffered(JourneyState.FACTOR_PENDING, endings),
        Action.CHOOSE_CHILD: child,
    }
    context = PolicyContextBuilder(uow, sealer, clock, config.scopes, pupils)
    decisions = Decisions(policy, context, waiting, denial)
    finish = FinishStep(records=records, sso=sso, uow=uow, clock=clock, pepper=pepper)
    return JourneySteps(
        records,
        tokens,
        endings,
        upstream,
        sso,
        consent,
        denial,
        context,
        decisions,
        finish,
        child=child,
        factor=factor,
    )
