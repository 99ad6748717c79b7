from __future__ import annotations

import pytest

from gateway.config.schema import SessionSettings
from gateway.core.clock import FixedClock
from gateway.core.types import AuthContext
from gateway.journey.sessions import EphemeralSsoSessions
from gateway.store.memory import MemoryEphemeralStore

AUTH = AuthContext("urn:vhod:acr:esia", ("pwd",), 1_790_000_000)
IDLE = 30 * 60
ABSOLUTE = 12 * 3600


@pytest.fixture
def sessions(clock: FixedClock) -> EphemeralSsoSessions:
    settings = SessionSettings(idle_seconds=IDLE, absolute_seconds=ABSOLUTE)
    return EphemeralSsoSessions(MemoryEphemeralStore(clock), clock, settings, b"p" * 32)


def test_create_and_read(sessions: EphemeralSsoSessions) -> None:
    session, cookie = sessions.create("subject-1", AUTH, "fake")
    current = sessions.current(cookie)
    assert current is not None
    assert current.sid == session.sid
    assert current.subject_id == "subject-1"
    assert current.auth == AUTH
    assert cookie != session.sid  # the public sid is not the cookie secret


def test_unknown_or_malformed_cookie(sessions: EphemeralSsoSessions) -> None:
    sessions.create("subject-1", AUTH, "fake")
    assert sessions.current(None) is None
    assert sessions.current("") is None
    assert sessions.current("x" * 43) is None
    assert sessions.current("x" * 500) is None


def test_idle_timeout(sessions: EphemeralSsoSessions, clock: FixedClock) -> None:
    _, cookie = sessions.create("subject-1", AUTH, "fake")
    clock.advance(IDLE - 1)
    assert sessions.current(cookie) is not None  # touching resets the idle timer
    clock.advance(IDLE - 1)
    assert sessions.current(cookie) is not None
    clock.advance(IDLE + 60)  # 31 minutes idle
    assert sessions.current(cookie) is None


def test_absolute_timeout_even_when_active(
    sessions: EphemeralSsoSessions, clock: FixedClock
) -> None:
    _, cookie = sessions.create("subject-1", AUTH, "fake")
    elapsed = 0
    while elapsed + 20 * 60 < ABSOLUTE:
        clock.advance(20 * 60)
        elapsed += 20 * 60
        assert sessions.current(cookie) is not None
    clock.advance(ABSOLUTE - elapsed + 1)  # 12 h + 1 s after creation
    assert sessions.current(cookie) is None


def test_end_and_end_by_cookie(sessions: EphemeralSsoSessions) -> None:
    session, cookie = sessions.create("subject-1", AUTH, "fake")
    ended = sessions.end(session.sid)
    assert ended is not None
    assert ended.sid == session.sid
    assert sessions.current(cookie) is None
    assert sessions.end(session.sid) is None
    other, other_cookie = sessions.create("subject-2", AUTH, "fake")
    assert sessions.end_by_cookie(other_cookie) is not None
    assert sessions.get(other.sid) is None


def test_clients_are_remembered_once(sessions: EphemeralSsoSessions) -> None:
    session, cookie = sessions.create("subject-1", AUTH, "fake")
    sessions.add_client(session.sid, "a")
    sessions.add_client(session.sid, "b")
    sessions.add_client(session.sid, "a")
    current = sessions.current(cookie)
    assert current is not None
    assert current.clients == ("a", "b")
    ended = sessions.end(session.sid)
    assert ended is not None
    assert ended.clients == ("a", "b")


def test_each_login_gets_a_new_sid_and_cookie(sessions: EphemeralSsoSessions) -> None:
    first, first_cookie = sessions.create("subject-1", AUTH, "fake")
    second, second_cookie = sessions.create("subject-1", AUTH, "fake")
    assert first.sid != second.sid
    assert first_cookie != second_cookie
