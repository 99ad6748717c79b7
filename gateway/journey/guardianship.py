"""Guardianship from ESIA: a parent's kids list, matched to school rosters, becomes
verified links (DESIGN.md "Identity model"; issue 11 item 3).

When a parent signs in to a client that asks for ``children`` or ``child``, the ESIA
identity carries the kids (``providers.upstream.esia.mapping``: ``upstream_id``, names,
``birthdate``, ``snils``, ``birth_certificate``). For each kid, :meth:`GuardianshipLinker.link`

1. checks the SNILS (``gateway.core.identifiers``) and the age (under 18);
2. finds the roster entry by the SNILS blind index; the entry's family name, given name and
   birth date must agree with ESIA's (case- and ё/е-insensitive);
3. finds the child's subject by the same index (``uow.person_index``) or creates it (its
   upstream identity is the ESIA kid record, provider ``esia_kid``, as a keyed digest);
4. records a verified guardianship (evidence ``esia_kids``, the school and roster entry,
   ``ends_at`` = the child's 18th birthday) and audits ``guardianship.linked`` with digests
   only.

A kid that does not match records nothing. What differs (which field — never the
roster's value) is remembered for the parent's ``/account`` page in the ephemeral store,
sealed (:class:`LinkProblems`); a later clean run forgets it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from gateway.core.audit import audit
from gateway.core.children import Evidence
from gateway.core.children import Guardianship
from gateway.core.children import GuardianshipStatus
from gateway.core.children import RosterEntry
from gateway.core.children import eighteenth_birthday
from gateway.core.children import search_name
from gateway.core.faults import crash_point
from gateway.core.identifiers import is_valid_snils
from gateway.core.ids import keyed_digest
from gateway.core.ids import new_id
from gateway.core.ids import subject_digest
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWork
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.profiles import age_on
from gateway.core.profiles import today
from gateway.core.rosters import open_roster_person
from gateway.core.rosters import snils_index
from gateway.core.types import Subject
from gateway.core.types import UpstreamIdentity
from gateway.journey.pupils import PupilIdentities
from gateway.journey.subjects import seal_profile

log = logging.getLogger(__name__)

KID_PROVIDER = "esia_kid"
"""The upstream identity of a subject made from a parent's kids list (the kid record id)."""
PROBLEMS_NAMESPACE = "child_link_problems"
PROBLEMS_TTL_SECONDS = 30 * 24 * 3600
LINK_SCOPES = frozenset({"children", "child"})
ADULT_AGE = 18
CHILD_ROLE = "student"


class Problem:
    """Why a kid was not linked (stable codes; ``/account`` explains each)."""

    SNILS_MISSING = "snils_missing"
    """ESIA gave no valid SNILS for the kid."""
    NOT_ON_ROSTER = "not_on_roster"
    """No school's roster has this SNILS."""
    FAMILY_NAME = "family_name_differs"
    GIVEN_NAME = "given_name_differs"
    BIRTHDATE = "birthdate_differs"
    ADULT = "adult"
    """The kid is 18 or older."""
    SELF = "self"
    """The kid's SNILS is the parent's own."""


@dataclass(frozen=True)
class LinkProblem:
    """A kid that was not linked: the kid's first name as ESIA gave it (for the parent's
    own page only) and what differs."""

    given_name: str
    code: str


class LinkProblems:
    """The parent's unmatched kids, sealed in the ephemeral store (personal data)."""

    def __init__(self, store: EphemeralStore, sealer: Sealer) -> None:
        self._store = store
        self._sealer = sealer

    def remember(self, parent_id: str, problems: list[LinkProblem]) -> None:
        if not problems:
            self._store.delete(PROBLEMS_NAMESPACE, parent_id)
            return
        raw = json.dumps([p.__dict__ for p in problems], ensure_ascii=False).encode()
        sealed = self._sealer.seal(raw, _context(parent_id))
        self._store.put(PROBLEMS_NAMESPACE, parent_id, sealed, PROBLEMS_TTL_SECONDS)

    def recall(self, parent_id: str) -> list[LinkProblem]:
        sealed = self._store.get(PROBLEMS_NAMESPACE, parent_id)
        if sealed is None:
            return []
        items = json.loads(self._sealer.open(sealed, _context(parent_id)))
        return [LinkProblem(str(i["given_name"]), str(i["code"])) for i in items]


def _context(parent_id: str) -> str:
    return f"child_link_problems:{parent_id}"


@dataclass(frozen=True)
class _Match:
    kid: Mapping[str, Any]
    index: str
    entry: RosterEntry


class GuardianshipLinker:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        sealer: Sealer,
        clock: Clock,
        pepper: bytes,
        problems: LinkProblems,
        pupils: PupilIdentities,
    ) -> None:
        self._pupils = pupils
        self._uow = uow
        self._sealer = sealer
        self._clock = clock
        self._pepper = pepper
        self._problems = problems

    def wanted(self, identity: UpstreamIdentity, scopes: tuple[str, ...]) -> bool:
        """Whether this login links children: a client asked for them, ESIA sent kids."""
        return bool(identity.children) and not LINK_SCOPES.isdisjoint(scopes)

    def link(self, parent: Subject, identity: UpstreamIdentity) -> int:
        """Link every matching kid; remember the others' problems. How many new links."""
        now = self._clock.now()
        problems: list[LinkProblem] = []
        matches: list[_Match] = []
        with self._uow(read_only=True) as reader:
            if self._pupils.conflict(reader, identity, parent, now) is not None:
                return 0  # refused by the policy (parent_as_pupil / child_account_parent)
            for kid in identity.children:
                found = self._match(reader, kid, now)
                if isinstance(found, LinkProblem):
                    problems.append(found)
                else:
                    matches.append(found)
            known = {
                g.child_id
                for g in reader.guardianships.for_parent(parent.subject_id)
                if g.usable(now)
            }
            holders = {m.index: reader.person_index.find(m.index) for m in matches}
        todo: list[_Match] = []
        for match in matches:
            holder = holders[match.index]
            if holder == parent.subject_id:
                problems.append(LinkProblem(_given(match.kid), Problem.SELF))
            elif holder is None or holder not in known:
                todo.append(match)
        linked = self._write(parent, todo, now) if todo else 0
        self._problems.remember(parent.subject_id, problems)
        if problems:
            log_event(log, "guardianship.unmatched", count=len(problems))
        return linked

    def _match(self, uow: UnitOfWork, kid: Mapping[str, Any], now: float) -> _Match | LinkProblem:
        name = _given(kid)
        snils = kid.get("snils")
        if not isinstance(snils, str) or not is_valid_snils(snils):
            return LinkProblem(name, Problem.SNILS_MISSING)
        birthdate = kid.get("birthdate")
        age = age_on(birthdate if isinstance(birthdate, str) else None, today(now))
        if age is not None and age >= ADULT_AGE:
            return LinkProblem(name, Problem.ADULT)
        index = snils_index(self._sealer, snils)
        entries = [] if index is None else uow.rosters.find_by_snils(index)
        if index is None or not entries:
            return LinkProblem(name, Problem.NOT_ON_ROSTER)
        entry = entries[0]
        person = open_roster_person(self._sealer, entry)
        if search_name(person.family_name) != search_name(str(kid.get("family_name", ""))):
            return LinkProblem(name, Problem.FAMILY_NAME)
        if search_name(person.given_name) != search_name(name):
            return LinkProblem(name, Problem.GIVEN_NAME)
        if person.birthdate != birthdate:
            return LinkProblem(name, Problem.BIRTHDATE)
        return _Match(kid, index, entry)

    def _write(self, parent: Subject, matches: list[_Match], now: float) -> int:
        linked = 0
        with self._uow() as uow:
            live = {
                g.child_id for g in uow.guardianships.for_parent(parent.subject_id) if g.usable(now)
            }
            for match in matches:
                child_id = uow.person_index.find(match.index) or self._new_child(uow, match, now)
                crash_point("guardianship.child_written")
                if child_id in live or child_id == parent.subject_id:
                    continue
                ends = eighteenth_birthday(str(match.kid.get("birthdate", "")))
                ends_at = (
                    datetime(ends.year, ends.month, ends.day, tzinfo=UTC).timestamp()
                    if ends
                    else now
                )
                link = Guardianship(
                    guardianship_id=new_id(),
                    parent_id=parent.subject_id,
                    child_id=child_id,
                    evidence=Evidence.ESIA_KIDS,
                    status=GuardianshipStatus.VERIFIED,
                    created_at=now,
                    ends_at=ends_at,
                    school_id=match.entry.school_id,
                    roster_entry_id=match.entry.entry_id,
                    verified_at=now,
                )
                uow.guardianships.add(link)
                live.add(child_id)
                audit(
                    uow,
                    now,
                    "guardianship.linked",
                    parent=subject_digest(self._pepper, parent.subject_id),
                    child=subject_digest(self._pepper, child_id),
                    school_id=match.entry.school_id,
                    evidence=str(Evidence.ESIA_KIDS),
                )
                linked += 1
            uow.commit()
        return linked

    def _new_child(self, uow: UnitOfWork, match: _Match, now: float) -> str:
        subject_id = new_id()
        attributes = {
            k: match.kid[k]
            for k in ("family_name", "given_name", "middle_name", "birthdate")
            if isinstance(match.kid.get(k), str)
        }
        child = Subject(
            subject_id=subject_id,
            created_at=now,
            updated_at=now,
            account_level="child",
            roles=(CHILD_ROLE,),
            sealed_profile=seal_profile(self._sealer, subject_id, attributes),
        )
        digest = keyed_digest(self._pepper, "upstream_subject", str(match.kid["upstream_id"]))
        existing = uow.subjects.find_by_upstream(KID_PROVIDER, digest)
        if existing is not None:
            return existing.subject_id
        uow.subjects.add(child, KID_PROVIDER, digest)
        uow.person_index.set(subject_id, match.index)
        audit(
            uow,
            now,
            "subject.created",
            subject=subject_digest(self._pepper, subject_id),
            upstream=KID_PROVIDER,
        )
        return subject_id


def _given(kid: Mapping[str, Any]) -> str:
    value = kid.get("given_name")
    return value if isinstance(value, str) else ""
