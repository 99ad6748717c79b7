"""The OAuth repositories on SQLite and PostgreSQL: atomic use of refresh tokens, revoked
grants that stay revoked, filters, and the back-channel queue's leases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gateway.core.types import Grant
from gateway.core.types import LogoutDelivery
from gateway.core.types import RefreshToken
from gateway.core.types import Rotation
from gateway.store.sql import migrate
from gateway.store.sql.engine import create_engine
from gateway.store.sql.uow import SqlUnitOfWorkFactory
from tests.contract import databases
from tests.helpers.backends import require


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def uow(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlUnitOfWorkFactory]:
    engine: Engine
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'oauth.db'}")
        migrate.upgrade(engine)
        yield SqlUnitOfWorkFactory(engine)
        engine.dispose()
        return
    problem = databases.postgres_problem()
    require("postgresql", problem is None, problem or "")
    with databases.postgres_schema() as engine:
        migrate.upgrade(engine)
        yield SqlUnitOfWorkFactory(engine)


def grant(grant_id: str = "g1", **kw: object) -> Grant:
    values: dict[str, object] = {
        "grant_id": grant_id,
        "client_id": "school",
        "subject_id": "subject-1",
        "sub": "pairwise-1",
        "scopes": ("openid", "profile"),
        "created_at": 10.0,
        "expires_at": 1000.0,
        "sid": "sid-1",
        "amr": ("pwd",),
    }
    values.update(kw)
    return Grant(**values)  # type: ignore[arg-type]


def test_grant_round_trip_and_find_subject(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as tx:
        tx.grants.add(grant())
        tx.commit()
    with uow() as tx:
        assert tx.grants.get("g1") == grant()
        assert tx.grants.find_subject("school", "pairwise-1") == "subject-1"
        assert tx.grants.find_subject("other", "pairwise-1") is None


def test_revoked_first_stays_revoked(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as tx:
        tx.grants.revoke(grant(), 50.0)
        tx.commit()
    with uow() as tx:
        tx.grants.add(grant())
        tx.commit()
    with uow() as tx:
        stored = tx.grants.get("g1")
    assert stored is not None
    assert stored.revoked_at == 50.0


def test_revoke_existing_keeps_the_first_revocation_time(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as tx:
        tx.grants.add(grant())
        tx.grants.revoke(grant(), 20.0)
        tx.grants.revoke(grant(), 30.0)
        tx.commit()
    with uow() as tx:
        stored = tx.grants.get("g1")
    assert stored is not None
    assert stored.revoked_at == 20.0


def test_revoke_where_filters(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as tx:
        tx.grants.add(grant("a"))
        tx.grants.add(grant("b", scopes=("openid", "offline_access")))
        tx.grants.add(grant("c", sid="sid-2"))
        tx.grants.add(grant("d", client_id="other", sid="sid-3"))
        tx.commit()
    with uow() as tx:
        assert tx.grants.revoke_where(5.0, sid="sid-1", keep_offline=True) == ["a"]
        assert tx.grants.revoke_where(6.0, subject_id="subject-1", client_id="school") == [
            "b",
            "c",
        ]
        assert tx.grants.revoke_where(7.0, sid="sid-1") == []
        tx.commit()
    with pytest.raises(ValueError, match="filter"), uow() as tx:
        tx.grants.revoke_where(8.0)


def test_refresh_token_is_used_once_with_its_next_link(uow: SqlUnitOfWorkFactory) -> None:
    token = RefreshToken("d1", "g1", "school", 1, ("openid",), 1.0, 99.0)
    link = RefreshToken("d2", "g1", "school", 2, ("openid",), 5.0, 99.0)
    with uow() as tx:
        tx.grants.add(grant("g1"))
        tx.refresh_tokens.add(token)
        tx.commit()
    with uow(read_only=True) as tx:
        found = tx.refresh_tokens.find("d1")
        assert tx.refresh_tokens.find("missing") is None
    assert found is not None
    assert found[0] == token
    assert found[1] == grant("g1")
    with uow(atomic_statements=True) as tx:
        assert tx.refresh_tokens.use_and_link("d1", 5.0, link)
        tx.commit()
    for atomic in (True, False):  # used is used, with or without a transaction around it
        with uow(atomic_statements=atomic) as tx:
            assert not tx.refresh_tokens.use_and_link("d1", 6.0, replace(link, digest="d3"))
            assert not tx.refresh_tokens.use_and_link("missing", 6.0, replace(link, digest="d4"))
            tx.commit()
    with uow(read_only=True) as tx:
        used = tx.refresh_tokens.get("d1")
        assert tx.refresh_tokens.get("d2") == link
        assert tx.refresh_tokens.get("d3") is None, "a lost use adds no link"
        assert tx.refresh_tokens.get("d4") is None
    assert used is not None
    assert used.used_at == 5.0


def test_a_use_not_committed_leaves_the_token_unused(uow: SqlUnitOfWorkFactory) -> None:
    # The transactional form (a child's grant: the use and its audit commit together).
    with uow() as tx:
        tx.grants.add(grant("g1"))
        tx.refresh_tokens.add(RefreshToken("d1", "g1", "school", 1, ("openid",), 1.0, 99.0))
        tx.commit()
    link = RefreshToken("d2", "g1", "school", 2, ("openid",), 5.0, 99.0)
    with uow() as tx:
        assert tx.refresh_tokens.use_and_link("d1", 5.0, link)
    with uow(read_only=True) as tx:
        found = tx.refresh_tokens.find("d1")
        assert tx.refresh_tokens.get("d2") is None
    assert found is not None
    assert found[0].used_at is None


def test_a_token_whose_grant_is_gone_is_found_without_it(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as tx:
        tx.refresh_tokens.add(RefreshToken("d1", "gone", "school", 1, ("openid",), 1.0, 99.0))
        tx.commit()
    with uow(read_only=True) as tx:
        found = tx.refresh_tokens.find("d1")
    assert found is not None
    assert found[1] is None


def terms(**kw: object) -> Rotation:
    values: dict[str, object] = {
        "client_id": "school",
        "client_scopes": frozenset({"openid", "profile", "diary"}),
        "requested_scopes": frozenset(),
        "now": 50.0,
        "cutoff": 0.0,
        "idle_until": 80.0,
        "next_digest": "next",
    }
    values.update(kw)
    return Rotation(**values)  # type: ignore[arg-type]


ADMITTED_TOKEN = RefreshToken("d1", "g1", "school", 3, ("openid", "profile"), 1.0, 99.0)
ROTATIONS: dict[str, tuple[RefreshToken, Grant | None, Rotation]] = {
    "admitted": (ADMITTED_TOKEN, grant("g1"), terms()),
    "a narrower scope": (ADMITTED_TOKEN, grant("g1"), terms(requested_scopes={"openid"})),
    "used": (replace(ADMITTED_TOKEN, used_at=40.0), grant("g1"), terms()),
    "another client's": (ADMITTED_TOKEN, grant("g1"), terms(client_id="other")),
    "the token expired": (replace(ADMITTED_TOKEN, expires_at=50.0), grant("g1"), terms()),
    "a wider scope": (ADMITTED_TOKEN, grant("g1"), terms(requested_scopes={"openid", "diary"})),
    "a scope the client lost": (
        ADMITTED_TOKEN,
        grant("g1"),
        terms(client_scopes=frozenset({"openid"})),
    ),
    "the grant is gone": (ADMITTED_TOKEN, None, terms()),
    "the grant revoked": (ADMITTED_TOKEN, grant("g1", revoked_at=45.0), terms()),
    "the grant expired": (ADMITTED_TOKEN, grant("g1", expires_at=50.0), terms()),
    "the grant before the cutoff": (ADMITTED_TOKEN, grant("g1"), terms(cutoff=10.5)),
    "a child's grant": (ADMITTED_TOKEN, grant("g1", acting_for="child-1"), terms()),
}


@pytest.mark.parametrize("case", list(ROTATIONS))
def test_rotation_in_one_write_only_when_every_term_holds(
    uow: SqlUnitOfWorkFactory, case: str
) -> None:
    """``rotate`` (PostgreSQL: one statement with the checks in SQL) gives the same answer
    as ``Rotation.admits``, and writes nothing when it does not admit."""
    token, family, rotation = ROTATIONS[case]
    with uow() as tx:
        if family is not None:
            tx.grants.add(family)
            if family.revoked_at is not None:
                tx.grants.revoke(family, family.revoked_at)
        tx.refresh_tokens.add(token)
        tx.commit()
    with uow(read_only=True) as tx:
        found = tx.refresh_tokens.find("d1")
    assert found is not None
    admitted = rotation.admits(*found)
    assert admitted == (case in ("admitted", "a narrower scope"))
    with uow(atomic_statements=True) as tx:
        rotated = tx.refresh_tokens.rotate("d1", rotation)
        tx.commit()
    with uow(read_only=True) as tx:
        after = tx.refresh_tokens.get("d1")
        link = tx.refresh_tokens.get("next")
    if not admitted:
        assert rotated is None
        assert after == token, "nothing written"
        assert link is None
        return
    assert rotated == found
    assert after == replace(token, used_at=50.0)
    assert link == RefreshToken("next", "g1", "school", 4, ("openid", "profile"), 50.0, 80.0)
    with uow(atomic_statements=True) as tx:  # used is used
        assert tx.refresh_tokens.rotate("d1", replace(rotation, next_digest="again")) is None
        tx.commit()
    with uow(read_only=True) as tx:
        assert tx.refresh_tokens.get("again") is None


def test_rotation_link_expires_with_its_family(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as tx:
        tx.grants.add(grant("g1", expires_at=70.0))
        tx.refresh_tokens.add(ADMITTED_TOKEN)
        tx.commit()
    with uow(atomic_statements=True) as tx:
        assert tx.refresh_tokens.rotate("d1", terms()) is not None
        tx.commit()
    with uow(read_only=True) as tx:
        link = tx.refresh_tokens.get("next")
    assert link is not None
    assert link.expires_at == 70.0


def test_logout_queue_leases(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as tx:
        for n in range(3):
            tx.logout_queue.enqueue(LogoutDelivery(f"q{n}", "school", "sid", "sub", 1.0, 10.0 + n))
        tx.commit()
    with uow() as tx:
        assert tx.logout_queue.claim_due(9.0, 10, 30) == []
        claimed = tx.logout_queue.claim_due(11.0, 10, 30)
        tx.commit()
    assert [d.delivery_id for d in claimed] == ["q0", "q1"]
    with uow() as tx:
        assert tx.logout_queue.claim_due(11.5, 10, 30) == []
        tx.logout_queue.complete("q0")
        tx.logout_queue.reschedule("q1", 1, 15.0)
        tx.commit()
    with uow() as tx:
        again = tx.logout_queue.claim_due(20.0, 10, 30)
        tx.commit()
    assert [(d.delivery_id, d.attempts) for d in again] == [("q2", 0), ("q1", 1)]
