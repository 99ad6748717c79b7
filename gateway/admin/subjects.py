"""How the admin side names people: by subject digest, never by personal data.

``subject_digest`` is the digest every audit event and log line uses for a subject
(``keyed_digest(pepper, "audit_subject", subject_id)[:32]``, the same as
``gateway.journey.subjects.subject_digest``; a test keeps the two equal — the admin use
cases may not import the journey). Admin pages and URLs show digests; an admin who has a
digest (from the audit log or a consent list) can look the subject up with
:func:`resolve_subject`, which walks the subject ids in pages and compares digests — a
linear scan, fine for admin use, never on a login path.
"""

from __future__ import annotations

import re

from gateway.core.ids import keyed_digest
from gateway.core.ports import UnitOfWorkFactory

DIGEST_LENGTH = 32
_DIGEST = re.compile(r"^[0-9a-f]{32}$")
_SUBJECT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PAGE = 1000


def subject_digest(pepper: bytes, subject_id: str) -> str:
    """How a subject appears in audit events, logs and admin pages."""
    return keyed_digest(pepper, "audit_subject", subject_id)[:DIGEST_LENGTH]


def looks_like_digest(value: str) -> bool:
    return bool(_DIGEST.match(value))


def resolve_subject(uow: UnitOfWorkFactory, pepper: bytes, value: str) -> str | None:
    """The internal subject id named by ``value``: a subject digest or an internal id.

    :returns: ``None`` when no subject matches.
    """
    value = value.strip()
    if looks_like_digest(value):
        after: str | None = None
        while True:
            with uow(read_only=True) as tx:
                page = tx.admin_queries.subject_ids(after=after, limit=_PAGE)
            for subject_id in page:
                if subject_digest(pepper, subject_id) == value:
                    return subject_id
            if len(page) < _PAGE:
                return None
            after = page[-1]
    if not _SUBJECT_ID.match(value):
        return None
    with uow(read_only=True) as tx:
        subject = tx.subjects.get(value)
    return None if subject is None else subject.subject_id
