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
