"""Link applications: a parent asks to be linked to a child with documents (issue 12).

When ESIA has no data about a child, or its data does not match a school roster, the
parent fills in an application on ``/account/children/apply``: the child's names, birth
date, SNILS (and its issue date), birth certificate (series, number, issue date; RF,
foreign or USSR), the school and class, and a scan of the birth certificate. Automatic
checks (``gateway.core.application_checks``) compare it with the school's roster by the blind
indexes of the SNILS and the certificate, then names and birth date; a full match verifies
at once (a ``Guardianship`` with evidence ``application``), anything else waits in the
review queue of the admin pages, where a reviewer approves, rejects with a reason
(:class:`RejectReason`) or asks for another document.

Personal data never reaches the tables in the clear: the child's data is one JSON document
sealed under :func:`application_context`, each uploaded document under
:func:`document_context` (and deleted ``[applications] retention_days`` after the
decision), the reviewer's note under :func:`note_context`.

The parent never learns *why* an application went to review: "no such pupil" and "the
data differ" are the same status (SECURITY.md T94); the failed checks are shown to
reviewers only.

Ports (on the unit of work, ``uow.applications``; never commit):
:class:`ApplicationRepository`. Outside the unit of work: :class:`DocumentInspector`
(decides a scan's type by its content and cleans it; ``providers/documents.py``) and
:class:`PersonNotices` (a message to a person's verified channels).
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Protocol

if TYPE_CHECKING:
    from gateway.core.ports import Sealer


def application_context(application_id: str) -> str:
    """The sealing context of an application's child data."""
    return f"application:{application_id}"


def document_context(document_id: str) -> str:
    """The sealing context of an uploaded document."""
    return f"application_document:{document_id}"


def note_context(decision_id: str) -> str:
    """The sealing context of a reviewer's free-text note."""
    return f"application_note:{decision_id}"


class ApplicationStatus(enum.StrEnum):
    """What the parent sees in «Мои заявки»."""

    PENDING = "pending"
    """в рассмотрении"""
    NEEDS_DOCUMENT = "needs_document"
    """нужен документ: a reviewer asked for another document"""
    APPROVED = "approved"
    """одобрено: a verified guardianship exists"""
    REJECTED = "rejected"
    """отклонено (with the reason)"""

    @property
    def open(self) -> bool:
        return self in (ApplicationStatus.PENDING, ApplicationStatus.NEEDS_DOCUMENT)


_STATUS_TEXT = {
    ApplicationStatus.PENDING: "заявка на связь с ребёнком принята и ждёт проверки.",
    ApplicationStatus.NEEDS_DOCUMENT: "по заявке на связь с ребёнком нужен ещё один документ.",
    ApplicationStatus.APPROVED: "заявка на связь с ребёнком одобрена.",
    ApplicationStatus.REJECTED: "заявка на связь с ребёнком отклонена.",
}


def status_notice(status: ApplicationStatus) -> str:
    """The notice to the parent when an application's status changes (no personal data:
    the details are on the «Мои заявки» page)."""
    return f"{_STATUS_TEXT[status]} Подробности — в разделе «Мои заявки»."


class RejectReason(enum.StrEnum):
    """The reasons a reviewer chooses from (plus free text)."""

    DOCUMENT_UNREADABLE = "document_unreadable"
    DOCUMENT_MISMATCH = "document_mismatch"
    NOT_ON_ROSTER = "not_on_roster"
    NOT_GUARDIAN = "not_guardian"
    DUPLICATE = "duplicate"
    OTHER = "other"


class DecisionAction(enum.StrEnum):
    AUTO_VERIFIED = "auto_verified"
    APPROVED = "approved"
    REJECTED = "rejected"
    DOCUMENT_REQUESTED = "document_requested"
    DOCUMENT_ADDED = "document_added"


class Check(enum.StrEnum):
    """The automatic checks; an application lists the ones that failed."""

    ROSTER_SNILS = "roster_snils"
    """No pupil with this SNILS on the chosen school's roster."""
    ROSTER_CERTIFICATE = "roster_certificate"
    """The roster entry's birth certificate differs or is unknown."""
    CERTIFICATE_FOREIGN = "certificate_foreign"
    """A foreign or USSR certificate: never verified automatically."""
    FAMILY_NAME = "family_name"
    GIVEN_NAME = "given_name"
    BIRTHDATE = "birthdate"
    ADULT = "adult"
    """The child is 18 or older."""
    ALREADY_LINKED = "already_linked"
    """The parent already has a usable link to this child."""
    SELF = "self"
    """The SNILS is the applicant's own."""


@dataclass(frozen=True)
class ApplicationChild:
    """The child as the parent described them (plain; stored only sealed).

    Dates are ISO ``YYYY-MM-DD``; ``snils`` the 11 digits; the certificate canonical
    (``gateway.core.identifiers.parse_birth_certificate``)."""

    family_name: str
    given_name: str
    birthdate: str
    snils: str
    snils_issued: str
    certificate_kind: str
    certificate_series: str
    certificate_number: str
    certificate_issued: str
    middle_name: str = ""

    def seal(self, sealer: Sealer, application_id: str) -> bytes:
        raw = json.dumps(asdict(self), ensure_ascii=False, sort_keys=True).encode()
        return sealer.seal(raw, application_context(application_id))

    @classmethod
    def open(cls, sealer: Sealer, application: Application) -> ApplicationChild:
        raw = sealer.open(application.sealed_child, application_context(application.application_id))
        return cls(**{k: str(v) for k, v in json.loads(raw).items()})


@dataclass(frozen=True)
class Application:
    """One application as stored.

    :param checks: the automatic checks that failed (:class:`Check` values).
    :param purge_after: when its documents are deleted (decision + retention).
    """

    application_id: str
    parent_id: str
    school_id: str
    class_name: str
    status: ApplicationStatus
    created_at: float
    updated_at: float
    sealed_child: bytes
    snils_index: str
    certificate_index: str
    checks: tuple[str, ...] = ()
    roster_entry_id: str | None = None
    child_id: str | None = None
    guardianship_id: str | None = None
    reason: str | None = None
    decided_at: float | None = None
    purge_after: float | None = None


@dataclass(frozen=True)
class ApplicationDocument:
    """An uploaded document: metadata, and the sealed content until it is purged."""

    document_id: str
    application_id: str
    uploaded_at: float
    media_type: str
    size: int
    sha256: str
    sealed_content: bytes | None = None
    deleted_at: float | None = None


@dataclass(frozen=True)
class ApplicationDecision:
    """One step of an application's history (audited too). ``actor`` is an admin's
    subject digest, ``cli``, ``auto`` or ``parent``."""

    decision_id: str
    application_id: str
    at: float
    actor: str
    action: DecisionAction
    reason: str | None = None
    sealed_note: bytes | None = None


# --------------------------------------------------------------------------- ports


class ApplicationRepository(Protocol):
    """Applications, their documents and decisions (``link_applications``,
    ``application_documents``, ``application_decisions``)."""

    def add(self, application: Application) -> None: ...

    def get(self, application_id: str) -> Application | None: ...

    def save(self, application: Application) -> None:
        """Write the mutable fields (status, checks, links, reason, times)."""
        ...

    def for_parent(self, parent_id: str) -> list[Application]:
        """The parent's applications, newest first."""
        ...

    def open_queue(self, limit: int) -> list[Application]:
        """Open applications (pending, needs document), oldest first."""
        ...

    def count_since(self, parent_id: str, since: float) -> int:
        """How many applications the parent made since ``since``."""
        ...

    def add_document(self, document: ApplicationDocument) -> None: ...

    def documents(self, application_id: str) -> list[ApplicationDocument]:
        """The application's documents, oldest first, without their content."""
        ...

    def document(self, application_id: str, document_id: str) -> ApplicationDocument | None:
        """One document with its sealed content (``None`` after the purge)."""
        ...

    def purge_documents(self, before: float, at: float) -> int:
        """Delete the content of documents of applications whose ``purge_after`` is at or
        before ``before``; how many documents were purged."""
        ...

    def add_decision(self, decision: ApplicationDecision) -> None: ...

    def decisions(self, application_id: str) -> list[ApplicationDecision]:
        """The application's history, oldest first."""
        ...


@dataclass(frozen=True)
class InspectedDocument:
    """A document whose type was decided by its content, cleaned (images re-encoded
    without EXIF or trailing data)."""

    media_type: str
    content: bytes

    @property
    def extension(self) -> str:
        return {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
            self.media_type, "bin"
        )


class DocumentRefused(ValueError):
    """A document refused: ``code`` is one of ``type``, ``polyglot``, ``damaged``,
    ``too_large``, ``empty``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class DocumentInspector(Protocol):
    def inspect(self, data: bytes) -> InspectedDocument:
        """The document's type by content, cleaned. :raises DocumentRefused:"""
        ...


class PersonNotices(Protocol):
    def tell(self, subject_id: str, text: str) -> None:
        """Send ``text`` to the person's verified e-mail (else mobile); never raises."""
        ...
