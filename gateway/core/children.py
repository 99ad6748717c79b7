"""Schools, rosters and guardianships: the frozen types and the small ports behind them.

The identity model (DESIGN.md "Identity model"): a **guardianship** links a parent subject to
a child subject, with its evidence (``esia_kids`` — the parent's ESIA kids list matched to a
school roster — or ``application``, the second children issue), a status, the school and
roster entry that proved it, and an automatic end at the child's 18th birthday
(``ends_at``). A **guardian consent** is a guardian's consent that a school system (client)
may serve a child under 14 who signs in with their own account.

Personal data never reaches these tables in the clear: a roster entry's names, birth date,
SNILS and birth certificate are one JSON document sealed with :func:`roster_context`, and
lookups use keyed blind indexes (``Sealer.blind_index``) of the SNILS
(:data:`SNILS_INDEX`, over the 11 digits) and of the certificate (:data:`CERTIFICATE_INDEX`,
over :attr:`gateway.core.identifiers.BirthCertificate.canonical`). The same SNILS index on
``subjects`` resolves a pupil's own login (``teen15``, ``kid7``) to the child subject a
parent's kids list created — never a new person.

Ports (repositories on the unit of work; they never commit):

=================================  =====================  ===================================
port                               ``uow`` attribute      what
=================================  =====================  ===================================
:class:`SchoolRepository`          ``uow.schools``        the school registry, search, clients
:class:`RosterRepository`          ``uow.rosters``        pupils on a school's roster
:class:`GuardianshipRepository`    ``uow.guardianships``  parent → child links
:class:`GuardianConsentRepository` ``uow.guardian_consents`` consents for a child's own login
:class:`PersonIndex`               ``uow.person_index``   subjects by SNILS blind index
=================================  =====================  ===================================

Acting for a child, token exchange and the ``children`` claim all ask one question —
which children may this parent act on through this school system? — and get one answer,
:func:`links_for_client`: the parent's links that are :meth:`Guardianship.usable` (verified,
not past ``ends_at``) and whose school is bound to the client (a school system learns of no
child outside its own schools). One link by id is ``uow.guardianships.get(guardianship_id)``
— always check ``parent_id`` against the signed-in person (a foreign id is "not found",
SECURITY.md T94).
"""

from __future__ import annotations

import enum
import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Protocol

SNILS_INDEX = "snils"
"""Blind-index purpose of a SNILS (value: its 11 digits)."""
CERTIFICATE_INDEX = "birth_certificate"
"""Blind-index purpose of a birth certificate (value: ``BirthCertificate.canonical``)."""


def roster_entry_id(school_id: str, pupil_id: str) -> str:
    """The id of a school's pupil on its roster: the same for every push, so re-pushing a
    roster updates entries in place (their sealing context and links stay valid)."""
    raw = f"{school_id}\x00{pupil_id}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def roster_context(entry_id: str) -> str:
    """The sealing context of a roster entry's person data."""
    return f"roster_entry:{entry_id}"


def search_name(text: str) -> str:
    """The normalised form of a school name for search: lower case, ё → е, punctuation and
    quotes to spaces, spaces collapsed. Example: ``search_name("МБОУ «Школа № 5»") ==
    "мбоу школа 5"``."""
    folded = unicodedata.normalize("NFC", text).casefold().replace("ё", "е")
    kept = "".join(c if c.isalnum() else " " for c in folded)
    return " ".join(kept.split())


class Evidence(enum.StrEnum):
    """How a guardianship was proven."""

    ESIA_KIDS = "esia_kids"
    """The parent's ESIA kids list, matched to a school roster (SNILS, name, birth date)."""
    APPLICATION = "application"
    """A reviewed application (the second children issue)."""


class GuardianshipStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    EXPIRED = "expired"
    ENDED = "ended"


@dataclass(frozen=True)
class School:
    """A school of the registry. ``search_name`` is :func:`search_name` of the full and
    short names; ``client_ids`` are the school systems bound to it (they may push its
    roster and serve its pupils)."""

    school_id: str
    full_name: str
    short_name: str
    inn: str
    ogrn: str = ""
    region_code: str = ""
    address: str = ""
    client_ids: tuple[str, ...] = ()

    @property
    def search_name(self) -> str:
        return search_name(f"{self.full_name} {self.short_name}")


@dataclass(frozen=True)
class RosterPerson:
    """A pupil as the school knows them (plain; only ever stored sealed).

    ``birthdate`` is ISO ``YYYY-MM-DD``; ``snils`` the 11 digits; the certificate is
    canonical (``gateway.core.identifiers.parse_birth_certificate``) or empty.
    """

    family_name: str
    given_name: str
    birthdate: str
    middle_name: str = ""
    snils: str = ""
    certificate_kind: str = ""
    certificate_series: str = ""
    certificate_number: str = ""


@dataclass(frozen=True)
class RosterEntry:
    """One pupil on one school's roster, as stored.

    :param pupil_id: the school system's own id of the pupil (unique per school).
    :param sealed_person: :class:`RosterPerson` as JSON sealed with :func:`roster_context`.
    :param snils_index: blind index of the SNILS (``None`` without one).
    :param certificate_index: blind index of the birth certificate (``None`` without one).
    """

    entry_id: str
    school_id: str
    pupil_id: str
    class_name: str
    sealed_person: bytes
    snils_index: str | None
    certificate_index: str | None
    updated_at: float


@dataclass(frozen=True)
class Guardianship:
    """A parent → child link. ``ends_at`` is the child's 18th birthday (epoch seconds)."""

    guardianship_id: str
    parent_id: str
    child_id: str
    evidence: Evidence
    status: GuardianshipStatus
    created_at: float
    ends_at: float
    school_id: str | None = None
    roster_entry_id: str | None = None
    verified_at: float | None = None
    ended_at: float | None = None

    def usable(self, now: float) -> bool:
        """Verified and before the child's 18th birthday: the only links that count."""
        return self.status is GuardianshipStatus.VERIFIED and now < self.ends_at


@dataclass(frozen=True)
class GuardianConsent:
    """A guardian's consent that ``client_id`` may serve the child (own login, under 14)."""

    consent_id: str
    guardian_id: str
    child_id: str
    client_id: str
    scopes: tuple[str, ...]
    granted_at: float
    revoked_at: float | None = None


def eighteenth_birthday(birthdate: str) -> date | None:
    """The day a child born on ISO ``birthdate`` turns 18 (29 February → 1 March)."""
    try:
        born = date.fromisoformat(birthdate)
    except ValueError:
        return None
    try:
        return born.replace(year=born.year + 18)
    except ValueError:
        return date(born.year + 18, 3, 1)


# --------------------------------------------------------------------------- ports


class SchoolRepository(Protocol):
    """The school registry (``schools``)."""

    def get(self, school_id: str) -> School | None: ...

    def save(self, school: School) -> None:
        """Insert or replace the school with this id."""
        ...

    def search(self, words: tuple[str, ...], inn: str | None, limit: int) -> list[School]:
        """Schools whose search name contains every word (normalised with
        :func:`search_name`, partial words match), or whose INN is ``inn``; by short name."""
        ...

    def for_client(self, client_id: str) -> list[School]:
        """The schools a client is bound to."""
        ...


class RosterRepository(Protocol):
    """Pupils on schools' rosters (``roster_entries``)."""

    def replace(self, school_id: str, entries: list[RosterEntry]) -> int:
        """Make ``entries`` the school's whole roster (others removed); how many removed.
        Entry ids are :func:`roster_entry_id` (known pupils are updated in place)."""
        ...

    def upsert(self, school_id: str, entries: list[RosterEntry]) -> tuple[int, int]:
        """Insert new pupils, update known ones (by ``pupil_id``); (added, updated)."""
        ...

    def get(self, entry_id: str) -> RosterEntry | None: ...

    def find_by_snils(self, snils_index: str) -> list[RosterEntry]:
        """Every roster entry with this SNILS blind index (one per school at most)."""
        ...

    def list_for_school(self, school_id: str) -> list[RosterEntry]: ...


class GuardianshipRepository(Protocol):
    """Parent → child links (``guardianships``)."""

    def add(self, guardianship: Guardianship) -> None: ...

    def get(self, guardianship_id: str) -> Guardianship | None: ...

    def for_parent(self, parent_id: str) -> list[Guardianship]:
        """The parent's links of every status, oldest first."""
        ...

    def for_child(self, child_id: str) -> list[Guardianship]:
        """The child's links of every status, oldest first."""
        ...

    def end(self, guardianship_id: str, at: float, status: GuardianshipStatus) -> bool:
        """Close a pending or verified link (``ended``, ``expired``, ``rejected``);
        ``False`` when it was not open."""
        ...

    def ending_before(self, at: float, limit: int) -> list[Guardianship]:
        """Verified links whose ``ends_at`` (the 18th birthday) is at or before ``at``,
        soonest first: the age job expires them and tells the parents beforehand."""
        ...


class GuardianConsentRepository(Protocol):
    """Guardians' consents for a child's own login (``guardian_consents``)."""

    def grant(self, consent: GuardianConsent) -> None:
        """Record; an earlier live consent of the same (guardian, child, client) is closed."""
        ...

    def active_for_child(self, child_id: str, client_id: str) -> list[GuardianConsent]:
        """Live consents of any guardian for this child and client."""
        ...

    def for_guardian(self, guardian_id: str) -> list[GuardianConsent]:
        """The guardian's live consents."""
        ...

    def revoke(self, guardian_id: str, child_id: str, client_id: str, at: float) -> int:
        """Close the live consents of (guardian, child, client); how many were live."""
        ...


class PersonIndex(Protocol):
    """Subjects by the blind index of their SNILS (``subjects.snils_index``, unique)."""

    def find(self, snils_index: str) -> str | None:
        """The subject id with this SNILS index, or ``None``."""
        ...

    def set(self, subject_id: str, snils_index: str) -> None:
        """Record the subject's SNILS index; raises ``Conflict`` when another subject has
        it (the transaction stays usable)."""
        ...

    def attach(self, subject_id: str, provider: str, subject_digest: str, at: float) -> None:
        """Attach one more upstream identity (keyed digest) to an existing subject: a
        pupil's own login joins the subject their parent's kids list made. Raises
        ``Conflict`` when that upstream identity is attached already."""
        ...


def serves(link: Guardianship, schools: SchoolRepository, client_id: str) -> bool:
    """Whether ``client_id`` is a school system of the link's school."""
    if link.school_id is None:
        return False
    school = schools.get(link.school_id)
    return school is not None and client_id in school.client_ids


def links_for_client(
    guardianships: GuardianshipRepository,
    schools: SchoolRepository,
    parent_id: str,
    client_id: str,
    now: float,
) -> list[Guardianship]:
    """The links through which ``parent_id`` may act for a child at ``client_id``: usable
    (verified, before the 18th birthday) and at a school the client is bound to; oldest
    first, one per child."""
    seen: set[str] = set()
    links: list[Guardianship] = []
    for link in guardianships.for_parent(parent_id):
        if link.child_id in seen or not link.usable(now):
            continue
        if serves(link, schools, client_id):
            seen.add(link.child_id)
            links.append(link)
    return links


@dataclass(frozen=True)
class ChildClaim:
    """One linked child as a school system may see them (the ``children`` claim, SECURITY.md
    T98): the internal id (turned into the client's pairwise id by ``gateway.oauth``, never
    sent), the first name, the school's short name and the class — nothing else."""

    child_id: str
    given_name: str
    school: str
    class_name: str
    link_id: str = ""
    """The guardianship's id (what vhod's own child-choice form names; never sent)."""
