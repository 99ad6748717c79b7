"""A person's second factors for admins: what is enrolled, and the reset.

When a person has lost their phone or authenticator app, an admin (or ``vhod admins
reset-factors``) removes every enrolled factor of theirs; the next login that needs a
second factor offers the SMS code to the ESIA-verified mobile again, which enrols it anew.
The :class:`~gateway.core.factors.FactorManagement` port does the removal and audits it
(``factor.reset`` with the subject digest, the actor and how many were removed).

People are named by subject digest (or internal subject id, for the CLI), resolved with
:func:`~gateway.admin.subjects.resolve_subject`; an unknown one is ``NotFound``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.admin.subjects import resolve_subject
from gateway.admin.subjects import subject_digest
from gateway.core.errors import NotFound
from gateway.core.factors import EnrolledFactor
from gateway.core.factors import FactorManagement
from gateway.core.ports import UnitOfWorkFactory


@dataclass(frozen=True)
class SubjectFactors:
    """A person's enrolled factors as admins see them: a digest, never personal data."""

    subject: str
    factors: tuple[EnrolledFactor, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "factors": [
                {
                    "kind": f.kind.value,
                    "label": f.label,
                    "created_at": f.created_at,
                    "last_used_at": f.last_used_at,
                }
                for f in self.factors
            ],
        }


def _subject_id(uow: UnitOfWorkFactory, pepper: bytes, subject: str) -> str:
    subject_id = resolve_subject(uow, pepper, subject)
    if subject_id is None:
        raise NotFound("no such subject")
    return subject_id


def enrolled_factors(
    uow: UnitOfWorkFactory, pepper: bytes, factors: FactorManagement, subject: str
) -> SubjectFactors:
    """The person's active factors.

    :param subject: a subject digest or an internal subject id.
    :raises NotFound: no such subject.
    """
    subject_id = _subject_id(uow, pepper, subject)
    return SubjectFactors(subject_digest(pepper, subject_id), tuple(factors.enrolled(subject_id)))


def reset_factors(
    uow: UnitOfWorkFactory, pepper: bytes, factors: FactorManagement, subject: str, actor: str
) -> tuple[str, int]:
    """Remove every enrolled factor of the person (audited ``factor.reset`` by the port).

    :param subject: a subject digest or an internal subject id.
    :param actor: the acting admin's subject digest, or ``cli``.
    :returns: the subject digest and how many credentials were removed.
    :raises NotFound: no such subject.
    """
    subject_id = _subject_id(uow, pepper, subject)
    return subject_digest(pepper, subject_id), factors.reset(subject_id, actor)
