"""``SubjectClaims``: the :class:`~gateway.core.ports.ClaimsSource` of userinfo and ID tokens.

Claims come from the subject's sealed profile and are limited twice (SECURITY.md T98):
only claims that some granted scope declares in the catalogue, and only the profile
fields vhod keeps at all (never SNILS, documents or children's names). ``sub`` is not
produced here: the OAuth layer computes the pairwise value.

:meth:`SubjectClaims.children` is what the ``children`` claim is made of (issue 11 item 7):
for each child the parent may act for at that client (``links_for_client``), the first
name from the child's sealed profile, the school's short name and the class from the
roster entry that proved the link — nothing else (T98); ``gateway.oauth`` replaces the
internal id with the client's pairwise id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.config.schema import ScopeSettings
from gateway.core.children import ChildClaim
from gateway.core.children import links_for_client
from gateway.core.ports import ClaimsSource
from gateway.core.ports import Clock
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.profiles import open_profile

DERIVED_NAME = "name"


def allowed_claims(scopes: tuple[str, ...], catalogue: Mapping[str, ScopeSettings]) -> set[str]:
    """Every claim some scope of ``scopes`` declares in the catalogue."""
    allowed: set[str] = set()
    for scope in scopes:
        settings = catalogue.get(scope)
        if settings is not None:
            allowed.update(settings.claims)
    allowed.discard("sub")
    return allowed


class SubjectClaims:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        sealer: Sealer,
        catalogue: Mapping[str, ScopeSettings],
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._sealer = sealer
        self._catalogue = catalogue
        self._clock = clock

    def claims(self, subject_id: str, scopes: tuple[str, ...]) -> dict[str, Any]:
        allowed = allowed_claims(scopes, self._catalogue)
        if not allowed:
            return {}
        with self._uow() as uow:
            subject = uow.subjects.get(subject_id)
        if subject is None:
            return {}
        profile = open_profile(self._sealer, subject)
        if DERIVED_NAME in allowed:
            parts = [profile.get(k) for k in ("given_name", "middle_name", "family_name")]
            full = " ".join(str(p) for p in parts if p)
            if full:
                profile[DERIVED_NAME] = full
        return {k: v for k, v in profile.items() if k in allowed}

    def children(self, parent_id: str, client_id: str) -> list[ChildClaim]:
        now = self._clock.now()
        found: list[ChildClaim] = []
        with self._uow(read_only=True) as uow:
            links = links_for_client(uow.guardianships, uow.schools, parent_id, client_id, now)
            for link in links:
                child = uow.subjects.get(link.child_id)
                school = None if link.school_id is None else uow.schools.get(link.school_id)
                entry = (
                    None if link.roster_entry_id is None else uow.rosters.get(link.roster_entry_id)
                )
                profile = {} if child is None else open_profile(self._sealer, child)
                found.append(
                    ChildClaim(
                        child_id=link.child_id,
                        given_name=str(profile.get("given_name", "")),
                        school="" if school is None else school.short_name,
                        class_name="" if entry is None else entry.class_name,
                        link_id=link.guardianship_id,
                    )
                )
        return found


_: type[ClaimsSource] = SubjectClaims
