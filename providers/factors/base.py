"""What every second factor shares: the constant-time compare, the uniform failure, and
the account regulation (:class:`Lockout`).

Regulation (NIST 800-63B §5.2.2, SECURITY.md T75; Authelia's ``max_retries`` /
``find_time`` / ``ban_time``): failures are counted per (account, factor) and per
account. ``max_failures`` within ``window_seconds`` lock the factor (``max_account_failures``
the whole account) for ``ban_seconds``, doubling with each further lock up to
``max_ban_seconds``; ``max_consecutive_failures`` (≤ 100) without a success lock for
``hard_lock_seconds``. A success resets everything of that account.

**Reserve, then verify.** :meth:`Lockout.reserve` counts an attempt *before* the secret is
compared, with the store's atomic ``incr``; only attempts whose counter value stays within
the limit go on to verify. So any number of parallel guesses run at most ``max_failures``
verifications per lock level: a counter that was incremented never needs a second
read-modify-write to be right.

The lock levels are generations: the failure counter of level ``L`` lives under
``<subject>:L``. The last allowed attempt of a level (exactly one, ``incr`` is atomic)
writes the ban before it is verified and then raises the level, so attempts arriving after
it see the ban, and attempts still holding the old level find its counter over the limit;
a success lifts the ban. Refused attempts never count towards the next level.

Ephemeral namespaces: ``lockout_level``, ``lockout_ban``, ``lockout_fail``,
``lockout_streak``; keys are keyed digests of the account (never the account id itself).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from gateway.config.factors import LockoutSettings
from gateway.core.errors import FactorFailed
from gateway.core.errors import RateLimited
from gateway.core.ids import constant_time_equals
from gateway.core.ids import keyed_digest
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore

__all__ = [
    "ACCOUNT_SCOPE",
    "FactorFailed",
    "Lockout",
    "RateLimited",
    "constant_time_equal",
    "fail",
]

log = logging.getLogger("vhod.factors")

NS_LEVEL = "lockout_level"
NS_BAN = "lockout_ban"
NS_FAIL = "lockout_fail"
NS_STREAK = "lockout_streak"
ACCOUNT_SCOPE = "*"
"""The ``factor`` name of the account-wide counters."""


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    """Compare two secrets in constant time (``hmac.compare_digest``)."""
    return constant_time_equals(a, b)


def fail(reason: str, **fields: str | int) -> FactorFailed:
    """Log ``factor.failed`` with the reason code and return the uniform failure to raise.

    Example: ``raise fail("code_expired", channel="sms")``.
    """
    log_event(log, "factor.failed", logging.INFO, reason=reason, **fields)
    return FactorFailed(reason)


@dataclass(frozen=True)
class _Limit:
    factor: str
    max_failures: int


class Lockout:
    """Consecutive-failure regulation of one account across its factors.

    :param pepper: key of the digests under which accounts are counted.
    """

    def __init__(
        self,
        store: EphemeralStore,
        clock: Clock,
        settings: LockoutSettings,
        pepper: bytes,
    ) -> None:
        self._store = store
        self._clock = clock
        self._s = settings
        self._pepper = pepper

    def check(self, account: str, factor: str) -> None:
        """Refuse without counting while the account or this factor is locked.

        :raises RateLimited: with ``retry_after`` seconds until the lock ends.
        """
        for limit in self._limits(factor):
            self._refuse_if_banned(self._subject(account, limit.factor))

    def reserve(self, account: str, factor: str) -> None:
        """Count one attempt before verifying it; call :meth:`succeeded` after a success.

        :raises RateLimited: the account or factor is locked, or this attempt is over the
            limit (it must then not be verified).
        """
        for limit in self._limits(factor):
            self._reserve_one(self._subject(account, limit.factor), limit.max_failures)

    def succeeded(self, account: str, factor: str) -> None:
        """Reset the counters and back-off of the account (all its factors' account-wide
        state, and this factor's)."""
        for limit in self._limits(factor):
            subject = self._subject(account, limit.factor)
            level = self._level(subject)
            for gen in range(level + 1):
                self._store.delete(NS_FAIL, f"{subject}:{gen}")
            self._store.delete(NS_STREAK, subject)
            self._store.delete(NS_LEVEL, subject)
            self._store.delete(NS_BAN, subject)

    def attempt(self, account: str, factor: str, verify: Callable[[], bool]) -> bool:
        """Reserve, run ``verify`` (only if the reservation held), reset on success.

        :returns: what ``verify`` returned.
        :raises RateLimited: locked or over the limit; ``verify`` was not called.
        """
        self.reserve(account, factor)
        ok = verify()
        if ok:
            self.succeeded(account, factor)
        return ok

    # ------------------------------------------------------------------ internals

    def _limits(self, factor: str) -> tuple[_Limit, ...]:
        if not factor or factor == ACCOUNT_SCOPE:
            raise ValueError("name the factor")
        return (
            _Limit(factor, self._s.max_failures),
            _Limit(ACCOUNT_SCOPE, self._s.max_account_failures),
        )

    def _subject(self, account: str, factor: str) -> str:
        return keyed_digest(self._pepper, "lockout", f"{account}\x00{factor}")

    def _level(self, subject: str) -> int:
        # ``incr`` by 0 reads a counter the same way on every backend.
        return self._store.incr(NS_LEVEL, subject, self._s.memory_seconds, amount=0)

    def _refuse_if_banned(self, subject: str) -> None:
        raw = self._store.get(NS_BAN, subject)
        if raw is None:
            return
        left = float(raw) - self._clock.now()
        if left > 0:
            raise RateLimited("factor_lockout", max(1, math.ceil(left)))

    def _reserve_one(self, subject: str, max_failures: int) -> None:
        level = self._level(subject)
        self._refuse_if_banned(subject)
        count = self._store.incr(NS_FAIL, f"{subject}:{level}", self._s.window_seconds)
        if count > max_failures:
            # Raced past the limit with the old level: the ban is (being) written.
            self._refuse_if_banned(subject)
            raise RateLimited("factor_lockout", self._s.ban_seconds)
        streak = self._store.incr(NS_STREAK, subject, self._s.memory_seconds)
        if streak > self._s.max_consecutive_failures:
            self._refuse_if_banned(subject)
            raise RateLimited("factor_lockout", self._s.hard_lock_seconds)
        # The last allowed attempt locks in advance (a success lifts the lock again),
        # so the lock starts at the failure itself, as in Authelia.
        if streak == self._s.max_consecutive_failures:
            self._ban(subject, self._s.hard_lock_seconds, "factor.hard_locked")
            # After the long lock a fresh streak: the lock is the bound, not forever.
            self._store.delete(NS_STREAK, subject)
        elif count == max_failures:
            self._ban(subject, self._ban_seconds(level + 1), "factor.locked")

    def _ban_seconds(self, level: int) -> int:
        seconds = self._s.ban_seconds * 2 ** min(level - 1, 30)
        return int(min(seconds, self._s.max_ban_seconds))

    def _ban(self, subject: str, seconds: int, event: str) -> None:
        until = self._clock.now() + seconds
        # The ban first, then the new level: whoever reads the new level sees the ban.
        self._store.put(NS_BAN, subject, repr(until).encode(), seconds)
        self._store.incr(NS_LEVEL, subject, self._s.memory_seconds)
        log_event(log, event, logging.WARNING, subject=subject[:16], seconds=seconds)
