"""``SqlCredentialRepository`` (``gateway.store.sql.credentials``) on SQLite and PostgreSQL:
round trip, listing by subject and kind, atomic single use under a race, removal, and the
sealed payload covered by ``reseal_all`` (SECURITY.md T79: the seed is sealed at rest)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine
from sqlalchemy import text

from gateway.core.errors import Conflict
from gateway.core.errors import NotFound
from gateway.core.factors import Credential
from gateway.core.factors import FactorKind
from gateway.core.factors import credential_context
from gateway.core.types import Subject
from gateway.store.sql.uow import SqlUnitOfWorkFactory


def add_subject(uow: SqlUnitOfWorkFactory, subject_id: str) -> None:
    with uow() as u:
        u.subjects.add(
            Subject(subject_id, 1.0, "confirmed", ("parent",)), "esia", f"d-{subject_id}"
        )
        u.commit()


def credential(credential_id: str = "c1", **kw: object) -> Credential:
    values: dict[str, object] = {
        "credential_id": credential_id,
        "subject_id": "s1",
        "kind": FactorKind.TOTP,
        "label": "Приложение",
        "created_at": 100.0,
        "sealed": b"\x01sealed-" + credential_id.encode(),
    }
    values.update(kw)
    return Credential(**values)  # type: ignore[arg-type]


@pytest.fixture
def subjects(uow: SqlUnitOfWorkFactory) -> SqlUnitOfWorkFactory:
    add_subject(uow, "s1")
    add_subject(uow, "s2")
    return uow


def test_round_trip_list_and_update(subjects: SqlUnitOfWorkFactory) -> None:
    uow = subjects
    first = credential("c1")
    push = credential("c2", kind=FactorKind.PUSH, created_at=101.0, active=True)
    other = credential("c3", subject_id="s2")
    with uow() as u:
        for c in (first, push, other):
            u.credentials.add(c)
        u.commit()
    with uow() as u:
        assert u.credentials.get("c1") == first
        assert u.credentials.get("nope") is None
        assert u.credentials.list_for("s1") == [first, push]
        assert u.credentials.list_for("s1", FactorKind.PUSH) == [push]
        assert u.credentials.list_for("nobody") == []
        changed = credential("c1", label="Новый", sealed=b"\x02", active=True, last_used_at=5.0)
        u.credentials.update(changed)
        with pytest.raises(NotFound):
            u.credentials.update(credential("nope"))
        with pytest.raises(Conflict):
            u.credentials.add(first)
        u.commit()
    with uow() as u:
        assert u.credentials.get("c1") == changed


def test_repositories_never_commit(subjects: SqlUnitOfWorkFactory) -> None:
    with subjects() as u:
        u.credentials.add(credential())
    with subjects() as u:
        assert u.credentials.get("c1") is None


def test_use_records_time_and_single_use_deactivates(subjects: SqlUnitOfWorkFactory) -> None:
    uow = subjects
    with uow() as u:
        u.credentials.add(credential("c1", active=True))
        u.credentials.add(credential("c2", active=False))
        u.commit()
    with uow() as u:
        assert u.credentials.use("c1", 200.0)
        assert not u.credentials.use("c2", 200.0), "inactive credentials are not used"
        assert not u.credentials.use("nope", 200.0)
        assert u.credentials.use("c1", 300.0, single_use=True)
        assert not u.credentials.use("c1", 301.0, single_use=True)
        u.commit()
    with uow() as u:
        stored = u.credentials.get("c1")
        assert stored is not None
        assert not stored.active
        assert stored.last_used_at == 300.0


def test_single_use_race_has_exactly_one_winner(subjects: SqlUnitOfWorkFactory) -> None:
    uow = subjects
    with uow() as u:
        u.credentials.add(credential("code", kind=FactorKind.RECOVERY, active=True))
        u.commit()

    def attempt(_: int) -> bool:
        with uow() as u:
            won = u.credentials.use("code", 1.0, single_use=True)
            u.commit()
            return won

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(16)))
    assert results.count(True) == 1


def test_remove_and_remove_all_for(subjects: SqlUnitOfWorkFactory) -> None:
    uow = subjects
    with uow() as u:
        u.credentials.add(credential("c1"))
        u.credentials.add(credential("r1", kind=FactorKind.RECOVERY))
        u.credentials.add(credential("r2", kind=FactorKind.RECOVERY))
        u.credentials.add(credential("c3", subject_id="s2"))
        u.commit()
    with uow() as u:
        assert u.credentials.remove("c1")
        assert not u.credentials.remove("c1")
        assert u.credentials.remove_all_for("s1", FactorKind.RECOVERY) == 2
        assert u.credentials.list_for("s1") == []
        assert u.credentials.remove_all_for("s2") == 1
        u.commit()
    with uow() as u:
        assert u.credentials.list_for("s2") == []


def test_reseal_all_covers_credential_payloads(subjects: SqlUnitOfWorkFactory) -> None:
    with subjects() as u:
        u.credentials.add(credential("c1"))
        u.commit()
    seen: list[str] = []

    def transform(value: bytes, context: str) -> bytes:
        seen.append(context)
        return value + b"!" if context == credential_context("c1") else value

    with subjects() as u:
        assert u.sealed.reseal_all(transform) == 1
        u.commit()
    assert credential_context("c1") in seen
    with subjects() as u:
        stored = u.credentials.get("c1")
        assert stored is not None
        assert stored.sealed == b"\x01sealed-c1!"


def test_payload_column_holds_only_sealed_bytes(
    subjects: SqlUnitOfWorkFactory, engine: Engine
) -> None:
    with subjects() as u:
        u.credentials.add(credential("c1"))
        u.commit()
    with engine.connect() as conn:
        columns = {
            row[0]
            for row in conn.execute(
                text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'factor_credentials'"
                )
                if engine.dialect.name == "postgresql"
                else text("SELECT name FROM pragma_table_info('factor_credentials')")
            )
        }
    assert columns == {
        "credential_id",
        "subject_id",
        "kind",
        "label",
        "sealed_payload",
        "created_at",
        "last_used_at",
        "active",
    }
