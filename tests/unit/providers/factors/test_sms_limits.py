"""SMS anti-pumping (SECURITY.md M, T85–T88): limits before the provider is called."""

from __future__ import annotations

import logging

import pytest

from gateway.config.factors import SmsLimitSettings
from gateway.core.clock import FixedClock
from gateway.core.errors import DestinationRefused
from gateway.core.errors import RateLimited
from gateway.store.memory import MemoryEphemeralStore
from providers.factors.sms_limits import SmsLimits
from providers.factors.sms_limits import mask_phone
from providers.factors.sms_limits import normalize_phone

PEPPER = b"pepper" * 6
GENEROUS = {
    "per_number_per_minute": 10,
    "per_number_per_day": 50,
    "per_account_per_hour": 100,
    "per_account_per_day": 200,
    "per_ip_per_hour": 10000,
    "per_session": 20,
    "per_prefix_per_hour": 10000,
}


class CountingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, text: str) -> None:
        self.sent.append((to, text))


def _limits(clock: FixedClock, **settings: int) -> SmsLimits:
    return SmsLimits(MemoryEphemeralStore(clock), clock, PEPPER, SmsLimitSettings(**settings))


def _send(
    limits: SmsLimits,
    sender: CountingSender,
    phone: str = "+79161234567",
    account: str = "acct",
    ip: str = "192.0.2.1",
    session: str = "journey",
) -> None:
    limits.reserve(phone=phone, account=account, ip=ip, session=session)
    sender.send(phone, "Код входа в vhod: 123456. Никому его не сообщайте.")


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+7 (916) 123-45-67", "+79161234567"),
        ("8 916 123 45 67", "+79161234567"),
        ("89161234567", "+79161234567"),
        ("79161234567", "+79161234567"),
        ("9161234567", "+79161234567"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_numbers_are_normalised_to_e164(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "abc", "+7916", "+7916123456789", "12345", "+7 916 12x 45 67"])
def test_non_numbers_are_refused(raw: str) -> None:
    with pytest.raises(DestinationRefused, match="phone_invalid"):
        normalize_phone(raw)


def test_masks_show_the_last_two_digits_only() -> None:
    assert mask_phone("+79161234567") == "…67"


def test_t85_per_number_minute_and_day(clock: FixedClock) -> None:
    limits = _limits(clock, **{**GENEROUS, "per_number_per_minute": 1, "per_number_per_day": 5})
    sender = CountingSender()
    _send(limits, sender, session="s0")
    with pytest.raises(RateLimited) as minute:
        _send(limits, sender, session="s1")
    assert minute.value.retry_after == 60
    assert len(sender.sent) == 1
    for n in range(4):
        clock.advance(61)
        _send(limits, sender, session=f"s{n + 2}")
    clock.advance(61)
    with pytest.raises(RateLimited) as day:
        _send(limits, sender, session="s9")
    assert 60 < day.value.retry_after <= 86400
    assert len(sender.sent) == 5
    _send(limits, sender, phone="+79161234568")  # another number still works


def test_t85_refused_requests_do_not_use_up_the_allowance(clock: FixedClock) -> None:
    limits = _limits(clock, **{**GENEROUS, "per_number_per_minute": 1, "per_number_per_day": 2})
    sender = CountingSender()
    _send(limits, sender)
    for _ in range(10):
        with pytest.raises(RateLimited):
            _send(limits, sender)
    clock.advance(61)
    _send(limits, sender)
    assert len(sender.sent) == 2


def test_t86_one_ip_many_accounts(clock: FixedClock) -> None:
    limits = _limits(clock, **{**GENEROUS, "per_ip_per_hour": 3})
    sender = CountingSender()
    for n in range(3):
        _send(limits, sender, phone=f"+7916123450{n}", account=f"a{n}", session=f"s{n}")
    with pytest.raises(RateLimited):
        _send(limits, sender, phone="+79161234509", account="a9", session="s9")
    _send(limits, sender, phone="+79161234509", account="a9", session="s9", ip="192.0.2.2")
    assert len(sender.sent) == 4


def test_t86_one_account_many_sessions_and_one_session(clock: FixedClock) -> None:
    limits = _limits(clock, **{**GENEROUS, "per_account_per_hour": 2, "per_session": 2})
    sender = CountingSender()
    _send(limits, sender, session="s1")
    _send(limits, sender, session="s2")
    with pytest.raises(RateLimited):
        _send(limits, sender, session="s3")
    _send(limits, sender, account="other", session="t1")
    _send(limits, sender, account="other2", session="t1")
    with pytest.raises(RateLimited):
        _send(limits, sender, account="other3", session="t1")
    assert len(sender.sent) == 4


@pytest.mark.parametrize(
    "phone",
    [
        "+78001234567",
        "+78091234567",
        "+74951234567",
        "+442079460958",
        "+88212345678",
        "+97912345678",
    ],
)
def test_t87_only_russian_mobiles_by_default(clock: FixedClock, phone: str) -> None:
    limits = _limits(clock)
    sender = CountingSender()
    with pytest.raises(DestinationRefused, match="phone_not_allowed"):
        _send(limits, sender, phone=phone)
    assert sender.sent == []


def test_t87_allowed_prefixes_are_configurable(clock: FixedClock) -> None:
    limits = SmsLimits(
        MemoryEphemeralStore(clock), clock, PEPPER, SmsLimitSettings(), ("+79", "+375")
    )
    assert limits.check_destination("+375 29 123 45 67") == "+375291234567"


def test_t87_prefix_velocity_blocks_the_prefix(
    clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    limits = _limits(clock, **{**GENEROUS, "per_prefix_per_hour": 3})
    sender = CountingSender()
    caplog.set_level(logging.INFO)
    for n in range(3):
        _send(limits, sender, phone=f"+7916123{n:04d}", account=f"a{n}", session=f"s{n}")
    with pytest.raises(RateLimited) as blocked:
        _send(limits, sender, phone="+79161239999", account="x", session="x")
    assert "prefix_hour" in blocked.value.what
    _send(limits, sender, phone="+79171239999", account="y", session="y")
    assert len(sender.sent) == 4
    assert "1239999" not in caplog.text
    assert "+7916" not in caplog.text


def test_t88_global_budget_fails_closed(
    clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    limits = _limits(clock, **{**GENEROUS, "global_per_hour": 3, "global_per_day": 5})
    sender = CountingSender()
    for n in range(3):
        _send(limits, sender, phone=f"+7916{n}000000", account=f"a{n}", session=f"s{n}")
    with pytest.raises(RateLimited) as hour:
        _send(limits, sender, phone="+79169000000", account="z", session="z")
    assert "global_hour" in hour.value.what
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    clock.advance(3600)
    for n in range(2):
        _send(limits, sender, phone=f"+7915{n}000000", account=f"b{n}", session=f"t{n}")
    with pytest.raises(RateLimited) as day:
        _send(limits, sender, phone="+79149000000", account="w", session="w")
    assert "global_day" in day.value.what
    assert len(sender.sent) == 5


def test_release_gives_back_a_send_that_did_not_go_out(clock: FixedClock) -> None:
    limits = _limits(clock, **{**GENEROUS, "per_number_per_minute": 1})
    reservation = limits.reserve(phone="+79161234567", account="a", ip="ip", session="s")
    limits.release(reservation)
    limits.reserve(phone="+79161234567", account="a", ip="ip", session="s")
