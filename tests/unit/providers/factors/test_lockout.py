"""``Lockout``: regulation shared by every factor (SECURITY.md T75, NIST 800-63B §5.2.2).

The 200-thread races on real backends are in ``tests/contract/test_factor_lockout_race.py``.
"""

from __future__ import annotations

import threading

import pytest

from gateway.config.factors import LockoutSettings
from gateway.core.clock import FixedClock
from gateway.core.errors import RateLimited
from gateway.store.memory import MemoryEphemeralStore
from providers.factors.base import Lockout
from providers.factors.base import constant_time_equal

PEPPER = b"p" * 32


def _lockout(clock: FixedClock, **overrides: int) -> Lockout:
    return Lockout(MemoryEphemeralStore(clock), clock, LockoutSettings(**overrides), PEPPER)


def _fail(lockout: Lockout, account: str = "acct", factor: str = "sms") -> None:
    assert lockout.attempt(account, factor, lambda: False) is False


def test_constant_time_equal() -> None:
    assert constant_time_equal("123456", b"123456")
    assert not constant_time_equal("123456", "123457")


def test_t75_five_failures_lock_the_factor_for_a_minute_then_double(clock: FixedClock) -> None:
    lockout = _lockout(clock)
    for _ in range(5):
        _fail(lockout)
    with pytest.raises(RateLimited) as first:
        lockout.reserve("acct", "sms")
    assert first.value.retry_after == 60
    with pytest.raises(RateLimited):
        lockout.check("acct", "sms")
    clock.advance(30)
    with pytest.raises(RateLimited) as later:
        lockout.check("acct", "sms")
    assert later.value.retry_after == 30
    clock.advance(31)
    lockout.check("acct", "sms")
    for _ in range(5):
        _fail(lockout)
    with pytest.raises(RateLimited) as second:
        lockout.reserve("acct", "sms")
    assert second.value.retry_after == 120


def test_t75_other_factor_stays_usable_until_the_account_limit(clock: FixedClock) -> None:
    lockout = _lockout(clock, max_account_failures=7)
    for _ in range(5):
        _fail(lockout, factor="sms")
    with pytest.raises(RateLimited):
        lockout.reserve("acct", "sms")
    lockout.check("acct", "totp")
    for _ in range(2):
        _fail(lockout, factor="totp")
    for factor in ("totp", "push"):
        with pytest.raises(RateLimited):
            lockout.reserve("acct", factor)
    lockout.check("other", "totp")


def test_t75_success_resets_counters_and_back_off(clock: FixedClock) -> None:
    lockout = _lockout(clock)
    for _ in range(4):
        _fail(lockout)
    assert lockout.attempt("acct", "sms", lambda: True) is True
    for _ in range(5):
        _fail(lockout)
    with pytest.raises(RateLimited) as locked:
        lockout.reserve("acct", "sms")
    assert locked.value.retry_after == 60  # back to the first lock, not 120


def test_t75_locked_attempts_are_not_verified(clock: FixedClock) -> None:
    lockout = _lockout(clock)
    calls: list[int] = []
    for _ in range(20):
        try:
            lockout.attempt("acct", "sms", lambda: calls.append(1) is None and False)
        except RateLimited:
            pass
    assert len(calls) == 5


def test_t75_at_most_100_consecutive_failures_then_the_long_lock(clock: FixedClock) -> None:
    lockout = _lockout(clock, max_ban_seconds=120)
    verified = 0

    def wrong() -> bool:
        nonlocal verified
        verified += 1
        return False

    for _ in range(400):
        try:
            lockout.attempt("acct", "sms", wrong)
        except RateLimited as exc:
            if exc.retry_after > 120:
                break
            clock.advance(exc.retry_after)
    assert verified == 100
    with pytest.raises(RateLimited) as hard:
        lockout.check("acct", "sms")
    assert hard.value.retry_after == 86400
    clock.advance(86400)
    assert lockout.attempt("acct", "sms", lambda: True)  # the lock ends; not forever


def test_t75_threads_on_one_store_never_pass_the_limit(clock: FixedClock) -> None:
    lockout = _lockout(clock)
    start = threading.Barrier(50)
    verified: list[int] = []

    def guess() -> None:
        start.wait()
        try:
            lockout.attempt("acct", "sms", lambda: verified.append(1) is None and False)
        except RateLimited:
            pass

    threads = [threading.Thread(target=guess) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(verified) == 5


def test_accounts_are_counted_under_digests(clock: FixedClock) -> None:
    store = MemoryEphemeralStore(clock)
    lockout = Lockout(store, clock, LockoutSettings(), PEPPER)
    lockout.attempt("subject-42", "sms", lambda: False)
    assert not any("subject-42" in key for _, key in store._entries)
