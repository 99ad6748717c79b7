"""The parent's side of link applications (issue 12 items 1, 3 and 5): the form's
validation, submitting with a scan, «Мои заявки», adding a document.

* **Validation** (:func:`validate_form`): every field, every problem at once; each
  :class:`FieldProblem` names the field and the fix in Russian and English and never
  echoes the value (T95). SNILS and certificate go through ``gateway.core.identifiers``.
* **Rate limits** (T94): ``[applications] per_parent_per_day`` per parent and
  ``per_child_per_day`` per SNILS (whoever submits), counted in the ephemeral store
  before anything is looked up.
* **Checks** (``gateway.core.application_checks``): a full match with the chosen school's
  roster verifies at once (a ``Guardianship`` with evidence ``application``); anything
  else — no such pupil, the data differ, a foreign certificate — is the same «в
  рассмотрении» for the parent (T94); the failed checks are for reviewers only.
* Every step is audited (``application.submitted``, ``application.auto_verified``,
  ``application.document_added``) with digests and codes only, and announced to the
  parent by :class:`~gateway.core.applications.PersonNotices`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from dataclasses import replace
from datetime import date

from gateway.config.applications import ApplicationSettings
from gateway.core.application_checks import check_application
from gateway.core.application_checks import indexes
from gateway.core.application_checks import verify_link
from gateway.core.applications import Application
from gateway.core.applications import ApplicationChild
from gateway.core.applications import ApplicationDecision
from gateway.core.applications import ApplicationDocument
from gateway.core.applications import ApplicationStatus
from gateway.core.applications import DecisionAction
from gateway.core.applications import DocumentInspector
from gateway.core.applications import DocumentRefused
from gateway.core.applications import PersonNotices
from gateway.core.applications import document_context
from gateway.core.applications import note_context
from gateway.core.applications import status_notice
from gateway.core.audit import audit
from gateway.core.errors import NotFound
from gateway.core.errors import RateLimited
from gateway.core.identifiers import CertificateKind
from gateway.core.identifiers import IdentifierProblem
from gateway.core.identifiers import check_snils
from gateway.core.identifiers import normalize_snils
from gateway.core.identifiers import parse_birth_certificate
from gateway.core.ids import new_id
from gateway.core.ids import subject_digest
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWork
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.profiles import age_on
from gateway.core.profiles import today
from gateway.core.rosters import iso_date

RATE_NAMESPACE = "application_rate"
DAY_SECONDS = 24 * 3600
MAX_NAME = 100
MAX_CLASS = 16
MAX_ID = 64
ADULT_AGE = 18
_NAME = re.compile(r"^[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё \-'’.]*$")
_CLASS = re.compile(r"^(1[0-2]|[1-9])\s?-?\s?[А-ЯЁA-Zа-яёa-z]?$")

FIELDS = (
    "family_name",
    "given_name",
    "middle_name",
    "birthdate",
    "snils",
    "snils_issued",
    "certificate_kind",
    "certificate_series",
    "certificate_number",
    "certificate_issued",
    "school_id",
    "class_name",
    "scan",
)
"""The form's fields, in page order (``scan`` is the file)."""

_TEXTS: dict[str, tuple[str, str]] = {
    "required": ("Заполните это поле.", "Fill in this field."),
    "too_long": ("Слишком длинно: сократите до 100 знаков.", "Too long: at most 100 characters."),
    "name": (
        "Только буквы, пробел, дефис и апостроф — как в свидетельстве о рождении.",
        "Letters, spaces, hyphens and apostrophes only, as in the birth certificate.",
    ),
    "date": (
        "Укажите дату как ДД.ММ.ГГГГ или ГГГГ-ММ-ДД, не позже сегодняшнего дня.",
        "Give the date as DD.MM.YYYY or YYYY-MM-DD, not after today.",
    ),
    "adult": (
        "Ребёнку уже исполнилось 18 лет: заявление родителя не нужно, он входит сам.",
        "The child is 18 or older: they sign in themselves, no application is needed.",
    ),
    "before_birth": (
        "Документ не может быть выдан раньше даты рождения — проверьте обе даты.",
        "A document cannot be issued before the birth date; check both dates.",
    ),
    "kind": (
        "Выберите вид свидетельства: российское, иностранное или образца СССР.",
        "Choose the certificate kind: Russian, foreign or USSR.",
    ),
    "school": (
        "Выберите школу из результатов поиска по названию или ИНН.",
        "Choose the school from the search results (by name or INN).",
    ),
    "class": (
        "Класс — число от 1 до 11 и буква, например 4Б.",
        "The class is a number from 1 to 11 and a letter, e.g. 4Б.",
    ),
    "scan_required": (
        "Приложите скан или фото свидетельства о рождении (PDF, JPG или PNG, до 5 МБ).",
        "Attach a scan or photo of the birth certificate (PDF, JPG or PNG, up to 5 MB).",
    ),
    "scan_type": (
        "Файл не похож на PDF, JPG или PNG. Сохраните скан в одном из этих форматов.",
        "The file is not a PDF, JPG or PNG. Save the scan in one of these formats.",
    ),
    "scan_polyglot": (
        "Файл содержит посторонние данные. Отсканируйте документ заново и приложите новый файл.",
        "The file holds foreign data. Scan the document again and attach the new file.",
    ),
    "scan_damaged": (
        "Файл повреждён или не открывается. Сохраните скан заново.",
        "The file is damaged or does not open. Save the scan again.",
    ),
    "scan_too_large": (
        "Файл больше 5 МБ или изображение слишком большое. Уменьшите разрешение скана.",
        "The file is over 5 MB or the image is too large. Lower the scan's resolution.",
    ),
    "scan_empty": ("Файл пустой. Приложите скан ещё раз.", "The file is empty. Attach it again."),
}


@dataclass(frozen=True)
class FieldProblem:
    """What is wrong with one field: never the value (T95)."""

    field: str
    code: str
    ru: str
    en: str


def _problem(field: str, code: str) -> FieldProblem:
    ru, en = _TEXTS[code]
    return FieldProblem(field, f"field.{code}", ru, en)


def _from_identifier(field: str, problem: IdentifierProblem) -> FieldProblem:
    return FieldProblem(field, problem.code, problem.ru, problem.en)


class FormProblems(ValueError):
    """The form failed validation; every problem, in page order."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("application form invalid")
        order = {name: i for i, name in enumerate(FIELDS)}
        self.problems = sorted(problems, key=lambda p: order.get(p.field, len(order)))


@dataclass(frozen=True)
class ApplicationForm:
    """The form as typed (strings; the scan comes separately)."""

    family_name: str = ""
    given_name: str = ""
    middle_name: str = ""
    birthdate: str = ""
    snils: str = ""
    snils_issued: str = ""
    certificate_kind: str = "rf"
    certificate_series: str = ""
    certificate_number: str = ""
    certificate_issued: str = ""
    school_id: str = ""
    class_name: str = ""


def _clean(value: str) -> str:
    return " ".join(value.split())


def _name(value: str, field: str, problems: list[FieldProblem], required: bool = True) -> str:
    text = _clean(value)
    if not text:
        if required:
            problems.append(_problem(field, "required"))
    elif len(text) > MAX_NAME:
        problems.append(_problem(field, "too_long"))
    elif not _NAME.match(text):
        problems.append(_problem(field, "name"))
    return text


def _date(value: str, field: str, now: date, problems: list[FieldProblem]) -> str:
    text = _clean(value)
    if not text:
        problems.append(_problem(field, "required"))
        return ""
    parsed = iso_date(text, now)
    if parsed is None:
        problems.append(_problem(field, "date"))
        return ""
    return parsed


def validate_form(
    form: ApplicationForm, now: date, known_school: bool
) -> ApplicationChild | list[FieldProblem]:
    """The child's data, or every problem of the form (the scan is checked apart)."""
    problems: list[FieldProblem] = []
    family = _name(form.family_name, "family_name", problems)
    given = _name(form.given_name, "given_name", problems)
    middle = _name(form.middle_name, "middle_name", problems, required=False)
    birthdate = _date(form.birthdate, "birthdate", now, problems)
    if birthdate:
        age = age_on(birthdate, now)
        if age is not None and age >= ADULT_AGE:
            problems.append(_problem("birthdate", "adult"))
    snils = ""
    snils_problem = check_snils(form.snils)
    if snils_problem is not None:
        problems.append(_from_identifier("snils", snils_problem))
    else:
        snils = normalize_snils(form.snils) or ""
    snils_issued = _date(form.snils_issued, "snils_issued", now, problems)
    if snils_issued and birthdate and snils_issued < birthdate:
        problems.append(_problem("snils_issued", "before_birth"))
    kind = form.certificate_kind.strip().lower()
    series = number = ""
    if kind not in {str(k) for k in CertificateKind}:
        problems.append(_problem("certificate_kind", "kind"))
    else:
        parsed = parse_birth_certificate(form.certificate_series, form.certificate_number, kind)
        if isinstance(parsed, IdentifierProblem):
            field = "certificate_series" if ".series" in parsed.code else "certificate_number"
            problems.append(_from_identifier(field, parsed))
        else:
            series, number = parsed.series, parsed.number
    issued = _date(form.certificate_issued, "certificate_issued", now, problems)
    if issued and birthdate and issued < birthdate:
        problems.append(_problem("certificate_issued", "before_birth"))
    if not known_school:
        problems.append(_problem("school_id", "school"))
    class_name = _clean(form.class_name)
    if not class_name:
        problems.append(_problem("class_name", "required"))
    elif len(class_name) > MAX_CLASS or not _CLASS.match(class_name):
        problems.append(_problem("class_name", "class"))
    if problems:
        return problems
    return ApplicationChild(
        family_name=family,
        given_name=given,
        middle_name=middle,
        birthdate=birthdate,
        snils=snils,
        snils_issued=snils_issued,
        certificate_kind=kind,
        certificate_series=series,
        certificate_number=number,
        certificate_issued=issued,
    )


def scan_problem(error: DocumentRefused) -> FieldProblem:
    return _problem("scan", f"scan_{error.code}")


# --------------------------------------------------------------------------- views


@dataclass(frozen=True)
class ApplicationView:
    """One of the parent's applications as «Мои заявки» shows it."""

    application_id: str
    given_name: str
    family_name: str
    school_name: str
    class_name: str
    status: str
    reason: str | None
    note: str
    created_at: float
    documents: int

    @property
    def can_add_document(self) -> bool:
        return ApplicationStatus(self.status).open


@dataclass(frozen=True)
class Submitted:
    application_id: str
    status: ApplicationStatus


class ChildApplications:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        store: EphemeralStore,
        sealer: Sealer,
        clock: Clock,
        pepper: bytes,
        settings: ApplicationSettings,
        inspector: DocumentInspector,
        notices: PersonNotices,
    ) -> None:
        self._uow = uow
        self._store = store
        self._sealer = sealer
        self._clock = clock
        self._pepper = pepper
        self._settings = settings
        self._inspector = inspector
        self._notices = notices

    @property
    def max_upload_bytes(self) -> int:
        return self._settings.max_upload_bytes

    def known_school(self, school_id: str) -> bool:
        if not school_id or len(school_id) > MAX_ID:
            return False
        with self._uow(read_only=True) as uow:
            return uow.schools.get(school_id) is not None

    def submit(self, parent_id: str, form: ApplicationForm, scan: bytes | None) -> Submitted:
        """Validate, rate-limit, inspect the scan, check, store; verified at once on a
        full match.

        :raises FormProblems: what to fix (nothing stored, nothing counted).
        :raises RateLimited: too many applications by this parent or for this SNILS.
        """
        now = self._clock.now()
        child = validate_form(form, today(now), self.known_school(form.school_id.strip()))
        problems = child if isinstance(child, list) else []
        if scan is None or not scan:
            problems.append(_problem("scan", "scan_required"))
        if problems or isinstance(child, list) or scan is None:
            raise FormProblems(problems)
        keys = indexes(self._sealer, child)
        self._limit(parent_id, keys.snils)
        try:
            document = self._inspector.inspect(scan)
        except DocumentRefused as refused:
            raise FormProblems([scan_problem(refused)]) from None
        application_id = new_id()
        school_id = form.school_id.strip()
        age = age_on(child.birthdate, today(now))
        parent = subject_digest(self._pepper, parent_id)
        with self._uow() as uow:
            result = check_application(
                uow, self._sealer, parent_id, school_id, child, keys, age, now
            )
            application = Application(
                application_id=application_id,
                parent_id=parent_id,
                school_id=school_id,
                class_name=_clean(form.class_name),
                status=ApplicationStatus.PENDING,
                created_at=now,
                updated_at=now,
                sealed_child=child.seal(self._sealer, application_id),
                snils_index=keys.snils,
                certificate_index=keys.certificate,
                checks=result.failed,
                roster_entry_id=None if result.entry is None else result.entry.entry_id,
                child_id=result.child_id,
            )
            uow.applications.add(application)
            self._add_document(uow, application_id, document.media_type, document.content, now)
            audit(
                uow,
                now,
                "application.submitted",
                application_id=application_id,
                parent=parent,
                school_id=school_id,
                checks_failed=len(result.failed),
            )
            if result.full_match:
                verified = verify_link(
                    uow,
                    self._sealer,
                    self._pepper,
                    application,
                    child,
                    application.roster_entry_id,
                    now,
                    "auto",
                )
                application = replace(
                    application,
                    status=ApplicationStatus.APPROVED,
                    child_id=verified.child_id,
                    guardianship_id=verified.guardianship.guardianship_id,
                    decided_at=now,
                    purge_after=now + self._settings.retention_days * DAY_SECONDS,
                )
                uow.applications.save(application)
                uow.applications.add_decision(
                    ApplicationDecision(
                        new_id(), application_id, now, "auto", DecisionAction.AUTO_VERIFIED
                    )
                )
                audit(
                    uow,
                    now,
                    "application.auto_verified",
                    application_id=application_id,
                    matched="roster_snils,roster_certificate,family_name,given_name,birthdate",
                )
            uow.commit()
        self._notices.tell(parent_id, status_notice(application.status))
        return Submitted(application_id, application.status)

    def _limit(self, parent_id: str, snils_index: str) -> None:
        per_parent = self._store.incr(RATE_NAMESPACE, f"parent:{parent_id}", DAY_SECONDS)
        per_child = self._store.incr(RATE_NAMESPACE, f"child:{snils_index}", DAY_SECONDS)
        if (
            per_parent > self._settings.per_parent_per_day
            or per_child > self._settings.per_child_per_day
        ):
            raise RateLimited("applications", DAY_SECONDS)

    def _add_document(
        self, uow: UnitOfWork, application_id: str, media_type: str, content: bytes, now: float
    ) -> None:
        document_id = new_id()
        uow.applications.add_document(
            ApplicationDocument(
                document_id=document_id,
                application_id=application_id,
                uploaded_at=now,
                media_type=media_type,
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                sealed_content=self._sealer.seal(content, document_context(document_id)),
            )
        )

    def mine(self, parent_id: str) -> list[ApplicationView]:
        """The parent's applications, newest first (personal data: page only)."""
        views: list[ApplicationView] = []
        with self._uow(read_only=True) as uow:
            for app in uow.applications.for_parent(parent_id):
                child = ApplicationChild.open(self._sealer, app)
                school = uow.schools.get(app.school_id)
                note = ""
                for decision in uow.applications.decisions(app.application_id):
                    if decision.sealed_note is not None:
                        note = self._sealer.open(
                            decision.sealed_note, note_context(decision.decision_id)
                        ).decode()
                views.append(
                    ApplicationView(
                        application_id=app.application_id,
                        given_name=child.given_name,
                        family_name=child.family_name,
                        school_name="" if school is None else school.short_name,
                        class_name=app.class_name,
                        status=str(app.status),
                        reason=app.reason,
                        note=note,
                        created_at=app.created_at,
                        documents=len(uow.applications.documents(app.application_id)),
                    )
                )
        return views

    def add_document(self, parent_id: str, application_id: str, scan: bytes | None) -> None:
        """Add a document to the parent's open application (``нужен документ`` → back to
        «в рассмотрении»).

        :raises NotFound: not this parent's open application (T94: the same for all).
        :raises FormProblems: the scan is missing or refused.
        """
        now = self._clock.now()
        if len(application_id) > MAX_ID:
            raise NotFound("no such application")
        with self._uow(read_only=True) as reader:
            app = reader.applications.get(application_id)
        if app is None or app.parent_id != parent_id or not app.status.open:
            raise NotFound("no such application")
        if not scan:
            raise FormProblems([_problem("scan", "scan_required")])
        try:
            document = self._inspector.inspect(scan)
        except DocumentRefused as refused:
            raise FormProblems([scan_problem(refused)]) from None
        with self._uow() as uow:
            current = uow.applications.get(application_id)
            if current is None or not current.status.open:
                raise NotFound("no such application")
            self._add_document(uow, application_id, document.media_type, document.content, now)
            changed = current.status is ApplicationStatus.NEEDS_DOCUMENT
            uow.applications.save(
                replace(current, status=ApplicationStatus.PENDING, updated_at=now)
            )
            uow.applications.add_decision(
                ApplicationDecision(
                    new_id(), application_id, now, "parent", DecisionAction.DOCUMENT_ADDED
                )
            )
            audit(
                uow,
                now,
                "application.document_added",
                application_id=application_id,
                parent=subject_digest(self._pepper, parent_id),
            )
            uow.commit()
        if changed:
            self._notices.tell(parent_id, status_notice(ApplicationStatus.PENDING))
