"""The durable store's repositories and unit of work, on SQLite and PostgreSQL.

SQLite: a fresh file per test, migrated to head. PostgreSQL: the session's own schema
(``conftest.postgres_engine``), emptied before each test.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from gateway.core.audit import GENESIS_HASH
from gateway.core.audit import verify_chain
from gateway.core.errors import Conflict
from gateway.core.errors import NotFound
from gateway.core.errors import StoreUnavailable
from gateway.core.ports import UnitOfWork
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.types import AdminInvite
from gateway.core.types import Client
from gateway.core.types import DataKey
from gateway.core.types import KeyState
from gateway.core.types import RefreshToken
from gateway.core.types import SigningKey
from gateway.core.types import TokenFormat
from gateway.store.sql import audit as audit_module
from gateway.store.sql import migrate
from gateway.store.sql.audit import SqlAuditRepository
from gateway.store.sql.engine import create_engine
from gateway.store.sql.uow import SqlUnitOfWork
from gateway.store.sql.uow import SqlUnitOfWorkFactory

_uow: type[UnitOfWork] = SqlUnitOfWork
_factory: type[UnitOfWorkFactory] = SqlUnitOfWorkFactory


def make_client(client_id: str = "school-1", **changes: object) -> Client:
    client = Client(
        client_id=client_id,
        redirect_uris=("https://school.example/cb", "https://school.example/cb2"),
        scopes=("openid", "profile", "diary"),
        grant_types=("authorization_code",),
        secret_digest="ab" * 32,
        name="Школа № 1",
        token_endpoint_auth_method="private_key_jwt",
        token_format=TokenFormat.OPAQUE,
        access_token_alg="PS256",
        id_token_alg="ES256",
        post_logout_redirect_uris=("https://school.example/bye",),
        backchannel_logout_uri="https://school.example/bcl",
        sector="sector-a",
        jwks='{"keys": []}',
        resource="https://api.school.example",
        require_par=True,
        introspection_allowed=True,
        disabled=False,
        created_at=1_790_000_000.123456,
        min_acr="urn:vhod:acr:esia-mfa",
    )
    return replace(client, **changes)  # type: ignore[arg-type]


def make_key(kid: str, state: KeyState, created_at: float) -> SigningKey:
    return SigningKey(
        kid=kid,
        alg="ES256",
        state=state,
        public_jwk=f'{{"kid": "{kid}"}}',
        sealed_private_jwk=b"\x00sealed\xff" + kid.encode(),
        created_at=created_at,
    )


# --------------------------------------------------------------------------- clients


def test_client_round_trips_every_field(uow: SqlUnitOfWorkFactory) -> None:
    client = make_client()
    with uow() as tx:
        tx.clients.add(client)
        tx.commit()
    with uow() as tx:
        got = tx.clients.get("school-1")
        assert got == client
        assert tx.clients.get("nobody") is None
    # Read on the DBAPI cursor (gateway/store/sql/raw.py): flags are bools on both drivers.
    assert got is not None
    assert [type(got.require_par), type(got.disabled)] == [bool, bool]


def test_client_defaults_round_trip(uow: SqlUnitOfWorkFactory) -> None:
    client = Client(client_id="plain", redirect_uris=("https://a.example/cb",), scopes=())
    with uow() as tx:
        tx.clients.add(client)
        tx.commit()
    with uow() as tx:
        assert tx.clients.get("plain") == client


def test_adding_an_existing_client_conflicts_and_keeps_the_transaction(
    uow: SqlUnitOfWorkFactory,
) -> None:
    with uow() as tx:
        tx.clients.add(make_client("a"))
        tx.commit()
    with uow() as tx:
        with pytest.raises(Conflict):
            tx.clients.add(make_client("a", name="other"))
        tx.clients.add(make_client("b"))
        tx.commit()
    with uow() as tx:
        assert [c.client_id for c in tx.clients.list()] == ["a", "b"]
        assert tx.clients.get("a") == make_client("a")


def test_update_and_list_clients(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as tx:
        tx.clients.add(make_client("z"))
        tx.clients.add(make_client("m"))
        tx.commit()
    changed = make_client("z", scopes=("openid",), disabled=True, sector=None)
    with uow() as tx:
        tx.clients.update(changed)
        assert tx.clients.get("z") == changed  # visible in the same transaction
        tx.commit()
    with uow() as tx:
        assert tx.clients.list() == [make_client("m"), changed]
        with pytest.raises(NotFound):
            tx.clients.update(make_client("ghost"))


# --------------------------------------------------------------------------- keys


def test_keys_add_list_filter_update(uow: SqlUnitOfWorkFactory) -> None:
    k1 = make_key("k1", KeyState.RETIRED, 100.0)
    k2 = make_key("k2", KeyState.ACTIVE, 200.0)
    k3 = make_key("k3", KeyState.NEXT, 300.0)
    with uow() as tx:
        for key in (k3, k1, k2):
            tx.keys.add(key)
        tx.commit()
    with uow() as tx:
        assert tx.keys.list() == [k1, k2, k3]
        assert tx.keys.list((KeyState.ACTIVE, KeyState.NEXT)) == [k2, k3]
        assert tx.keys.list(()) == []
        promoted = replace(k3, state=KeyState.ACTIVE, activated_at=400.5)
        tx.keys.update(promoted)
        tx.commit()
    with uow() as tx:
        assert tx.keys.list((KeyState.ACTIVE,)) == [k2, promoted]
        with pytest.raises(Conflict):
            tx.keys.add(k1)
        with pytest.raises(NotFound):
            tx.keys.update(make_key("nope", KeyState.NEXT, 1.0))


def test_reseal_all_transforms_every_sealed_value(uow: SqlUnitOfWorkFactory) -> None:
    keys = [make_key(f"k{i}", KeyState.RETIRED, float(i)) for i in range(5)]
    with uow() as tx:
        for key in keys:
            tx.keys.add(key)
        tx.commit()
    seen: list[str] = []

    def reseal(value: bytes, context: str) -> bytes:
        seen.append(context)
        return value if context == "signing_key:k2" else b"new:" + value

    with uow() as tx:
        assert tx.sealed.reseal_all(reseal) == 4
        tx.commit()
    assert sorted(seen) == [f"signing_key:k{i}" for i in range(5)]
    with uow() as tx:
        stored = {k.kid: k.sealed_private_jwk for k in tx.keys.list()}
        assert tx.sealed.reseal_all(lambda value, _context: value) == 0
    for key in keys:
        expected = key.sealed_private_jwk
        assert stored[key.kid] == (expected if key.kid == "k2" else b"new:" + expected)


# --------------------------------------------------------------------------- invites, data keys


def test_invite_is_used_once(uow: SqlUnitOfWorkFactory) -> None:
    invite = AdminInvite(digest="d" * 64, created_at=10.0, expires_at=1000.0, note="first admin")
    with uow() as tx:
        tx.invites.add(invite)
        tx.commit()
    with uow() as tx:
        assert tx.invites.get("d" * 64) == invite
        assert tx.invites.get("missing") is None
        assert tx.invites.mark_used("d" * 64, 20.0, "subject-digest") is True
        assert tx.invites.mark_used("d" * 64, 21.0, "someone-else") is False
        assert tx.invites.mark_used("missing", 21.0, "x") is False
        tx.commit()
    with uow() as tx:
        assert tx.invites.get("d" * 64) == replace(invite, used_at=20.0, used_by="subject-digest")


def test_concurrent_invite_use_has_one_winner(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as tx:
        tx.invites.add(AdminInvite(digest="race", created_at=1.0, expires_at=2.0))
        tx.commit()
    barrier = threading.Barrier(8)

    def use(n: int) -> bool:
        barrier.wait(timeout=10)
        with uow() as tx:
            won = tx.invites.mark_used("race", 5.0, f"user-{n}")
            tx.commit()
            return won

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sorted(pool.map(use, range(8))) == [False] * 7 + [True]


def test_data_keys_oldest_first(uow: SqlUnitOfWorkFactory) -> None:
    newer = DataKey(key_id="dk-b", wrapped=b"\x01wrapped-b", created_at=20.0)
    older = DataKey(key_id="dk-a", wrapped=b"\x02wrapped-a", created_at=10.0)
    with uow() as tx:
        tx.data_keys.add(newer)
        tx.data_keys.add(older)
        tx.commit()
    with uow() as tx:
        assert tx.data_keys.list() == [older, newer]
        with pytest.raises(Conflict):
            tx.data_keys.add(older)


# --------------------------------------------------------------------------- audit


def _append(uow: SqlUnitOfWorkFactory, n: int, start: float = 1_790_000_000.0) -> None:
    with uow() as tx:
        for i in range(n):
            tx.audit.append(start + i + 0.123456, "client.added", {"client_id": f"c{i}", "n": i})
        tx.commit()


def test_audit_appends_a_verifiable_chain(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as tx:
        first = tx.audit.append(1.5, "admin.invited", {"note": "тест", "ids": ("a", "b")})
        second = tx.audit.append(2.25, "admin.joined", {})
        tx.commit()
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    with uow() as tx:
        events = list(tx.audit.iter_all())
    assert events == [first, second]
    assert events[0].fields == {"note": "тест", "ids": ["a", "b"]}
    assert verify_chain(events) == []


def test_audit_iterates_in_batches(
    uow: SqlUnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_module, "ITER_BATCH_SIZE", 3)
    _append(uow, 10)
    with uow() as tx:
        events = list(tx.audit.iter_all())
    assert [e.seq for e in events] == list(range(1, 11))
    assert verify_chain(events) == []


def test_audit_detects_a_changed_row(uow: SqlUnitOfWorkFactory, engine: Engine) -> None:
    _append(uow, 5)
    with engine.begin() as conn:
        conn.execute(
            sqlalchemy.text("UPDATE audit_events SET fields = :f WHERE seq = 3"),
            {"f": '{"client_id":"evil","n":2}'},
        )
    with uow() as tx:
        problems = verify_chain(tx.audit.iter_all())
    assert [(p.seq, p.problem) for p in problems] == [(3, "row content does not match its hash")]


def test_audit_detects_a_deleted_row(uow: SqlUnitOfWorkFactory, engine: Engine) -> None:
    _append(uow, 5)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("DELETE FROM audit_events WHERE seq = 2"))
    with uow() as tx:
        problems = verify_chain(tx.audit.iter_all())
    assert {p.seq for p in problems} == {3}
    assert any("missing" in p.problem for p in problems)
    assert any("prev_hash" in p.problem for p in problems)


def test_concurrent_audit_appends_keep_one_chain(uow: SqlUnitOfWorkFactory) -> None:
    """8 threads x 25 appends, each in its own transaction: one unbroken chain of 200."""
    threads, per_thread = 8, 25
    barrier = threading.Barrier(threads)

    def appender(worker: int) -> None:
        barrier.wait(timeout=10)
        for i in range(per_thread):
            with uow() as tx:
                tx.audit.append(1000.0 + i, "token.issued", {"worker": worker, "i": i})
                tx.commit()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(appender, range(threads)))
    with uow() as tx:
        events = list(tx.audit.iter_all())
    assert [e.seq for e in events] == list(range(1, threads * per_thread + 1))
    assert verify_chain(events) == []
    assert len({(e.fields["worker"], e.fields["i"]) for e in events}) == threads * per_thread


def test_sqlite_audit_refuses_a_deferred_transaction(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    migrate.upgrade(engine)
    with engine.connect() as connection, pytest.raises(RuntimeError, match="BEGIN IMMEDIATE"):
        SqlAuditRepository(connection).append(1.0, "x.y", {})
    engine.dispose()


# --------------------------------------------------------------------------- unit of work


def test_leaving_without_commit_rolls_back(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as tx:
        tx.clients.add(make_client("dropped"))
        tx.audit.append(1.0, "client.added", {"client_id": "dropped"})
    with uow() as tx:
        assert tx.clients.get("dropped") is None
        assert list(tx.audit.iter_all()) == []


def test_an_exception_rolls_back_and_propagates(uow: SqlUnitOfWorkFactory) -> None:
    class Boom(Exception):
        pass

    def half_done() -> None:
        with uow() as tx:
            tx.clients.add(make_client("half"))
            raise Boom

    with pytest.raises(Boom):
        half_done()
    with uow() as tx:
        assert tx.clients.list() == []


def test_commit_makes_everything_visible_together(
    uow: SqlUnitOfWorkFactory, engine: Engine
) -> None:
    count = sqlalchemy.text(
        "SELECT (SELECT count(*) FROM clients) + (SELECT count(*) FROM audit_events)"
    )
    with uow() as tx:
        tx.clients.add(make_client("whole"))
        tx.audit.append(1.0, "client.added", {"client_id": "whole"})
        with engine.connect() as reader:  # another connection sees nothing before commit
            assert reader.execute(count).scalar_one() == 0
        tx.commit()
        with engine.connect() as reader:
            assert reader.execute(count).scalar_one() == 2


def assert_every_connection_returned(engine: Engine) -> None:
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.checkedout() == 0


def test_a_failed_commit_raises_store_unavailable_and_writes_nothing(
    uow: SqlUnitOfWorkFactory, engine: Engine
) -> None:
    with uow() as tx:
        tx.clients.add(make_client("lost"))
        dbapi_connection = tx.connection.connection.dbapi_connection
        assert dbapi_connection is not None
        dbapi_connection.close()  # the connection is gone before the commit
        with pytest.raises(StoreUnavailable) as failure:
            tx.commit()
    assert failure.value.store == "sql"
    assert_every_connection_returned(engine)
    with uow(read_only=True) as tx:  # the pool replaced the dead connection
        assert tx.clients.get("lost") is None
    assert_every_connection_returned(engine)


def test_a_raw_statement_on_a_lost_connection_raises_store_unavailable(
    uow: SqlUnitOfWorkFactory, engine: Engine
) -> None:
    """The hot reads and writes run on the DBAPI cursor (``gateway/store/sql/raw.py``):
    a driver error is ``StoreUnavailable`` and the connection never goes back broken."""
    for atomic in (True, False):
        with uow(atomic_statements=atomic) as tx:
            dbapi_connection = tx.connection.connection.dbapi_connection
            assert dbapi_connection is not None
            dbapi_connection.close()
            with pytest.raises(StoreUnavailable) as failure:
                tx.refresh_tokens.find("some-digest")
        assert failure.value.store == "sql"
        assert_every_connection_returned(engine)
        with uow() as tx:  # a write without result rows (raw.execute) too
            dbapi_connection = tx.connection.connection.dbapi_connection
            assert dbapi_connection is not None
            dbapi_connection.close()
            with pytest.raises(StoreUnavailable):
                tx.refresh_tokens.add(RefreshToken("d", "g", "c", 1, ("openid",), 1.0, 2.0))
        assert_every_connection_returned(engine)
        with uow(atomic_statements=atomic) as tx:  # the pool replaced the dead connection
            assert tx.refresh_tokens.find("some-digest") is None
    assert_every_connection_returned(engine)


def test_units_of_work_return_their_connection_whatever_happens(
    uow: SqlUnitOfWorkFactory, engine: Engine
) -> None:
    with uow() as tx:
        tx.clients.add(make_client("kept"))
        tx.commit()
    with uow() as tx:
        tx.clients.get("kept")
    with pytest.raises(Conflict), uow() as tx:
        tx.clients.add(make_client("kept"))
    with pytest.raises(RuntimeError), uow(read_only=True) as tx:
        tx.commit()
    assert_every_connection_returned(engine)


def test_a_read_only_unit_of_work_inside_a_writer_neither_waits_nor_sees_its_writes(
    uow: SqlUnitOfWorkFactory,
) -> None:
    """What a cache reload inside a use case does (see ``uow.py``)."""
    with uow() as tx:
        tx.clients.add(make_client("pending"))
        tx.audit.append(1.0, "client.added", {"client_id": "pending"})
        started = time.monotonic()
        with uow(read_only=True) as reader:
            assert reader.clients.get("pending") is None
            with pytest.raises(RuntimeError, match="read-only"):
                reader.commit()
        assert time.monotonic() - started < 2.0  # SQLite busy_timeout is 5 s
        tx.commit()
    with uow(read_only=True) as reader:
        assert reader.clients.get("pending") is not None


def test_a_writer_after_autocommit_units_still_runs_in_one_transaction(
    uow: SqlUnitOfWorkFactory, engine: Engine
) -> None:
    """PostgreSQL's readers and atomic-statement units switch their pooled connection to
    autocommit; it must be switched back before a writer gets it, or a writer failing
    half-way would leave its first write behind."""
    for _ in range(3):  # the pool hands the same connections around
        with uow(read_only=True) as reader:
            reader.clients.get("nobody")
        with uow(atomic_statements=True) as unit:
            unit.clients.get("nobody")
    with uow() as tx:  # left without commit(): a use case failing half-way
        tx.clients.add(make_client("half"))
        tx.audit.append(1.0, "client.added", {"client_id": "half"})
    with uow(read_only=True) as reader:
        assert reader.clients.get("half") is None
        assert list(reader.audit.iter_all()) == []
    assert_every_connection_returned(engine)


def test_sqlite_writer_holds_the_write_lock_from_its_first_statement(tmp_path: Path) -> None:
    """``BEGIN IMMEDIATE``: a read-then-write unit of work never reads a stale snapshot
    (and audit appends are serialised); a read-only one takes no lock."""
    path = tmp_path / "lock.db"
    engine = create_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    uow = SqlUnitOfWorkFactory(engine)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)

    def other_writes() -> None:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")

    try:
        with uow() as tx:
            tx.clients.get("school-1")  # a read, yet the lock is taken
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other_writes()
        other_writes()
        with uow(read_only=True) as tx:
            tx.clients.get("school-1")
            other_writes()
    finally:
        other.close()
        engine.dispose()
