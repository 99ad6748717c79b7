"""``SubjectClaims``: the :class:`~gateway.core.ports.ClaimsSource` of userinfo and ID tokens.

Claims come from the subject's sealed profile and are limited twice (SECURITY.md T98):
only claims that some granted scope declares in the catalogue, and only the profile
fields vhod keeps at all (never SNILS, documents or children's names). ``sub`` is not
produced here: the OAuth layer computes the pairwise value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.config.schema import ScopeSettings
from gateway.core.ports import ClaimsSource
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
        self, uow: UnitOfWorkFactory, sealer: Sealer, catalogue: Mapping[str, ScopeSettings]
    ) -> None:
        self._uow = uow
        self._sealer = sealer
        self._catalogue = catalogue

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


_: type[ClaimsSource] = SubjectClaims
