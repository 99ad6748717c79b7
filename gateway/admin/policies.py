"""Rule documents for admins: validate, apply, roll back, history, explain, dry run.

* **Apply** is one transaction: the text is validated (every problem at once, with line
  numbers), inserted as the next version and made the only active one, and
  ``policy.applied`` is audited with the version, the text's SHA-256 and the author (an
  admin's subject digest, or ``cli``). The applying process sees it at once; the others
  within ``[admin] policy_reload_seconds`` (see ``policies.documents.source``).
* **Rollback** applies an old version's text again as a new version: history keeps
  everything, and the audit trail shows the rollback as what it is.
* **Explain** answers what a client would get for a person (an internal subject id or a
  subject digest; never an ESIA id or SNILS), rule by rule, assuming an ESIA login now
  (``acr`` may be given to ask "and with a second factor?").
* **Dry run** compares the decisions under the active and a candidate document for the
  clients, people and scopes of recent live grants.

Personal data (birth dates, for ages) is read through ``age_of``, which the composition
root passes in (it opens the sealed profile); nothing personal leaves this module except
the age band's effect on decisions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from typing import Any

from gateway.admin.subjects import resolve_subject
from gateway.admin.subjects import subject_digest
from gateway.config.schema import ACR_ESIA
from gateway.config.schema import ACR_VALUES
from gateway.config.schema import ScopeSettings
from gateway.core.audit import audit
from gateway.core.children import links_for_client
from gateway.core.children import serves
from gateway.core.errors import NotFound
from gateway.core.errors import ValidationFailed
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from gateway.core.ports import PolicyDocumentRecord
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWork
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.profiles import profile_age
from gateway.core.types import AuthContext
from gateway.core.types import Grant
from gateway.core.types import JourneyKind
from gateway.core.types import Subject
from policies.checks import PolicyContext
from policies.documents.parse import DocumentInvalid
from policies.documents.parse import Problem
from policies.documents.parse import parse_document
from policies.documents.parse import unknown_clients
from policies.documents.source import DEFAULT_VERSION
from policies.documents.source import ActiveRuleDocuments
from policies.documents.source import LoadedDocument
from policies.documents.source import default_text
from policies.documents.source import load_text
from policies.documents.source import text_sha256
from policies.dryrun import DryRunCase
from policies.dryrun import DryRunReport
from policies.dryrun import dry_run
from policies.explain import Explanation
from policies.explain import explain

log = logging.getLogger(__name__)

AgeOf = Callable[[Subject], int | None]
"""The age in whole years of a subject (from the sealed profile), or ``None``."""


def age_reader(sealer: Sealer, clock: Clock) -> AgeOf:
    """Ages for the policy use cases (explain, dry runs), read from the sealed profile."""

    def age(subject: Subject) -> int | None:
        return profile_age(sealer, subject, clock.now())

    return age


CANDIDATE_VERSION = "candidate"
MAX_COMMENT = 500
DRY_RUN_DAYS = 30
DRY_RUN_LIMIT = 500


@dataclass(frozen=True)
class ValidationReport:
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    rules: int

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.ok,
            "rules": self.rules,
            "problems": [{"line": p.line, "message": p.message} for p in self.problems],
            "warnings": [{"line": p.line, "message": p.message} for p in self.warnings],
        }


def validate_text(
    text: str, catalogue: Mapping[str, ScopeSettings], known_clients: Collection[str]
) -> ValidationReport:
    """Every problem with ``text`` (with lines), and warnings (unregistered clients)."""
    try:
        document = parse_document(text, catalogue)
    except DocumentInvalid as invalid:
        return ValidationReport(tuple(invalid.problems), (), 0)
    warnings = tuple(unknown_clients(document, known_clients))
    return ValidationReport((), warnings, len(document.rules))


def _client_ids(uow: UnitOfWorkFactory) -> list[str]:
    with uow(read_only=True) as tx:
        return [c.client_id for c in tx.clients.list()]


def validate_document(
    uow: UnitOfWorkFactory, catalogue: Mapping[str, ScopeSettings], text: str
) -> ValidationReport:
    return validate_text(text, catalogue, _client_ids(uow))


def record_dict(record: PolicyDocumentRecord, *, with_text: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": record.version,
        "sha256": record.sha256,
        "author": record.author,
        "created_at": record.created_at,
        "applied_at": record.applied_at,
        "active": record.active,
        "comment": record.comment,
    }
    if with_text:
        data["text"] = record.text
    return data


def _check_comment(comment: str) -> str:
    comment = comment.strip()
    if len(comment) > MAX_COMMENT or any(c in comment for c in "\r\n\x00"):
        raise ValidationFailed([f"comment: at most {MAX_COMMENT} characters on one line"])
    return comment


def _apply(
    tx: UnitOfWork, clock: Clock, text: str, author: str, comment: str, **extra: Any
) -> PolicyDocumentRecord:
    now = clock.now()
    record = tx.policies.apply(text, text_sha256(text), author, comment, now)
    audit(
        tx,
        now,
        "policy.applied",
        version=record.version,
        sha256=record.sha256[:16],
        author=author,
        **extra,
    )
    return record


def apply_document(
    uow: UnitOfWorkFactory,
    clock: Clock,
    catalogue: Mapping[str, ScopeSettings],
    text: str,
    author: str,
    comment: str,
    documents: ActiveRuleDocuments | None = None,
) -> PolicyDocumentRecord:
    """Validate ``text`` and make it the active version (one transaction, audited).

    :raises ValidationFailed: every problem, ``line N: …`` each.
    """
    comment = _check_comment(comment)
    try:
        parse_document(text, catalogue)
    except DocumentInvalid as invalid:
        raise ValidationFailed([str(p) for p in invalid.problems]) from None
    with uow() as tx:
        record = _apply(tx, clock, text, author, comment)
        tx.commit()
    if documents is not None:
        documents.invalidate()
    log_event(log, "policy.applied", version=record.version)
    return record


def rollback_document(
    uow: UnitOfWorkFactory,
    clock: Clock,
    catalogue: Mapping[str, ScopeSettings],
    version: int,
    author: str,
    comment: str = "",
    documents: ActiveRuleDocuments | None = None,
) -> PolicyDocumentRecord:
    """Apply version ``version``'s text again, as a new version.

    :raises NotFound: no such version. :raises ValidationFailed: it no longer validates
        (e.g. the scope catalogue changed since).
    """
    comment = _check_comment(comment) or f"rollback to version {version}"
    with uow() as tx:
        old = tx.policies.get(version)
        if old is None:
            raise NotFound(f"policy version {version} not found")
        try:
            parse_document(old.text, catalogue)
        except DocumentInvalid as invalid:
            raise ValidationFailed([str(p) for p in invalid.problems]) from None
        record = _apply(tx, clock, old.text, author, comment, rollback_of=version)
        tx.commit()
    if documents is not None:
        documents.invalidate()
    return record


def policy_history(uow: UnitOfWorkFactory, limit: int = 100) -> list[PolicyDocumentRecord]:
    with uow(read_only=True) as tx:
        return tx.policies.history(limit)


@dataclass(frozen=True)
class ShownDocument:
    version: str
    text: str
    record: PolicyDocumentRecord | None
    """``None`` for the shipped default."""

    def to_dict(self) -> dict[str, Any]:
        if self.record is not None:
            return record_dict(self.record, with_text=True)
        return {"version": self.version, "active": True, "text": self.text}


def show_document(uow: UnitOfWorkFactory, version: int | None = None) -> ShownDocument:
    """A version's text (the active one when ``version`` is ``None``).

    :raises NotFound: no such version.
    """
    with uow(read_only=True) as tx:
        record = tx.policies.active() if version is None else tx.policies.get(version)
    if record is None:
        if version is not None:
            raise NotFound(f"policy version {version} not found")
        return ShownDocument(DEFAULT_VERSION, default_text(), None)
    return ShownDocument(str(record.version), record.text, record)


# --------------------------------------------------------------------------- explain


@dataclass(frozen=True)
class ExplainQuery:
    """What to explain: a client, a person (internal id or digest), scopes."""

    client_id: str
    subject: str
    scopes: tuple[str, ...]
    acting_for: str | None = None
    acr: str = ACR_ESIA


def _subject_or_fail(uow: UnitOfWorkFactory, pepper: bytes, value: str, what: str) -> str:
    subject_id = resolve_subject(uow, pepper, value)
    if subject_id is None:
        raise NotFound(f"{what} not found")
    return subject_id


def _context(
    tx: UnitOfWork,
    catalogue: Mapping[str, ScopeSettings],
    now: float,
    client_id: str,
    subject: Subject,
    scopes: tuple[str, ...],
    auth: AuthContext,
    age_of: AgeOf,
    acting_for: Subject | None,
) -> PolicyContext:
    client = tx.clients.get(client_id)
    consent = tx.consents.active(
        subject.subject_id, client_id, acting_for.subject_id if acting_for else None
    )
    links = links_for_client(tx.guardianships, tx.schools, subject.subject_id, client_id, now)
    return PolicyContext(
        kind=JourneyKind.AUTHORIZE,
        client=client,
        scopes=scopes,
        catalogue=catalogue,
        account_level=subject.account_level,
        auth=auth,
        now=now,
        subject_id=subject.subject_id,
        age=age_of(subject),
        roles=subject.roles,
        consented_scopes=None if consent is None else consent.scopes,
        acting_for=None if acting_for is None else acting_for.subject_id,
        acting_for_age=None if acting_for is None else age_of(acting_for),
        acting_for_linked=acting_for is not None
        and any(link.child_id == acting_for.subject_id for link in links),
        child_links=len(links),
    )


def explain_query(
    uow: UnitOfWorkFactory,
    clock: Clock,
    pepper: bytes,
    catalogue: Mapping[str, ScopeSettings],
    documents: ActiveRuleDocuments,
    query: ExplainQuery,
    age_of: AgeOf,
) -> Explanation:
    """Explain what ``query.client_id`` would get for the person, under the active
    document (assuming a login with ``query.acr`` now).

    :raises ValidationFailed: bad scopes or acr. :raises NotFound: unknown person.
    """
    problems: list[str] = []
    if not query.scopes:
        problems.append("scope: at least one scope")
    if len(query.scopes) > 50 or any(len(s) > 64 for s in query.scopes):
        problems.append("scope: too many or too long")
    if query.acr not in ACR_VALUES:
        problems.append(f"acr: one of {', '.join(ACR_VALUES)}")
    if not query.client_id or len(query.client_id) > 255:
        problems.append("client: a client id is required")
    if problems:
        raise ValidationFailed(problems)
    subject_id = _subject_or_fail(uow, pepper, query.subject, "subject")
    child_id = (
        _subject_or_fail(uow, pepper, query.acting_for, "acting-for subject")
        if query.acting_for
        else None
    )
    now = clock.now()
    auth = AuthContext(acr=query.acr, amr=("pwd",), auth_time=int(now))
    with uow(read_only=True) as tx:
        subject = tx.subjects.get(subject_id)
        child = tx.subjects.get(child_id) if child_id else None
        if subject is None:  # pragma: no cover - resolved just before
            raise NotFound("subject not found")
        ctx = _context(
            tx, catalogue, now, query.client_id, subject, query.scopes, auth, age_of, child
        )
        access = None if child_id is None else child_access(tx, ctx, catalogue, child_id)
    return replace(explain(ctx, documents.current()), child_access=access)


def child_access(
    tx: UnitOfWork,
    ctx: PolicyContext,
    catalogue: Mapping[str, ScopeSettings],
    child_id: str,
) -> dict[str, Any]:
    """Why this parent can or cannot act for this child at this school system: every link
    between them (status, evidence, end, school and whether the client serves it), which
    requested scopes are delegable, the parent's consent for the child here, and the
    guardian consents for the child's own login (issue 11 item 8). Ids and codes only."""
    client_id = ctx.client.client_id if ctx.client is not None else ""
    links = [g for g in tx.guardianships.for_parent(ctx.subject_id) if g.child_id == child_id]
    shown = []
    for link in links:
        shown.append(
            {
                "guardianship_id": link.guardianship_id,
                "status": str(link.status),
                "evidence": str(link.evidence),
                "ends_at": _day(link.ends_at),
                "ended_at": None if link.ended_at is None else _day(link.ended_at),
                "usable": link.usable(ctx.now),
                "school_id": link.school_id,
                "school_serves_client": serves(link, tx.schools, client_id),
            }
        )
    consent = tx.consents.active(ctx.subject_id, client_id, child_id)
    guardian = [
        c
        for c in tx.guardian_consents.active_for_child(child_id, client_id)
        if c.guardian_id == ctx.subject_id
    ]
    not_delegable = [s for s in ctx.scopes if s not in catalogue or not catalogue[s].delegable]
    return {
        "answer": _child_answer(shown, not_delegable, consent is not None),
        "guardianships": shown,
        "not_delegable_scopes": not_delegable,
        "delegable_scopes": [s for s in ctx.scopes if s not in not_delegable],
        "consent_for_child": None if consent is None else list(consent.scopes),
        "guardian_consent_own_login": [list(c.scopes) for c in guardian],
    }


_NOT_USABLE = {
    "ended": "the link was ended (unlinked by the parent or an admin)",
    "pending": "the link is not verified yet",
    "rejected": "the link was rejected",
}


def _child_answer(links: list[dict[str, Any]], not_delegable: list[str], consented: bool) -> str:
    if not links:
        return "no_guardianship: this person has no link to this child"
    usable = [g for g in links if g["usable"]]
    if not usable:
        last = links[-1]
        if last["status"] in ("verified", "expired"):
            return f"guardianship_expired: the link ended at the 18th birthday ({last['ends_at']})"
        return f"guardianship_{last['status']}: {_NOT_USABLE.get(last['status'], '')}".rstrip()
    if not any(g["school_serves_client"] for g in usable):
        return "school_not_served: the child's school is not bound to this school system"
    if not_delegable:
        return f"scope_not_delegable: {' '.join(not_delegable)}"
    if not consented:
        return "consent_missing: the parent is asked on the consent page for this child"
    return "allowed: a verified link at a school of this system, consent for this child"


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).date().isoformat()


# --------------------------------------------------------------------------- dry run


def _grant_case(
    tx: UnitOfWork,
    catalogue: Mapping[str, ScopeSettings],
    pepper: bytes,
    now: float,
    grant: Grant,
    age_of: AgeOf,
) -> DryRunCase | None:
    subject = tx.subjects.get(grant.subject_id)
    if subject is None:
        return None
    child = tx.subjects.get(grant.acting_for) if grant.acting_for else None
    auth = AuthContext(
        acr=grant.acr or ACR_ESIA,
        amr=grant.amr,
        auth_time=grant.auth_time if grant.auth_time is not None else int(now),
    )
    ctx = _context(tx, catalogue, now, grant.client_id, subject, grant.scopes, auth, age_of, child)
    label = {
        "grant": grant.grant_id,
        "client_id": grant.client_id,
        "subject": subject_digest(pepper, grant.subject_id),
        "scopes": " ".join(grant.scopes),
    }
    return DryRunCase(label, ctx)


def dry_run_text(
    uow: UnitOfWorkFactory,
    clock: Clock,
    pepper: bytes,
    catalogue: Mapping[str, ScopeSettings],
    documents: ActiveRuleDocuments,
    text: str,
    age_of: AgeOf,
    *,
    days: int = DRY_RUN_DAYS,
    limit: int = DRY_RUN_LIMIT,
) -> DryRunReport:
    """What ``text`` would change for the live grants of the last ``days`` days.

    :raises ValidationFailed: the candidate does not validate (every problem, with lines).
    """
    try:
        parse_document(text, catalogue)
    except DocumentInvalid as invalid:
        raise ValidationFailed([str(p) for p in invalid.problems]) from None
    candidate: LoadedDocument = load_text(text, CANDIDATE_VERSION, catalogue)
    now = clock.now()
    since = now - max(1, min(days, 3650)) * 86400
    with uow(read_only=True) as tx:
        grants = tx.admin_queries.grants(since=since, limit=max(1, min(limit, 5000)))
        cases = [
            case
            for grant in grants
            if (case := _grant_case(tx, catalogue, pepper, now, grant, age_of)) is not None
        ]
    return dry_run(cases, documents.current(), candidate)
