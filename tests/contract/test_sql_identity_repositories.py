"""Subjects and consents repositories (``gateway.store.sql.subjects`` / ``consents``), on
SQLite and PostgreSQL: digests only, never commit, one live consent per client."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy import text

from gateway.core.errors import Conflict
from gateway.core.errors import NotFound
from gateway.core.types import Consent
from gateway.core.types import Subject
from gateway.store.sql.uow import SqlUnitOfWorkFactory

DIGEST = "d" * 64


def subject(subject_id: str = "s1", **kw: object) -> Subject:
    values: dict[str, object] = {
        "subject_id": subject_id,
        "created_at": 100.0,
        "updated_at": 100.0,
        "account_level": "confirmed",
        "roles": ("parent",),
        "sealed_profile": b"\x01sealed",
    }
    values.update(kw)
    return Subject(**values)  # type: ignore[arg-type]


def add_subject(uow: SqlUnitOfWorkFactory, s: Subject, digest: str = DIGEST) -> None:
    with uow() as u:
        u.subjects.add(s, "esia", digest)
        u.commit()


def test_subject_round_trip_and_lookup_by_digest(uow: SqlUnitOfWorkFactory) -> None:
    add_subject(uow, subject())
    with uow() as u:
        assert u.subjects.get("s1") == subject()
        assert u.subjects.find_by_upstream("esia", DIGEST) == subject()
        assert u.subjects.find_by_upstream("fake", DIGEST) is None
        assert u.subjects.find_by_upstream("esia", "e" * 64) is None
        assert u.subjects.get("nobody") is None


def test_subject_update(uow: SqlUnitOfWorkFactory) -> None:
    add_subject(uow, subject())
    changed = subject(account_level="standard", roles=(), sealed_profile=None, updated_at=200.0)
    with uow() as u:
        u.subjects.update(changed)
        u.commit()
    with uow() as u:
        assert u.subjects.get("s1") == changed
        with pytest.raises(NotFound):
            u.subjects.update(subject("nobody"))


def test_same_upstream_identity_twice_is_a_conflict(uow: SqlUnitOfWorkFactory) -> None:
    add_subject(uow, subject())
    with uow() as u:
        with pytest.raises(Conflict):
            u.subjects.add(subject("s2"), "esia", DIGEST)
        # The transaction stays usable after the conflict.
        u.subjects.add(subject("s3"), "esia", "f" * 64)
        u.commit()
    with uow() as u:
        assert u.subjects.get("s2") is None
        assert u.subjects.get("s3") is not None


def test_repositories_never_commit(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u:
        u.subjects.add(subject(), "esia", DIGEST)
    with uow() as u:
        assert u.subjects.get("s1") is None


def test_no_raw_upstream_id_column(engine: Engine) -> None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM upstream_identities")).keys()
    assert set(row) == {"provider", "subject_digest", "subject_id", "created_at"}


def consent(consent_id: str, scopes: tuple[str, ...], at: float, **kw: object) -> Consent:
    values: dict[str, object] = {
        "consent_id": consent_id,
        "subject_id": "s1",
        "client_id": "school",
        "scopes": scopes,
        "granted_at": at,
        "policy_version": "v1",
    }
    values.update(kw)
    return Consent(**values)  # type: ignore[arg-type]


def test_consents_supersede_list_and_revoke(uow: SqlUnitOfWorkFactory) -> None:
    add_subject(uow, subject())
    with uow() as u:
        u.consents.save(consent("c1", ("openid",), 10.0))
        u.consents.save(consent("c2", ("openid", "profile"), 20.0))
        u.consents.save(consent("c3", ("openid",), 30.0, client_id="meals"))
        u.consents.save(consent("c4", ("diary",), 40.0, acting_for="child-1"))
        u.commit()
    with uow() as u:
        live = u.consents.active("s1", "school")
        assert live is not None
        assert live.consent_id == "c2"
        assert live.scopes == ("openid", "profile")
        assert u.consents.active("s1", "school", acting_for="child-1") is not None
        assert u.consents.active("s1", "nobody") is None
        assert [c.consent_id for c in u.consents.list_active("s1")] == ["c3", "c2", "c4"]
        assert u.consents.revoke("s1", "school", 50.0, "user") == 2
        assert u.consents.revoke("s1", "school", 60.0, "user") == 0
        u.commit()
    with uow() as u:
        assert u.consents.active("s1", "school") is None
        assert [c.consent_id for c in u.consents.list_active("s1")] == ["c3"]
