"""vhod's own account pages as a use case: who is signed in, their consents, revocation.

Revoking a consent (SECURITY.md T97) in one transaction: the consent records are closed
(``revoked_reason = "user"``), the client's grants for the person are revoked durably
(``uow.grants.revoke_where``: their refresh tokens stop), and ``consent.revoked`` is
audited; after the commit each revoked grant is handed to the
:class:`~gateway.core.ports.GrantRevoker`, which makes its access tokens fail at once.
The next login to that client asks for consent again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.config.schema import ScopeSettings
from gateway.core.ids import subject_digest
from gateway.core.ports import Clock
from gateway.core.ports import GrantRevoker
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.profiles import open_profile
from gateway.core.types import Client
from gateway.core.types import Subject

REVOKED_BY_USER = "user"


@dataclass(frozen=True)
class ConsentView:
    client_id: str
    client_name: str
    scopes: tuple[str, ...]
    granted_at: float
    for_child: str | None = None
    """The child's first name when the consent lets the client act for a child."""


@dataclass(frozen=True)
class AccountView:
    """What the account page shows (the name is personal data: page only, never logs)."""

    display_name: str
    consents: tuple[ConsentView, ...]


class AccountService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        sealer: Sealer,
        clock: Clock,
        pepper: bytes,
        catalogue: Mapping[str, ScopeSettings],
    ) -> None:
        self._uow = uow
        self._sealer = sealer
        self._clock = clock
        self._pepper = pepper
        self._catalogue = catalogue

    def overview(self, subject_id: str) -> AccountView | None:
        """The person's name and live consents; ``None`` for an unknown subject."""
        with self._uow() as uow:
            subject = uow.subjects.get(subject_id)
            if subject is None:
                return None
            consents = uow.consents.list_active(subject_id)
            names = {c.client_id: uow.clients.get(c.client_id) for c in consents}
            children = {
                c.acting_for: uow.subjects.get(c.acting_for)
                for c in consents
                if c.acting_for is not None
            }
        profile = open_profile(self._sealer, subject)
        display = " ".join(
            str(profile[k]) for k in ("given_name", "middle_name", "family_name") if profile.get(k)
        )
        views = tuple(
            ConsentView(
                client_id=c.client_id,
                client_name=client_name(names.get(c.client_id), c.client_id),
                scopes=c.scopes,
                granted_at=c.granted_at,
                for_child=None
                if c.acting_for is None
                else self._first_name(children[c.acting_for]),
            )
            for c in consents
        )
        return AccountView(display_name=display, consents=views)

    def _first_name(self, child: Subject | None) -> str:
        """The child's first name for the page (personal data: page only, never logs)."""
        given = None if child is None else open_profile(self._sealer, child).get("given_name")
        return str(given) if given else "—"

    def revoke_consent(
        self, subject_id: str, client_id: str, grant_revoker: GrantRevoker | None
    ) -> bool:
        """Withdraw the person's consent for ``client_id`` and end its grants.

        :param grant_revoker: makes the revoked grants' access tokens fail at once
            (``gateway.oauth``); without one they live until they expire
            (``oauth.access_token_ttl_seconds``) while their refresh tokens are dead.
        :returns: whether a live consent existed.
        """
        now = self._clock.now()
        with self._uow() as uow:
            revoked = uow.consents.revoke(subject_id, client_id, now, REVOKED_BY_USER)
            if revoked == 0:
                return False
            grant_ids = uow.grants.revoke_where(now, subject_id=subject_id, client_id=client_id)
            uow.audit.append(
                now,
                "consent.revoked",
                {
                    "client_id": client_id,
                    "subject": subject_digest(self._pepper, subject_id),
                    "grants": len(grant_ids),
                    "by": REVOKED_BY_USER,
                },
            )
            uow.commit()
        if grant_revoker is not None:
            for grant_id in grant_ids:
                grant_revoker.mark_grant_revoked(grant_id)
        return True


def client_name(client: Client | None, fallback: str) -> str:
    """A client's name as people see it (its id when it has none)."""
    return client.name if client is not None and client.name else fallback
