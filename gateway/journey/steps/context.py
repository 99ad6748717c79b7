"""Policy-context assembly: what the policy engine sees of a journey (``policies.checks``
``PolicyContext``) — the client, the request, the login, the person's account level, age
and roles, and the remembered consent — read in one read-only unit of work.

The account level and birth date come from the upstream's answer during a fresh login,
else from the subject's sealed profile (a reused SSO session). The age in years is all
that reaches the policy of the birth date. The factor step raises the journey's ``auth``
(acr and amr) when the person passes a second factor; the child choice adds ``acting_for``.

Acting for a child (``policies.delegation``): when the client asks for ``child``, the
context counts the children the person may act for there (``child_links``,
``gateway.core.children.links_for_client``); once one is chosen it names the child, the
child's age (the rules read the data subject's age) and whether the link still holds —
and the remembered consent it reads is the one given for that child.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.config.schema import ScopeSettings
from gateway.core.children import links_for_client
from gateway.core.ports import Clock
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWork
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.profiles import age_on
from gateway.core.profiles import open_profile
from gateway.core.profiles import today
from gateway.core.types import Subject
from gateway.journey.pupils import ADULT_AGE
from gateway.journey.pupils import PupilIdentities
from gateway.journey.state import Journey
from gateway.journey.steps.records import reject
from policies.checks import PolicyContext
from policies.delegation import CHILD_SCOPE


class PolicyContextBuilder:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        sealer: Sealer,
        clock: Clock,
        catalogue: Mapping[str, ScopeSettings],
        pupils: PupilIdentities | None = None,
    ) -> None:
        """:param pupils: tells identity conflicts (``gateway.journey.pupils``)."""
        self._pupils = pupils
        self._uow = uow
        self._sealer = sealer
        self._clock = clock
        self._catalogue = catalogue

    def build(self, journey: Journey, subject: Subject | None = None) -> PolicyContext:
        """The context of ``journey`` now.

        :param subject: the journey's subject when the caller just read it (one read
            fewer); else it is read with the client and the consent.
        :raises JourneyRejected: the journey has no person yet, or ``subject`` is
            someone else (``subject_missing`` / ``subject_mismatch``).
        """
        subject_id, auth = journey.subject_id, journey.auth
        if subject_id is None or auth is None:
            raise reject("subject_missing", journey.jid)
        if subject is not None and subject.subject_id != subject_id:
            raise reject("subject_mismatch", journey.jid)
        req = journey.request
        now = self._clock.now()
        with self._uow(read_only=True) as uow:
            client = None if req is None else uow.clients.get(req.client_id)
            consent = (
                None
                if req is None or journey.consent_given
                else uow.consents.active(subject_id, req.client_id, journey.acting_for)
            )
            if subject is None:
                subject = uow.subjects.get(subject_id)
            if subject is None:
                raise reject("subject_missing", journey.jid)
            if journey.identity is not None:
                level = journey.identity.account_level
                birthdate = journey.identity.attributes.get("birthdate")
            else:
                level = subject.account_level
                birthdate = open_profile(self._sealer, subject).get("birthdate")
            age = age_on(birthdate if isinstance(birthdate, str) else None, today(now))
            conflict = (
                None
                if self._pupils is None
                else self._pupils.conflict(uow, journey.identity, subject, now)
            )
            guardian_scopes = (
                None
                if req is None or age is None or age >= ADULT_AGE
                else guardian_consented_scopes(uow, subject_id, req.client_id, now)
            )
            acting = self._acting(uow, journey, now)
        return PolicyContext(
            kind=journey.kind,
            client=client,
            scopes=() if req is None else req.scopes,
            catalogue=self._catalogue,
            account_level=level,
            auth=auth,
            now=now,
            subject_id=subject_id,
            age=age,
            roles=subject.roles,
            acr_values=_acr_values(journey),
            max_age=None if req is None else req.max_age,
            prompt=() if req is None else req.prompt,
            hint_subject=None if req is None else req.id_token_hint_subject,
            consented_scopes=None if consent is None else consent.scopes,
            consent_given_now=journey.consent_given,
            guardian_consented_scopes=guardian_scopes,
            identity_conflict=conflict,
            acting_for=journey.acting_for,
            acting_for_age=acting.age,
            acting_for_linked=acting.linked,
            child_links=acting.links,
        )

    def _acting(self, uow: UnitOfWork, journey: Journey, now: float) -> _Acting:
        """The facts about acting for a child (nothing unless ``child`` was asked for or
        a child is chosen)."""
        req = journey.request
        if req is None or (CHILD_SCOPE not in req.scopes and journey.acting_for is None):
            return _Acting()
        links = links_for_client(
            uow.guardianships, uow.schools, journey.subject_id or "", req.client_id, now
        )
        if journey.acting_for is None:
            return _Acting(links=len(links))
        child = uow.subjects.get(journey.acting_for)
        birthdate = None if child is None else open_profile(self._sealer, child).get("birthdate")
        return _Acting(
            links=len(links),
            linked=any(link.child_id == journey.acting_for for link in links),
            age=age_on(birthdate if isinstance(birthdate, str) else None, today(now)),
        )


@dataclass(frozen=True)
class _Acting:
    links: int = 0
    linked: bool = False
    age: int | None = None


def guardian_consented_scopes(
    uow: UnitOfWork, child_id: str, client_id: str, now: float
) -> tuple[str, ...] | None:
    """The scopes a guardian with a usable link consented to for this child and client
    (``None`` without any such consent)."""
    consents = uow.guardian_consents.active_for_child(child_id, client_id)
    if not consents:
        return None
    guardians = {g.parent_id for g in uow.guardianships.for_child(child_id) if g.usable(now)}
    scopes = [s for c in consents if c.guardian_id in guardians for s in c.scopes]
    return tuple(dict.fromkeys(scopes)) if scopes else None


def _acr_values(journey: Journey) -> tuple[str, ...]:
    """The acr the login must reach: the request's ``acr_values``, or an ``account``
    journey's ``min_acr`` (the admin side asks for a second factor)."""
    if journey.request is not None:
        return journey.request.acr_values
    return () if journey.min_acr is None else (journey.min_acr,)
