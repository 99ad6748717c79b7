"""The automatic checks of a link application and the verified guardianship it proves
(``gateway.core.applications``); shared by the parent's side (``gateway.journey``) and the
review (``gateway.admin``), which may not import each other."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from gateway.core.applications import Application
from gateway.core.applications import ApplicationChild
from gateway.core.applications import Check
from gateway.core.audit import audit
from gateway.core.children import CERTIFICATE_INDEX
from gateway.core.children import SNILS_INDEX
from gateway.core.children import Evidence
from gateway.core.children import Guardianship
from gateway.core.children import GuardianshipStatus
from gateway.core.children import RosterEntry
from gateway.core.children import eighteenth_birthday
from gateway.core.children import search_name
from gateway.core.faults import crash_point
from gateway.core.ids import keyed_digest
from gateway.core.ids import new_id
from gateway.core.ids import subject_digest
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWork
from gateway.core.profiles import profile_context
from gateway.core.rosters import open_roster_person
from gateway.core.types import Subject

APPLICATION_PROVIDER = "application"
"""The upstream identity of a child subject made from an approved application."""
CHILD_ROLE = "student"


@dataclass(frozen=True)
class CheckResult:
    failed: tuple[str, ...]
    entry: RosterEntry | None = None
    child_id: str | None = None

    @property
    def full_match(self) -> bool:
        return not self.failed and self.entry is not None


@dataclass(frozen=True)
class Indexes:
    snils: str
    certificate: str


def indexes(sealer: Sealer, child: ApplicationChild) -> Indexes:
    canonical = f"{child.certificate_kind}:{child.certificate_series}:{child.certificate_number}"
    return Indexes(
        snils=sealer.blind_index(SNILS_INDEX, child.snils),
        certificate=sealer.blind_index(CERTIFICATE_INDEX, canonical),
    )


def check_application(
    uow: UnitOfWork,
    sealer: Sealer,
    parent_id: str,
    school_id: str,
    child: ApplicationChild,
    keys: Indexes,
    age: int | None,
    now: float,
) -> CheckResult:
    """Compare the application with the chosen school's roster (and the parent's links).

    Every path does the same lookups, so "no such pupil" and "the data differ" take the
    same time and give the parent the same answer (T94). Only a full match — SNILS and
    certificate on the same roster entry of that school, family name, given name and birth
    date equal, an RF certificate, under 18 — verifies at once.
    """
    failed: list[str] = []
    if age is not None and age >= 18:
        failed.append(Check.ADULT)
    if child.certificate_kind != "rf":
        failed.append(Check.CERTIFICATE_FOREIGN)
    entries = [e for e in uow.rosters.find_by_snils(keys.snils) if e.school_id == school_id]
    entry = entries[0] if entries else None
    child_id = uow.person_index.find(keys.snils)
    if child_id == parent_id:
        failed.append(Check.SELF)
    elif child_id is not None and any(
        g.child_id == child_id and g.usable(now) for g in uow.guardianships.for_parent(parent_id)
    ):
        failed.append(Check.ALREADY_LINKED)
    if entry is None:
        failed.append(Check.ROSTER_SNILS)
        return CheckResult(tuple(failed), None, child_id)
    if entry.certificate_index != keys.certificate:
        failed.append(Check.ROSTER_CERTIFICATE)
    person = open_roster_person(sealer, entry)
    if search_name(person.family_name) != search_name(child.family_name):
        failed.append(Check.FAMILY_NAME)
    if search_name(person.given_name) != search_name(child.given_name):
        failed.append(Check.GIVEN_NAME)
    if person.birthdate != child.birthdate:
        failed.append(Check.BIRTHDATE)
    return CheckResult(tuple(failed), entry, child_id)


# --------------------------------------------------------------------------- verifying


def ends_at(birthdate: str, now: float) -> float:
    """The child's 18th birthday at 00:00 UTC (``now`` when the date is unusable)."""
    day = eighteenth_birthday(birthdate)
    if day is None:
        return now
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Verified:
    guardianship: Guardianship
    child_id: str


def verify_link(
    uow: UnitOfWork,
    sealer: Sealer,
    pepper: bytes,
    application: Application,
    child: ApplicationChild,
    roster_entry_id: str | None,
    now: float,
    actor: str,
) -> Verified:
    """Record the verified guardianship an application proves (evidence ``application``):
    the child's subject is found by the SNILS blind index or created. Audited as
    ``guardianship.linked`` (digests only). The caller commits."""
    child_id = uow.person_index.find(application.snils_index)
    if child_id is None:
        child_id = _new_child(uow, sealer, pepper, application, child, now)
    crash_point("guardianship.child_written")
    entry = None if roster_entry_id is None else uow.rosters.get(roster_entry_id)
    link = Guardianship(
        guardianship_id=new_id(),
        parent_id=application.parent_id,
        child_id=child_id,
        evidence=Evidence.APPLICATION,
        status=GuardianshipStatus.VERIFIED,
        created_at=now,
        ends_at=ends_at(child.birthdate, now),
        school_id=application.school_id,
        roster_entry_id=None if entry is None else entry.entry_id,
        verified_at=now,
    )
    uow.guardianships.add(link)
    audit(
        uow,
        now,
        "guardianship.linked",
        parent=subject_digest(pepper, application.parent_id),
        child=subject_digest(pepper, child_id),
        school_id=application.school_id,
        evidence=str(Evidence.APPLICATION),
        application_id=application.application_id,
        by=actor,
    )
    return Verified(link, child_id)


def _new_child(
    uow: UnitOfWork,
    sealer: Sealer,
    pepper: bytes,
    application: Application,
    child: ApplicationChild,
    now: float,
) -> str:
    subject_id = new_id()
    profile = {
        "family_name": child.family_name,
        "given_name": child.given_name,
        "birthdate": child.birthdate,
    }
    if child.middle_name:
        profile["middle_name"] = child.middle_name
    raw = json.dumps(profile, ensure_ascii=False, sort_keys=True).encode()
    subject = Subject(
        subject_id=subject_id,
        created_at=now,
        account_level="child",
        updated_at=now,
        roles=(CHILD_ROLE,),
        sealed_profile=sealer.seal(raw, profile_context(subject_id)),
    )
    digest = keyed_digest(pepper, "upstream_subject", application.application_id)
    uow.subjects.add(subject, APPLICATION_PROVIDER, digest)
    uow.person_index.set(subject_id, application.snils_index)
    audit(
        uow,
        now,
        "subject.created",
        subject=subject_digest(pepper, subject_id),
        upstream=APPLICATION_PROVIDER,
    )
    return subject_id
