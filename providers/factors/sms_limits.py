"""SMS anti-pumping (SECURITY.md M, T85–T88): checked before every SMS, no send when over.

:func:`normalize_phone` turns what people type (``8 916 123-45-67``, ``+7 (916) 123 45 67``)
into E.164; :meth:`SmsLimits.check_destination` refuses anything outside the allowed
prefixes (``+79`` — Russian mobiles — by default: ``+7 8xx``, premium and shared-cost
ranges, foreign numbers are refused with :class:`DestinationRefused`);
:meth:`SmsLimits.reserve` counts the send against every limit at once:

========== ============================================== ===================
limit      key                                            window
========== ============================================== ===================
number     the E.164 number                               60 s and 24 h
account    the account id                                 1 h and 24 h
ip         the client's address (the real one, T71)       1 h
session    the journey id                                 1 h
prefix     the number without its last four digits        1 h (velocity cap)
global     the whole gateway (fails closed)               1 h and 24 h
========== ============================================== ===================

Each counter is incremented first (atomic ``incr``) and compared after; when any limit is
over, every counter of this request is given back and :class:`RateLimited` is raised with
the ``retry_after`` of the longest refusing window. So the number of granted sends in a
window never exceeds its limit, whatever the concurrency. Keys are keyed digests (namespace
``sms_limit``, start times in ``sms_limit_t``); a full number never reaches the log
(:func:`mask_phone`).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

from gateway.config.factors import SmsLimitSettings
from gateway.core.errors import DestinationRefused
from gateway.core.errors import RateLimited
from gateway.core.ids import keyed_digest
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore

__all__ = ["SmsLimits", "SmsReservation", "mask_phone", "normalize_phone", "phone_prefix"]

log = logging.getLogger("vhod.factors.sms")

NS_LIMIT = "sms_limit"
NS_START = "sms_limit_t"
MINUTE = 60
HOUR = 3600
DAY = 86400
_SEPARATORS = re.compile(r"[\s\-().]")


def normalize_phone(raw: str) -> str:
    """E.164 of a phone number as people write it.

    ``8 916 123-45-67``, ``8(916)1234567``, ``+7 (916) 123 45 67``, ``79161234567`` →
    ``+79161234567``; other ``+`` numbers keep their country code.

    :raises DestinationRefused: ``phone_invalid`` when it is not a phone number.
    """
    text = _SEPARATORS.sub("", raw.strip())
    if text.startswith("+"):
        digits = text[1:]
    elif len(text) == 11 and text[:1] in ("7", "8"):
        digits = "7" + text[1:]
    elif len(text) == 10 and text[:1] == "9":
        digits = "7" + text
    else:
        raise DestinationRefused("phone_invalid")
    if not (digits.isascii() and digits.isdigit()) or not 8 <= len(digits) <= 15:
        raise DestinationRefused("phone_invalid")
    if digits.startswith("7") and len(digits) != 11:
        raise DestinationRefused("phone_invalid")
    return "+" + digits


def mask_phone(e164: str) -> str:
    """The number for logs and pages: its last two digits only (``…67``)."""
    return "…" + e164[-2:]


def phone_prefix(e164: str) -> str:
    """The number without its last four digits (the prefix-velocity key)."""
    return e164[:-4]


@dataclass(frozen=True)
class SmsReservation:
    """What :meth:`SmsLimits.reserve` counted; :meth:`SmsLimits.release` gives it back."""

    keys: tuple[tuple[str, int], ...]
    """(counter key, window) pairs."""


@dataclass(frozen=True)
class _Rule:
    name: str
    subject: str
    limit: int
    window: int


class SmsLimits:
    """The limits of ``[sms.limits]`` and the destination allow-list ``allowed_prefixes``.

    :param pepper: key of the counter digests.
    """

    def __init__(
        self,
        store: EphemeralStore,
        clock: Clock,
        pepper: bytes,
        settings: SmsLimitSettings,
        allowed_prefixes: tuple[str, ...] = ("+79",),
    ) -> None:
        self._store = store
        self._clock = clock
        self._pepper = pepper
        self._s = settings
        self._allowed = allowed_prefixes

    def check_destination(self, phone: str) -> str:
        """The normalised number when SMS may go there.

        :raises DestinationRefused: ``phone_invalid`` or ``phone_not_allowed``.
        """
        e164 = normalize_phone(phone)
        if not any(e164.startswith(prefix) for prefix in self._allowed):
            log_event(log, "sms.destination_refused", logging.WARNING, to=mask_phone(e164))
            raise DestinationRefused("phone_not_allowed")
        return e164

    def reserve(self, *, phone: str, account: str, ip: str, session: str) -> SmsReservation:
        """Count one SMS to ``phone`` against every limit, or refuse it.

        Call before the provider; on a send that surely did not go out the caller may
        :meth:`release` the reservation.

        :param phone: the destination (normalised and allow-listed here again).
        :param account: the internal subject id.
        :param ip: the client's real address.
        :param session: the journey (or session) id.
        :raises DestinationRefused: see :meth:`check_destination`.
        :raises RateLimited: ``retry_after`` until the longest refusing window ends.
        """
        e164 = self.check_destination(phone)
        s = self._s
        rules = (
            _Rule("number_minute", e164, s.per_number_per_minute, MINUTE),
            _Rule("number_day", e164, s.per_number_per_day, DAY),
            _Rule("account_hour", account, s.per_account_per_hour, HOUR),
            _Rule("account_day", account, s.per_account_per_day, DAY),
            _Rule("ip_hour", ip, s.per_ip_per_hour, HOUR),
            _Rule("session", session, s.per_session, HOUR),
            _Rule("prefix_hour", phone_prefix(e164), s.per_prefix_per_hour, HOUR),
            _Rule("global_hour", "", s.global_per_hour, HOUR),
            _Rule("global_day", "", s.global_per_day, DAY),
        )
        counted: list[tuple[str, int]] = []
        refused: list[tuple[_Rule, str]] = []
        try:
            for rule in rules:
                key = keyed_digest(self._pepper, "sms_limit", f"{rule.name}\x00{rule.subject}")
                count = self._store.incr(NS_LIMIT, key, rule.window)
                counted.append((key, rule.window))
                if count == 1:
                    self._store.put(NS_START, key, repr(self._clock.now()).encode(), rule.window)
                if count > rule.limit:
                    refused.append((rule, key))
        except Exception:
            self._give_back(counted)
            raise
        if not refused:
            return SmsReservation(tuple(counted))
        self._give_back(counted)
        retry_after = max(self._retry_after(key, rule.window) for rule, key in refused)
        names = ",".join(rule.name for rule, _ in refused)
        # A spent global budget is an alert (T88): someone may be pumping.
        level = logging.ERROR if "global" in names else logging.WARNING
        log_event(log, "sms.rate_limited", level, limits=names, to=mask_phone(e164))
        raise RateLimited(f"sms:{names}", retry_after)

    def release(self, reservation: SmsReservation) -> None:
        """Give back a reservation whose SMS surely was not sent."""
        self._give_back(list(reservation.keys))

    def _give_back(self, counted: list[tuple[str, int]]) -> None:
        for key, window in counted:
            self._store.incr(NS_LIMIT, key, window, amount=-1)

    def _retry_after(self, key: str, window: int) -> int:
        raw = self._store.get(NS_START, key)
        if raw is None:
            return window
        left = float(raw) + window - self._clock.now()
        return max(1, min(window, math.ceil(left)))
