"""The review of link applications (issue 12 item 4), for the admin pages, the admin API
and ``vhod applications``.

* :meth:`ApplicationReview.queue` — open applications, oldest first, with the child's
  age, the school and the automatic checks that failed;
* :meth:`ApplicationReview.show` — one application: the child's data as the parent gave
  it (reviewers need it), the checks, the documents and the history;
* :meth:`approve` (a verified guardianship with evidence ``application``),
  :meth:`reject` (a reason from :class:`RejectReason` plus free text), :meth:`ask_document`
  (status «нужен документ»); each one audited (``application.approved`` /
  ``application.rejected`` / ``application.document_requested``, actor = the reviewer's
  subject digest or ``cli``) and announced to the parent;
* :meth:`document` — a scan for the reviewer's download (sealed at rest).

**Conflict of interest.** A reviewer may not decide an application about their own child:
when the reviewer is the applicant, has a link to the child, or is the child, the decision
is refused (:class:`OwnChild`). Documents are purged by the lifecycle job
``[applications] retention_days`` after the decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace

from gateway.config.applications import ApplicationSettings
from gateway.core.application_checks import verify_link
from gateway.core.applications import Application
from gateway.core.applications import ApplicationChild
from gateway.core.applications import ApplicationDecision
from gateway.core.applications import ApplicationDocument
from gateway.core.applications import ApplicationStatus
from gateway.core.applications import DecisionAction
from gateway.core.applications import PersonNotices
from gateway.core.applications import RejectReason
from gateway.core.applications import document_context
from gateway.core.applications import note_context
from gateway.core.applications import status_notice
from gateway.core.audit import audit
from gateway.core.errors import GatewayError
from gateway.core.errors import NotFound
from gateway.core.errors import ValidationFailed
from gateway.core.ids import new_id
from gateway.core.ids import subject_digest
from gateway.core.ports import Clock
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWork
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.profiles import age_on
from gateway.core.profiles import today

DAY_SECONDS = 24 * 3600
MAX_NOTE = 1000
MAX_ID = 64
QUEUE_LIMIT = 200
CLI_ACTOR = "cli"


class OwnChild(GatewayError):
    """A reviewer tried to decide an application about their own child."""


class NotOpen(GatewayError):
    """The application was decided already."""


@dataclass(frozen=True)
class Reviewer:
    """Who decides: an admin's internal subject id (``None`` for the CLI) and the digest
    the audit log shows."""

    subject_id: str | None
    digest: str


@dataclass(frozen=True)
class QueueRow:
    application_id: str
    created_at: float
    age_days: int
    child_age: int | None
    school_id: str
    school_name: str
    status: str
    checks: tuple[str, ...]
    documents: int

    def as_json(self) -> dict[str, object]:
        return {
            "application_id": self.application_id,
            "created_at": self.created_at,
            "waiting_days": self.age_days,
            "child_age": self.child_age,
            "school_id": self.school_id,
            "school_name": self.school_name,
            "status": self.status,
            "checks_failed": list(self.checks),
            "documents": self.documents,
        }


@dataclass(frozen=True)
class HistoryRow:
    at: float
    actor: str
    action: str
    reason: str | None
    note: str


@dataclass(frozen=True)
class Details:
    row: QueueRow
    child: ApplicationChild
    parent: str
    class_name: str
    reason: str | None
    documents: tuple[ApplicationDocument, ...]
    history: tuple[HistoryRow, ...]

    def as_json(self) -> dict[str, object]:
        c = self.child
        return {
            **self.row.as_json(),
            "parent": self.parent,
            "class": self.class_name,
            "reason": self.reason,
            "child": {
                "family_name": c.family_name,
                "given_name": c.given_name,
                "middle_name": c.middle_name,
                "birthdate": c.birthdate,
                "snils": c.snils,
                "snils_issued": c.snils_issued,
                "certificate_kind": c.certificate_kind,
                "certificate_series": c.certificate_series,
                "certificate_number": c.certificate_number,
                "certificate_issued": c.certificate_issued,
            },
            "documents": [
                {
                    "document_id": d.document_id,
                    "media_type": d.media_type,
                    "size": d.size,
                    "sha256": d.sha256,
                    "uploaded_at": d.uploaded_at,
                    "deleted": d.deleted_at is not None,
                }
                for d in self.documents
            ],
            "history": [
                {"at": h.at, "actor": h.actor, "action": h.action, "reason": h.reason}
                for h in self.history
            ],
        }


class ApplicationReview:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        sealer: Sealer,
        clock: Clock,
        pepper: bytes,
        settings: ApplicationSettings,
        notices: PersonNotices,
    ) -> None:
        self._uow = uow
        self._sealer = sealer
        self._clock = clock
        self._pepper = pepper
        self._settings = settings
        self._notices = notices

    def reviewer(self, subject_id: str | None) -> Reviewer:
        if subject_id is None:
            return Reviewer(None, CLI_ACTOR)
        return Reviewer(subject_id, subject_digest(self._pepper, subject_id))

    # ------------------------------------------------------------------ reading

    def queue(self) -> list[QueueRow]:
        now = self._clock.now()
        with self._uow(read_only=True) as uow:
            return [self._row(uow, app, now) for app in uow.applications.open_queue(QUEUE_LIMIT)]

    def show(self, application_id: str) -> Details:
        """:raises NotFound:"""
        now = self._clock.now()
        with self._uow(read_only=True) as uow:
            app = self._get(uow, application_id)
            history = []
            for d in uow.applications.decisions(app.application_id):
                note = ""
                if d.sealed_note is not None:
                    note = self._sealer.open(d.sealed_note, note_context(d.decision_id)).decode()
                history.append(HistoryRow(d.at, d.actor, str(d.action), d.reason, note))
            return Details(
                row=self._row(uow, app, now),
                child=ApplicationChild.open(self._sealer, app),
                parent=subject_digest(self._pepper, app.parent_id),
                class_name=app.class_name,
                reason=app.reason,
                documents=tuple(uow.applications.documents(app.application_id)),
                history=tuple(history),
            )

    def document(self, application_id: str, document_id: str) -> tuple[str, bytes]:
        """The media type and content of a document (for the reviewer's download).

        :raises NotFound: no such document, or purged."""
        if len(application_id) > MAX_ID or len(document_id) > MAX_ID:
            raise NotFound("no such document")
        with self._uow(read_only=True) as uow:
            doc = uow.applications.document(application_id, document_id)
        if doc is None or doc.sealed_content is None:
            raise NotFound("no such document")
        return doc.media_type, self._sealer.open(
            doc.sealed_content, document_context(doc.document_id)
        )

    # ------------------------------------------------------------------ deciding

    def approve(self, application_id: str, who: Reviewer) -> Application:
        """Verify the link the application asks for.

        :raises NotFound: / :raises NotOpen: / :raises OwnChild:"""
        now = self._clock.now()
        with self._uow() as uow:
            app = self._decidable(uow, application_id, who, now)
            child = ApplicationChild.open(self._sealer, app)
            verified = verify_link(
                uow, self._sealer, self._pepper, app, child, app.roster_entry_id, now, who.digest
            )
            app = self._decide(
                uow,
                app,
                now,
                who,
                ApplicationStatus.APPROVED,
                DecisionAction.APPROVED,
                child_id=verified.child_id,
                guardianship_id=verified.guardianship.guardianship_id,
            )
            audit(
                uow,
                now,
                "application.approved",
                application_id=app.application_id,
                actor=who.digest,
                parent=subject_digest(self._pepper, app.parent_id),
            )
            uow.commit()
        self._tell(app)
        return app

    def reject(self, application_id: str, who: Reviewer, reason: str, note: str) -> Application:
        """:raises ValidationFailed: an unknown reason, a note too long."""
        choice = _reason(reason)
        text = _note(note, required=choice is RejectReason.OTHER)
        now = self._clock.now()
        with self._uow() as uow:
            app = self._decidable(uow, application_id, who, now)
            app = self._decide(
                uow,
                app,
                now,
                who,
                ApplicationStatus.REJECTED,
                DecisionAction.REJECTED,
                reason=str(choice),
                note=text,
            )
            audit(
                uow,
                now,
                "application.rejected",
                application_id=app.application_id,
                actor=who.digest,
                reason=str(choice),
            )
            uow.commit()
        self._tell(app)
        return app

    def ask_document(self, application_id: str, who: Reviewer, note: str) -> Application:
        """Ask the parent for another document (what is needed: ``note``)."""
        text = _note(note, required=True)
        now = self._clock.now()
        with self._uow() as uow:
            app = self._decidable(uow, application_id, who, now)
            decision_id = new_id()
            uow.applications.add_decision(
                ApplicationDecision(
                    decision_id,
                    app.application_id,
                    now,
                    who.digest,
                    DecisionAction.DOCUMENT_REQUESTED,
                    sealed_note=self._sealer.seal(text.encode(), note_context(decision_id)),
                )
            )
            app = replace(app, status=ApplicationStatus.NEEDS_DOCUMENT, updated_at=now)
            uow.applications.save(app)
            audit(
                uow,
                now,
                "application.document_requested",
                application_id=app.application_id,
                actor=who.digest,
            )
            uow.commit()
        self._tell(app)
        return app

    # ------------------------------------------------------------------ helpers

    def _tell(self, app: Application) -> None:
        if app.status is not ApplicationStatus.PENDING:
            self._notices.tell(app.parent_id, status_notice(app.status))

    @staticmethod
    def _get(uow: UnitOfWork, application_id: str) -> Application:
        app = uow.applications.get(application_id) if len(application_id) <= MAX_ID else None
        if app is None:
            raise NotFound("no such application")
        return app

    def _decidable(
        self, uow: UnitOfWork, application_id: str, who: Reviewer, now: float
    ) -> Application:
        app = self._get(uow, application_id)
        if not app.status.open:
            raise NotOpen("the application was decided already")
        if who.subject_id is not None and self._own_child(uow, app, who.subject_id, now):
            audit(
                uow,
                now,
                "application.decision_refused",
                application_id=app.application_id,
                actor=who.digest,
                reason="own_child",
            )
            uow.commit()
            raise OwnChild("a reviewer cannot decide about their own child")
        return app

    @staticmethod
    def _own_child(uow: UnitOfWork, app: Application, reviewer_id: str, now: float) -> bool:
        if app.parent_id == reviewer_id:
            return True
        child_id = uow.person_index.find(app.snils_index) or app.child_id
        if child_id is None:
            return False
        if child_id == reviewer_id:
            return True
        return any(
            g.parent_id == reviewer_id and g.usable(now)
            for g in uow.guardianships.for_child(child_id)
        )

    def _decide(
        self,
        uow: UnitOfWork,
        app: Application,
        now: float,
        who: Reviewer,
        status: ApplicationStatus,
        action: DecisionAction,
        *,
        reason: str | None = None,
        note: str = "",
        child_id: str | None = None,
        guardianship_id: str | None = None,
    ) -> Application:
        decision_id = new_id()
        sealed = self._sealer.seal(note.encode(), note_context(decision_id)) if note else None
        uow.applications.add_decision(
            ApplicationDecision(
                decision_id, app.application_id, now, who.digest, action, reason, sealed
            )
        )
        decided = replace(
            app,
            status=status,
            updated_at=now,
            decided_at=now,
            reason=reason,
            purge_after=now + self._settings.retention_days * DAY_SECONDS,
            child_id=child_id or app.child_id,
            guardianship_id=guardianship_id,
        )
        uow.applications.save(decided)
        return decided

    def _row(self, uow: UnitOfWork, app: Application, now: float) -> QueueRow:
        child = ApplicationChild.open(self._sealer, app)
        school = uow.schools.get(app.school_id)
        return QueueRow(
            application_id=app.application_id,
            created_at=app.created_at,
            age_days=int((now - app.created_at) // DAY_SECONDS),
            child_age=age_on(child.birthdate, today(now)),
            school_id=app.school_id,
            school_name="" if school is None else school.short_name,
            status=str(app.status),
            checks=app.checks,
            documents=len(uow.applications.documents(app.application_id)),
        )


def _reason(value: str) -> RejectReason:
    try:
        return RejectReason(value.strip())
    except ValueError:
        allowed = ", ".join(r.value for r in RejectReason)
        raise ValidationFailed([f"reason: one of {allowed}"]) from None


def _note(value: str, *, required: bool) -> str:
    text = value.strip()
    if len(text) > MAX_NOTE:
        raise ValidationFailed([f"note: at most {MAX_NOTE} characters"])
    if required and not text:
        raise ValidationFailed(["note: say what the parent should do"])
    return text
