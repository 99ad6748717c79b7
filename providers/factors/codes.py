"""One-time codes sent by SMS or e-mail (SECURITY.md T72–T75).

* 6 digits, uniform, from ``secrets`` (≈ 20 bits; NIST 800-63B §5.1.3.2);
* stored only as a keyed digest (HMAC under the server pepper) with its expiry and
  generation, in the ephemeral store (namespace ``otp_<channel>``), under a key bound to one
  transaction (journey id) and purpose — a code of transaction A fails for B;
* ``ttl_seconds`` (300 by default, ≤ 600) judged by the injected clock: a code entered
  after its expiry is rejected and counted as a failure;
* ``max_attempts`` guesses per code (namespace ``otp_attempts``, counted *before* the
  comparison), then the code is dead;
* single use: a matching code is taken with the store's atomic ``consume``;
* a resend issues a new code (a new generation) and kills the old one; resends of one
  transaction are at most one per ``resend_cooldown_seconds`` (namespace ``otp_cooldown``).

Every rejection is the same :class:`FactorFailed` for the person; the reason code goes to
the log only. The account-wide regulation (:class:`providers.factors.base.Lockout`) is the
caller's: reserve an attempt before :meth:`OneTimeCodes.verify`.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass
from typing import Literal

from gateway.core.errors import RateLimited
from gateway.core.errors import ReplayDetected
from gateway.core.ids import keyed_digest
from gateway.core.ids import new_id
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from providers.factors.base import constant_time_equal
from providers.factors.base import fail

__all__ = ["CODE_DIGITS", "IssuedCode", "OneTimeCodes", "code_message", "new_numeric_code"]

Channel = Literal["sms", "email"]
CODE_DIGITS = 6
NS_ATTEMPTS = "otp_attempts"
NS_COOLDOWN = "otp_cooldown"
EXPIRY_GRACE_SECONDS = 60
"""The record outlives its code a little, so that a late code is told apart (and counted)."""


def new_numeric_code(digits: int = CODE_DIGITS) -> str:
    """``digits`` decimal digits, uniform (``secrets.randbelow``), zero-padded."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def code_message(code: str, service: str = "vhod", channel: Channel = "sms") -> str:
    """The message: the code and the service name only, Russian.

    Example: ``code_message("123456")`` → «Код входа в vhod: 123456. Никому его не сообщайте.»
    """
    text = f"Код входа в {service}: {code}. Никому его не сообщайте."
    if channel == "email":
        text += "\nЕсли вы не входили в " + service + ", просто удалите это письмо."
    return text


@dataclass(frozen=True)
class IssuedCode:
    """A code to deliver. ``code`` goes into the message and nowhere else."""

    code: str
    expires_at: float
    resend_after: float


class OneTimeCodes:
    """Issue and verify one-time codes of one ``channel`` (``sms`` or ``email``).

    :param pepper: key of the code digests (the server pepper).
    """

    def __init__(
        self,
        store: EphemeralStore,
        clock: Clock,
        pepper: bytes,
        *,
        channel: Channel,
        ttl_seconds: int = 300,
        max_attempts: int = 5,
        resend_cooldown_seconds: int = 60,
    ) -> None:
        if not 0 < ttl_seconds <= 600:
            raise ValueError("ttl_seconds must be within 1..600")
        if max_attempts < 1 or resend_cooldown_seconds < 1:
            raise ValueError("max_attempts and resend_cooldown_seconds must be positive")
        self._store = store
        self._clock = clock
        self._pepper = pepper
        self._channel = channel
        self._ns = f"otp_{channel}"
        self._ttl = ttl_seconds
        self._max = max_attempts
        self._cooldown = resend_cooldown_seconds

    @property
    def namespace(self) -> str:
        """Where the code records live (``otp_sms`` / ``otp_email``)."""
        return self._ns

    def issue(self, transaction: str, purpose: str = "login") -> IssuedCode:
        """A new code for ``transaction``; any earlier code of it is dead from now on.

        :param transaction: the journey id (or another one-time transaction id).
        :param purpose: what the code is for (``login``, ``enrol_phone``...).
        :raises RateLimited: a code was issued less than ``resend_cooldown_seconds`` ago.
        """
        key = self._key(transaction, purpose)
        now = self._clock.now()
        if self._store.incr(NS_COOLDOWN, key, self._cooldown) > 1:
            raise RateLimited("code_resend", self._retry_after(key, now))
        code = new_numeric_code()
        generation = new_id()
        record = {
            "d": self._digest(key, generation, code),
            "g": generation,
            "exp": now + self._ttl,
            "at": now,
        }
        self._store.put(
            self._ns, key, json.dumps(record).encode(), self._ttl + EXPIRY_GRACE_SECONDS
        )
        return IssuedCode(code=code, expires_at=now + self._ttl, resend_after=now + self._cooldown)

    def verify(self, transaction: str, code: str, purpose: str = "login") -> None:
        """Accept ``code`` once, for this transaction and purpose only.

        :raises FactorFailed: wrong, expired, dead, used or unknown code (one answer;
            the reason is in the log).
        """
        key = self._key(transaction, purpose)
        record = self._load(key)
        if record is None:
            raise fail("code_missing", channel=self._channel)
        generation = str(record["g"])
        attempts = self._store.incr(
            NS_ATTEMPTS, f"{key}:{generation}", self._ttl + EXPIRY_GRACE_SECONDS
        )
        if attempts > self._max:
            raise fail("code_attempts_exhausted", channel=self._channel)
        if float(str(record["exp"])) <= self._clock.now():
            raise fail("code_expired", channel=self._channel)
        entered = code.strip()
        if not (len(entered) == CODE_DIGITS and entered.isascii() and entered.isdigit()):
            raise fail("code_malformed", channel=self._channel)
        if not constant_time_equal(self._digest(key, generation, entered), str(record["d"])):
            raise fail("code_mismatch", channel=self._channel)
        try:
            taken = self._store.consume(self._ns, key, self._ttl + EXPIRY_GRACE_SECONDS)
        except ReplayDetected:
            raise fail("code_used", channel=self._channel) from None
        if taken is None or json.loads(taken).get("g") != generation:
            # Expired meanwhile, or a resend replaced it between the read and the take.
            raise fail("code_used", channel=self._channel)

    # ------------------------------------------------------------------ internals

    def _key(self, transaction: str, purpose: str) -> str:
        if not transaction or not purpose:
            raise ValueError("transaction and purpose are required")
        return keyed_digest(
            self._pepper, "otp_tx", f"{self._channel}\x00{purpose}\x00{transaction}"
        )

    def _digest(self, key: str, generation: str, code: str) -> str:
        return keyed_digest(self._pepper, "otp", f"{key}\x00{generation}\x00{code}")

    def _load(self, key: str) -> dict[str, object] | None:
        raw = self._store.get(self._ns, key)
        if raw is None:
            return None
        record = json.loads(raw)
        return record if isinstance(record, dict) else None

    def _retry_after(self, key: str, now: float) -> int:
        record = self._load(key)
        if record is None:
            return self._cooldown
        left = float(str(record.get("at", now))) + self._cooldown - now
        return max(1, min(self._cooldown, math.ceil(left)))
