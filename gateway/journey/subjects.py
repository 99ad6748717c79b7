"""Account resolution: an upstream identity → the internal subject, and its sealed profile.

* The upstream id is looked up by its keyed digest (``keyed_digest(pepper,
  "upstream_subject", oid)``); the raw id is never stored.
* The profile keeps only :data:`PROFILE_FIELDS` of the upstream's attributes (names, birth
  date, e-mail, phone): anything else the mapping let through (SNILS, documents) is
  dropped here too. It is sealed with context ``subject:<subject_id>``.
* Subjects are referred to in audit and logs only by :func:`subject_digest`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from gateway.core.errors import Conflict
from gateway.core.ids import keyed_digest
from gateway.core.ids import new_id
from gateway.core.ids import subject_digest
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWork
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.profiles import open_profile
from gateway.core.profiles import profile_context
from gateway.core.types import Subject
from gateway.core.types import UpstreamIdentity
from gateway.journey.pupils import PupilIdentities

PROFILE_FIELDS = (
    "family_name",
    "given_name",
    "middle_name",
    "birthdate",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
)
"""The upstream attributes vhod keeps (OIDC claim names; ESIA's mapping produces them)."""

ROLE_PARENT = "parent"


def seal_profile(sealer: Sealer, subject_id: str, attributes: dict[str, Any]) -> bytes:
    raw = json.dumps(_profile(attributes), ensure_ascii=False, sort_keys=True).encode()
    return sealer.seal(raw, profile_context(subject_id))


class SubjectResolver:
    """Find or create the subject behind an upstream identity.

    Most logins are by people vhod knows, whose level, roles and profile have not changed
    since their last login: :meth:`resolve` then only reads (one read-only unit of work) and
    writes nothing; ``updated_at`` is when the stored data last changed.
    """

    def __init__(
        self, sealer: Sealer, pepper: bytes, pupils: PupilIdentities | None = None
    ) -> None:
        """:param pupils: find a pupil's subject by SNILS before making a new one
        (:mod:`gateway.journey.pupils`)."""
        self._sealer = sealer
        self._pepper = pepper
        self._pupils = pupils

    def upstream_digest(self, identity: UpstreamIdentity) -> str:
        return keyed_digest(self._pepper, "upstream_subject", identity.subject)

    def resolve(
        self, uow: UnitOfWorkFactory, identity: UpstreamIdentity, now: float
    ) -> tuple[Subject, bool]:
        """The subject, with the upstream's current level and profile stored.

        :returns: (subject, created).
        """
        digest = self.upstream_digest(identity)
        with uow(read_only=True) as reader:
            known = reader.subjects.find_by_upstream(identity.provider, digest)
        if known is not None and self._current(known, identity):
            return known, False
        with uow() as writer:
            subject, created = self._store(writer, identity, digest, now)
            if created:
                fields = {
                    "subject": subject_digest(self._pepper, subject.subject_id),
                    "upstream": identity.provider,
                }
                writer.audit.append(now, "subject.created", fields)
            writer.commit()
        return subject, created

    def _current(self, subject: Subject, identity: UpstreamIdentity) -> bool:
        """Whether ``subject`` already holds what ``identity`` says."""
        return (
            subject.account_level == identity.account_level
            and set(_roles(identity)) <= set(subject.roles)
            and open_profile(self._sealer, subject) == _profile(identity.attributes)
        )

    def _store(
        self, uow: UnitOfWork, identity: UpstreamIdentity, digest: str, now: float
    ) -> tuple[Subject, bool]:
        existing = uow.subjects.find_by_upstream(identity.provider, digest)
        if existing is not None:
            updated = replace(
                existing,
                account_level=identity.account_level,
                roles=tuple(sorted(set(existing.roles) | set(_roles(identity)))),
                sealed_profile=seal_profile(self._sealer, existing.subject_id, identity.attributes),
                updated_at=now,
            )
            uow.subjects.update(updated)
            return updated, False
        if self._pupils is not None:
            pupil = self._pupils.claim(uow, identity, digest, now)
            if pupil is not None:
                updated = replace(
                    pupil,
                    account_level=identity.account_level,
                    sealed_profile=seal_profile(
                        self._sealer, pupil.subject_id, identity.attributes
                    ),
                    updated_at=now,
                )
                uow.subjects.update(updated)
                return updated, False
        subject_id = new_id()
        subject = Subject(
            subject_id=subject_id,
            created_at=now,
            updated_at=now,
            account_level=identity.account_level,
            roles=_roles(identity),
            sealed_profile=seal_profile(self._sealer, subject_id, identity.attributes),
        )
        try:
            uow.subjects.add(subject, identity.provider, digest)
        except Conflict:
            # A concurrent first login of the same person won; use theirs.
            winner = uow.subjects.find_by_upstream(identity.provider, digest)
            if winner is None:
                raise
            return winner, False
        if self._pupils is not None:
            self._pupils.remember(uow, subject, identity)
        return subject, True


def _roles(identity: UpstreamIdentity) -> tuple[str, ...]:
    return (ROLE_PARENT,) if identity.children else ()


def _profile(attributes: dict[str, Any]) -> dict[str, Any]:
    """The kept part of the upstream's attributes, as stored (JSON values)."""
    profile = {k: attributes[k] for k in PROFILE_FIELDS if attributes.get(k) is not None}
    loaded: dict[str, Any] = json.loads(json.dumps(profile, ensure_ascii=False))
    return loaded
