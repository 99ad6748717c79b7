"""Pupils' own logins: one person, one subject, found through the SNILS blind index.

A child first becomes known to vhod either through a parent's ESIA kids list
(:mod:`gateway.journey.guardianship` creates the child's subject) or through their own
login (a child account ``KD`` or a teenager's confirmed account). Either way the subject
carries the blind index of the SNILS (``uow.person_index``), so the other way in finds the
same subject — never a new person:

* :meth:`PupilIdentities.claim` — a minor's login (a child account, or a birth date under
  18 years ago) whose upstream identity is not attached yet but whose SNILS index names a
  subject: the identity is attached to that subject. Never for an adult nor for anyone
  with children: a parent's identity is not bound to a pupil record.
* :meth:`PupilIdentities.remember` — a new subject with a SNILS gets the index.
* :meth:`PupilIdentities.conflict` — for the policy context: ``parent_as_pupil`` (a parent
  whose SNILS is held by another subject — a pupil record) or ``child_account_parent``
  (a child account that lists children or holds the parent role); ``None`` otherwise.
"""

from __future__ import annotations

from gateway.core.errors import Conflict
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWork
from gateway.core.profiles import age_on
from gateway.core.profiles import today
from gateway.core.rosters import snils_index
from gateway.core.types import Subject
from gateway.core.types import UpstreamIdentity

PARENT_AS_PUPIL = "parent_as_pupil"
CHILD_ACCOUNT_PARENT = "child_account_parent"
ROLE_PARENT = "parent"
CHILD_LEVEL = "child"
ADULT_AGE = 18


class PupilIdentities:
    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    def index_of(self, identity: UpstreamIdentity) -> str | None:
        snils = identity.attributes.get("snils")
        return snils_index(self._sealer, snils) if isinstance(snils, str) else None

    def claim(
        self, uow: UnitOfWork, identity: UpstreamIdentity, digest: str, now: float
    ) -> Subject | None:
        """The existing subject this (not yet attached) identity is, with the identity
        attached; ``None`` when there is none or the identity is a parent's."""
        if identity.children or not is_minor(identity, now):
            return None
        index = self.index_of(identity)
        found = None if index is None else uow.person_index.find(index)
        subject = None if found is None else uow.subjects.get(found)
        if subject is None or ROLE_PARENT in subject.roles:
            return None
        try:
            uow.person_index.attach(subject.subject_id, identity.provider, digest, now)
        except Conflict:
            return None
        return subject

    def remember(self, uow: UnitOfWork, subject: Subject, identity: UpstreamIdentity) -> None:
        """Give a new subject its SNILS index (unless another subject holds it)."""
        index = self.index_of(identity)
        if index is None:
            return
        try:
            uow.person_index.set(subject.subject_id, index)
        except Conflict:
            return

    def conflict(
        self, uow: UnitOfWork, identity: UpstreamIdentity | None, subject: Subject, now: float
    ) -> str | None:
        """Why this login may not proceed as bound (see the module docstring)."""
        if identity is None:
            return None
        if identity.account_level == CHILD_LEVEL and (
            identity.children or ROLE_PARENT in subject.roles
        ):
            return CHILD_ACCOUNT_PARENT
        if identity.children or not is_minor(identity, now):
            index = self.index_of(identity)
            holder = None if index is None else uow.person_index.find(index)
            if holder is not None and holder != subject.subject_id:
                return PARENT_AS_PUPIL
        return None


def is_minor(identity: UpstreamIdentity, now: float) -> bool:
    """A child account, or a birth date less than 18 years ago."""
    if identity.account_level == CHILD_LEVEL:
        return True
    birthdate = identity.attributes.get("birthdate")
    age = age_on(birthdate if isinstance(birthdate, str) else None, today(now))
    return age is not None and age < ADULT_AGE
