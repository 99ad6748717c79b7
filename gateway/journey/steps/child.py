"""The child-choice step (``child_choice``): a client asked for the ``child`` scope and the
person picks which linked child to act for (DESIGN.md "Identity model": acting for a
child; issue 11 item 5; SECURITY.md T94).

The choice offers the children ``gateway.core.children.links_for_client`` returns —
verified, unexpired guardianships at a school the client is bound to — with the first
name, the school's short name and the class. With exactly one child there is nothing to
choose: that child is taken without a page (under ``prompt=none`` too). Otherwise the
page waits; under ``prompt=none`` the journey ends with ``interaction_required`` (no
choice is remembered between logins).

The form names a child by its guardianship id, checked against this person's usable
links for this client on every answer: another parent's link, an ended link and an id
that does not exist are one and the same :class:`~gateway.core.errors.NotFound` (T94).
Every form carries a one-time step token; the chosen child goes on the journey
(``acting_for``) and the policy decides again (``child_not_linked`` re-checks the link,
the consent is asked for that child).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from dataclasses import replace

from gateway.core.children import ChildClaim
from gateway.core.errors import AccessDeniedError
from gateway.core.errors import InteractionRequiredError
from gateway.core.errors import NotFound
from gateway.core.logs import log_event
from gateway.core.ports import ClaimsSource
from gateway.core.ports import UnitOfWorkFactory
from gateway.journey.account import client_name
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
from gateway.journey.steps.tokens import StepTokens
from policies.checks import Decision

log = logging.getLogger(LOGGER)

NO_CHILDREN = "no_children_linked"
MAX_LINK_ID = 64


@dataclass(frozen=True)
class ChildChoicePage:
    """What the child-choice page shows: the client, the children (first name, school,
    class; ``link_id`` is the form's value) and a fresh one-time step token."""

    jid: str
    client_name: str
    children: tuple[ChildClaim, ...]
    step_token: str


class ChildChoiceStep:
    """A :class:`~gateway.journey.steps.base.WaitingStep` in ``child_choice``."""

    state = JourneyState.CHILD_CHOICE

    def __init__(
        self,
        *,
        records: JourneyRecords,
        tokens: StepTokens,
        endings: Endings,
        uow: UnitOfWorkFactory,
        children: ClaimsSource,
    ) -> None:
        """:param children: the children a person may act for at a client."""
        self._records = records
        self._tokens = tokens
        self._endings = endings
        self._uow = uow
        self._children = children

    def enter(self, journey: Journey, decision: Decision, prompt_none: bool) -> Step | Answered:
        offered = self._offered(journey)
        if len(offered) == 1:
            return Answered(self._chosen(journey, offered[0]))
        if not offered:
            return self._endings.fail(journey, NO_CHILDREN, AccessDeniedError(debug=NO_CHILDREN))
        if prompt_none:
            return self._endings.fail(journey, decision.reason, InteractionRequiredError())
        journey = self._records.wait_in(journey, self.state)
        return step_of(StepKind.CHILD, journey, reason=decision.reason)

    def prompt(self, jid: str, binding: str) -> ChildChoicePage:
        """What the page shows now, with a fresh one-time step token."""
        journey, req = self._records.load_request(jid, binding, self.state)
        with self._uow(read_only=True) as uow:
            client = uow.clients.get(req.client_id)
        return ChildChoicePage(
            jid=jid,
            client_name=client_name(client, req.client_id),
            children=tuple(self._offered(journey)),
            step_token=self._tokens.offer(journey),
        )

    def choose(self, jid: str, binding: str, step_token: str, link_id: str) -> Answered:
        """The person picked the child of link ``link_id``: the journey acts for it and
        goes back to the policy.

        :raises NotFound: not one of this person's children offered here (T94: the same
            for another parent's child and for an id that does not exist).
        """
        journey = self._records.load_waiting(jid, binding, self.state)
        self._tokens.use(journey, step_token)
        if link_id and len(link_id) <= MAX_LINK_ID:
            for child in self._offered(journey):
                if child.link_id == link_id:
                    return Answered(self._chosen(journey, child))
        log_event(log, "child_choice.not_found", logging.WARNING, journey=jid)
        raise NotFound("no such child")

    def _offered(self, journey: Journey) -> list[ChildClaim]:
        req, subject_id = journey.request, journey.subject_id
        if req is None or subject_id is None:
            raise reject("subject_missing", journey.jid)
        return self._children.children(subject_id, req.client_id)

    @staticmethod
    def _chosen(journey: Journey, child: ChildClaim) -> Journey:
        log_event(log, "child_choice.chosen", journey=journey.jid, client_id=journey.client_id)
        return replace(journey, acting_for=child.child_id, consent_given=False)
