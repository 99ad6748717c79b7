"""``gateway.admin.revocation.revoke_and_mark``: grants end durably and audited in one
transaction, and their access tokens are marked revoked only after it committed."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.admin.revocation import Revoked
from gateway.admin.revocation import revoke_and_mark
from gateway.core.errors import NotFound
from gateway.core.ports import UnitOfWork
from gateway.core.types import Client
from gateway.core.types import Grant


class _Marks:
    """A ``GrantRevoker`` that checks, at each mark, that the revocation is committed."""

    def __init__(self, services: Any) -> None:
        self.services = services
        self.marked: list[str] = []

    def mark_grant_revoked(self, grant_id: str) -> None:
        assert _revoked_at(self.services, grant_id) is not None, "marked before commit"
        self.marked.append(grant_id)

    def is_grant_revoked(self, grant_id: str) -> bool:
        return grant_id in self.marked


def _revoked_at(services: Any, grant_id: str) -> float | None:
    """When the grant was revoked, as a new transaction sees it (committed state)."""
    with services.uow(read_only=True) as tx:
        grant = tx.grants.get(grant_id)
    assert grant is not None
    revoked_at: float | None = grant.revoked_at
    return revoked_at


def _grant(services: Any, grant_id: str) -> Grant:
    with services.uow() as tx:
        if tx.clients.get("school-diary") is None:
            tx.clients.add(
                Client(
                    client_id="school-diary",
                    redirect_uris=("https://school-diary.example/cb",),
                    scopes=("openid",),
                )
            )
        grant = Grant(
            grant_id=grant_id,
            client_id="school-diary",
            subject_id="subj-1",
            sub="pairwise-1",
            scopes=("openid",),
            created_at=services.clock.now(),
            expires_at=services.clock.now() + 3600,
        )
        tx.grants.add(grant)
        tx.commit()
    return grant


def _events(services: Any, name: str) -> list[Any]:
    with services.uow(read_only=True) as tx:
        return [e for e in tx.audit.iter_all() if e.event == name]


def _revoke_all(tx: UnitOfWork, now: float) -> Revoked:
    ids = tx.grants.revoke_where(now, client_id="school-diary")
    return Revoked(ids, "client.grants_revoked", {"client_id": "school-diary"})


def test_revoked_audited_committed_then_marked(services: Any) -> None:
    _grant(services, "g-1")
    _grant(services, "g-2")
    marks = _Marks(services)
    revoked = revoke_and_mark(services.uow, services.clock, marks, _revoke_all)
    assert sorted(revoked) == ["g-1", "g-2"]
    assert sorted(marks.marked) == ["g-1", "g-2"]
    (event,) = _events(services, "client.grants_revoked")
    assert event.fields == {"client_id": "school-diary", "grants": 2}


def test_nothing_changed_nothing_audited_or_marked(services: Any) -> None:
    marks = _Marks(services)
    assert revoke_and_mark(services.uow, services.clock, marks, lambda tx, now: None) == []
    assert marks.marked == []
    assert _events(services, "client.grants_revoked") == []


def test_a_refusal_rolls_back_and_marks_nothing(services: Any) -> None:
    _grant(services, "g-1")
    marks = _Marks(services)

    def refuse(tx: UnitOfWork, now: float) -> Revoked:
        tx.grants.revoke_where(now, client_id="school-diary")
        raise NotFound("no live consent with that id")

    with pytest.raises(NotFound):
        revoke_and_mark(services.uow, services.clock, marks, refuse)
    assert marks.marked == []
    assert _revoked_at(services, "g-1") is None
    assert _events(services, "client.grants_revoked") == []


def test_without_a_revoker_the_grants_still_end(services: Any) -> None:
    _grant(services, "g-1")
    assert revoke_and_mark(services.uow, services.clock, None, _revoke_all) == ["g-1"]
    assert _revoked_at(services, "g-1") is not None
