"""``gateway.admin.sessions``: when an admin session starts, what keeps it alive (the same
live SSO session, the admin role, a strong enough acr, the idle timeout) and what ends it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from gateway.admin.admins import ADMIN_ROLE
from gateway.admin.sessions import SESSION_NAMESPACE
from gateway.admin.sessions import AdminSessions
from gateway.admin.subjects import subject_digest
from gateway.config.schema import ACR_ESIA
from gateway.config.schema import ACR_ESIA_MFA
from gateway.core.types import AuthContext
from gateway.core.types import SsoSession
from gateway.core.types import Subject
from gateway.store.memory import MemoryEphemeralStore

IDLE = 900


def _subject(services: Any, subject_id: str, roles: tuple[str, ...]) -> None:
    with services.uow() as tx:
        subject = Subject(subject_id, services.clock.now(), "trusted", roles=roles)
        tx.subjects.add(subject, "fake", f"digest-{subject_id}")
        tx.commit()


def _sso(services: Any, subject_id: str = "admin-1", acr: str = ACR_ESIA_MFA) -> SsoSession:
    now = services.clock.now()
    return SsoSession(
        sid="sid-1",
        subject_id=subject_id,
        auth=AuthContext(acr=acr, amr=("pwd",), auth_time=int(now)),
        created_at=now,
        last_seen=now,
    )


@pytest.fixture
def store(services: Any) -> MemoryEphemeralStore:
    return MemoryEphemeralStore(services.clock)


@pytest.fixture
def sessions(services: Any, store: MemoryEphemeralStore) -> AdminSessions:
    _subject(services, "admin-1", (ADMIN_ROLE,))
    _subject(services, "person-1", ())
    return AdminSessions(store, services.uow, services.clock, services.pepper, IDLE, True)


def _never() -> SsoSession | None:
    raise AssertionError("the SSO session was read")


def test_start_saves_a_session_and_audits_it(services: Any, sessions: AdminSessions) -> None:
    sso = _sso(services)
    session, cookie = sessions.start(sso)
    assert 32 <= len(cookie) <= 64
    assert (session.subject_id, session.sid) == ("admin-1", "sid-1")
    assert session.created_at == services.clock.now()
    assert cookie not in session.key  # the store knows the cookie only as a keyed digest
    assert sessions.load(cookie, lambda: sso) == session
    with services.uow(read_only=True) as tx:
        events = [e for e in tx.audit.iter_all() if e.event == "admin.signed_in"]
    assert [e.fields for e in events] == [
        {"actor": subject_digest(services.pepper, "admin-1"), "acr": ACR_ESIA_MFA}
    ]


def test_each_request_renews_the_idle_timeout(services: Any, sessions: AdminSessions) -> None:
    sso = _sso(services)
    _, cookie = sessions.start(sso)
    for _ in range(3):
        services.clock.advance(IDLE - 1)
        assert sessions.load(cookie, lambda: sso) is not None
    services.clock.advance(IDLE + 1)
    assert sessions.load(cookie, lambda: sso) is None


@pytest.mark.parametrize(
    "change",
    [
        {"sid": "sid-2"},
        {"subject_id": "person-1"},
        {"auth": AuthContext(acr=ACR_ESIA, amr=("pwd",), auth_time=0)},
    ],
    ids=["another SSO session", "another subject", "acr too weak"],
)
def test_a_session_that_no_longer_holds_is_deleted(
    services: Any, sessions: AdminSessions, store: MemoryEphemeralStore, change: dict[str, Any]
) -> None:
    sso = _sso(services)
    session, cookie = sessions.start(sso)
    changed = dataclasses.replace(sso, **change)
    assert sessions.load(cookie, lambda: changed) is None
    assert store.get(SESSION_NAMESPACE, session.key) is None
    assert sessions.load(cookie, lambda: sso) is None


def test_no_sso_session_ends_it(services: Any, sessions: AdminSessions) -> None:
    _, cookie = sessions.start(_sso(services))
    assert sessions.load(cookie, lambda: None) is None
    assert sessions.load(cookie, lambda: _sso(services)) is None


def test_losing_the_admin_role_ends_it(services: Any, sessions: AdminSessions) -> None:
    sso = _sso(services)
    _, cookie = sessions.start(sso)
    with services.uow() as tx:
        subject = tx.subjects.get("admin-1")
        tx.subjects.update(dataclasses.replace(subject, roles=()))
        tx.commit()
    assert sessions.load(cookie, lambda: sso) is None


@pytest.mark.parametrize("cookie", ["", "short", "x" * 31, "x" * 65, "x" * 43])
def test_unknown_cookies_never_read_the_sso_session(sessions: AdminSessions, cookie: str) -> None:
    assert sessions.load(cookie, _never) is None


@pytest.mark.parametrize("raw", [b"not json", b'{"subject_id": "admin-1"}', b"[]"])
def test_a_damaged_record_is_no_session(
    services: Any, sessions: AdminSessions, store: MemoryEphemeralStore, raw: bytes
) -> None:
    session, cookie = sessions.start(_sso(services))
    store.put(SESSION_NAMESPACE, session.key, raw, IDLE)
    assert sessions.load(cookie, _never) is None


def test_end_forgets_the_session(services: Any, sessions: AdminSessions) -> None:
    sso = _sso(services)
    _, cookie = sessions.start(sso)
    sessions.end(cookie)
    sessions.end("short")  # not looked up, no error
    assert sessions.load(cookie, lambda: sso) is None


def test_fresh_is_a_sign_in_within_the_idle_timeout(services: Any, sessions: AdminSessions) -> None:
    now = int(services.clock.now())
    assert sessions.fresh(now)
    assert sessions.fresh(now - IDLE)
    assert not sessions.fresh(now - IDLE - 1)


def test_second_factor_rule(services: Any, sessions: AdminSessions) -> None:
    assert sessions.acr_ok(ACR_ESIA_MFA)
    assert not sessions.acr_ok(ACR_ESIA)
    relaxed = dataclasses.replace(sessions, require_second_factor=False)
    assert relaxed.acr_ok(ACR_ESIA)


def test_refusal_names_the_first_reason(services: Any, sessions: AdminSessions) -> None:
    assert sessions.refusal(_sso(services)) is None
    assert sessions.refusal(_sso(services, "person-1", ACR_ESIA)) == "not_admin"
    assert sessions.refusal(_sso(services, acr=ACR_ESIA)) == "second_factor_required"
    relaxed = dataclasses.replace(sessions, require_second_factor=False)
    assert relaxed.refusal(_sso(services, acr=ACR_ESIA)) is None


def test_sign_in_needed(services: Any, sessions: AdminSessions) -> None:
    """No or a stale SSO session: a new sign-in; fresh but too weak: a step-up."""
    assert sessions.min_acr == ACR_ESIA_MFA
    assert sessions.sign_in_needed(None) == "sign_in"
    assert sessions.sign_in_needed(_sso(services)) is None
    assert sessions.sign_in_needed(_sso(services, acr=ACR_ESIA)) == "step_up"
    services.clock.advance(IDLE + 1)
    assert sessions.sign_in_needed(_sso(services, acr=ACR_ESIA)) == "step_up"  # made now
    stale = dataclasses.replace(
        _sso(services),
        auth=AuthContext(ACR_ESIA_MFA, ("pwd",), int(services.clock.now()) - IDLE - 1),
    )
    assert sessions.sign_in_needed(stale) == "sign_in"
    relaxed = dataclasses.replace(sessions, require_second_factor=False)
    assert relaxed.min_acr is None
    assert relaxed.sign_in_needed(_sso(services, acr=ACR_ESIA)) is None
