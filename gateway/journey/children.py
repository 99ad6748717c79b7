"""«Мои дети» on ``/account`` as a use case: the parent's linked children, unlinking, the
kids that did not match (what differs and what to do), and guardian consents for a
child's own login to a school system (issue 11 items 3 and 4).

Every action names a link by its guardianship id and is checked against the signed-in
parent: another parent's link, an ended link and an id that does not exist are one and the
same "not found" (SECURITY.md T94). Unlinking ends the link (status ``ended``) and
withdraws this parent's guardian consents for the child; ``guardianship.unlinked``,
``guardian_consent.granted`` and ``guardian_consent.revoked`` are audited with digests.

What a child choice, a token exchange and the ``children`` claim offer is
``gateway.core.children.links_for_client`` (usable links at the client's schools).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.core.audit import audit
from gateway.core.children import GuardianConsent
from gateway.core.children import Guardianship
from gateway.core.children import GuardianshipStatus
from gateway.core.errors import NotFound
from gateway.core.ids import new_id
from gateway.core.ids import subject_digest
from gateway.core.ports import Clock
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWork
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.profiles import age_on
from gateway.core.profiles import open_profile
from gateway.core.profiles import today
from gateway.journey.guardianship import LinkProblem
from gateway.journey.guardianship import LinkProblems

GUARDIAN_CONSENT_AGE = 14
"""Below this age only a guardian consents for a pupil's own login (DESIGN.md)."""
NOT_CONSENTABLE = frozenset({"children", "child", "roster"})
"""Scopes a guardian consent never covers (a pupil has no children, acts for nobody)."""


@dataclass(frozen=True)
class SchoolSystem:
    client_id: str
    name: str
    consented: bool


@dataclass(frozen=True)
class ChildView:
    """One linked child as the parent's page shows it (personal data: page only)."""

    guardianship_id: str
    given_name: str
    school_name: str
    class_name: str
    evidence: str
    age: int | None
    systems: tuple[SchoolSystem, ...]
    """School systems of the child's school; consent is offered while under 14."""

    @property
    def needs_guardian_consent(self) -> bool:
        return self.age is not None and self.age < GUARDIAN_CONSENT_AGE


@dataclass(frozen=True)
class ChildrenView:
    children: tuple[ChildView, ...]
    problems: tuple[LinkProblem, ...]
    expired: tuple[str, ...] = ()
    """First names of children whose link ended at their 18th birthday."""


class ChildrenAccount:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        sealer: Sealer,
        clock: Clock,
        pepper: bytes,
        problems: LinkProblems,
    ) -> None:
        self._uow = uow
        self._sealer = sealer
        self._clock = clock
        self._pepper = pepper
        self._problems = problems

    def overview(self, parent_id: str) -> ChildrenView:
        now = self._clock.now()
        views: list[ChildView] = []
        with self._uow(read_only=True) as uow:
            consents = {
                (c.child_id, c.client_id) for c in uow.guardian_consents.for_guardian(parent_id)
            }
            expired: list[str] = []
            for link in uow.guardianships.for_parent(parent_id):
                if _ended_at_18(link, now):
                    child = uow.subjects.get(link.child_id)
                    profile = {} if child is None else open_profile(self._sealer, child)
                    expired.append(str(profile.get("given_name", "")))
                if not link.usable(now):
                    continue
                views.append(self._view(uow, link, consents, now))
        return ChildrenView(tuple(views), tuple(self._problems.recall(parent_id)), tuple(expired))

    def _view(
        self, uow: UnitOfWork, link: Guardianship, consents: set[tuple[str, str]], now: float
    ) -> ChildView:
        child = uow.subjects.get(link.child_id)
        profile = {} if child is None else open_profile(self._sealer, child)
        school = None if link.school_id is None else uow.schools.get(link.school_id)
        entry = None if link.roster_entry_id is None else uow.rosters.get(link.roster_entry_id)
        systems = []
        for client_id in () if school is None else school.client_ids:
            client = uow.clients.get(client_id)
            if client is None or client.disabled:
                continue
            consented = (link.child_id, client_id) in consents
            systems.append(SchoolSystem(client_id, client.name or client_id, consented))
        birthdate = profile.get("birthdate")
        return ChildView(
            guardianship_id=link.guardianship_id,
            given_name=str(profile.get("given_name", "")),
            school_name="" if school is None else school.short_name,
            class_name="" if entry is None else entry.class_name,
            evidence=str(link.evidence),
            age=age_on(birthdate if isinstance(birthdate, str) else None, today(now)),
            systems=tuple(systems),
        )

    def unlink(self, parent_id: str, guardianship_id: str) -> None:
        """End the parent's link and their guardian consents for the child.

        :raises NotFound: no usable link of this parent with this id (T94).
        """
        now = self._clock.now()
        with self._uow() as uow:
            link = self._own(uow, parent_id, guardianship_id, now)
            uow.guardianships.end(link.guardianship_id, now, GuardianshipStatus.ENDED)
            for consent in uow.guardian_consents.for_guardian(parent_id):
                if consent.child_id == link.child_id:
                    uow.guardian_consents.revoke(parent_id, link.child_id, consent.client_id, now)
            audit(
                uow,
                now,
                "guardianship.unlinked",
                parent=subject_digest(self._pepper, parent_id),
                child=subject_digest(self._pepper, link.child_id),
                by="guardian",
            )
            uow.commit()

    def set_consent(
        self, parent_id: str, guardianship_id: str, client_id: str, granted: bool
    ) -> None:
        """Grant or withdraw the parent's consent that ``client_id`` (a system of the
        child's school) serves the child's own login.

        :raises NotFound: not this parent's usable link, or not a system of that school.
        """
        now = self._clock.now()
        with self._uow() as uow:
            link = self._own(uow, parent_id, guardianship_id, now)
            school = None if link.school_id is None else uow.schools.get(link.school_id)
            client = uow.clients.get(client_id)
            if school is None or client is None or client_id not in school.client_ids:
                raise NotFound("no such child")
            fields = {
                "guardian": subject_digest(self._pepper, parent_id),
                "child": subject_digest(self._pepper, link.child_id),
                "client_id": client_id,
            }
            if granted:
                scopes = tuple(s for s in client.scopes if s not in NOT_CONSENTABLE)
                uow.guardian_consents.grant(
                    GuardianConsent(new_id(), parent_id, link.child_id, client_id, scopes, now)
                )
                audit(uow, now, "guardian_consent.granted", **fields)
            else:
                uow.guardian_consents.revoke(parent_id, link.child_id, client_id, now)
                audit(uow, now, "guardian_consent.revoked", **fields)
            uow.commit()

    @staticmethod
    def _own(uow: UnitOfWork, parent_id: str, guardianship_id: str, now: float) -> Guardianship:
        link = uow.guardianships.get(guardianship_id) if len(guardianship_id) <= 64 else None
        if link is None or link.parent_id != parent_id or not link.usable(now):
            raise NotFound("no such child")
        return link


def _ended_at_18(link: Guardianship, now: float) -> bool:
    """Ended by age: expired by the job, or verified but past the 18th birthday."""
    return link.status is GuardianshipStatus.EXPIRED or (
        link.status is GuardianshipStatus.VERIFIED and now >= link.ends_at
    )
