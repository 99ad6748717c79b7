"""One-time codes by SMS and e-mail (SECURITY.md T72–T75)."""

from __future__ import annotations

import json
import re

import pytest

from gateway.core.clock import FixedClock
from gateway.core.errors import FactorFailed
from gateway.core.errors import RateLimited
from gateway.store.memory import MemoryEphemeralStore
from providers.factors.codes import OneTimeCodes
from providers.factors.codes import code_message

PEPPER = b"pepper" * 6


@pytest.fixture
def store(clock: FixedClock) -> MemoryEphemeralStore:
    return MemoryEphemeralStore(clock)


@pytest.fixture
def codes(store: MemoryEphemeralStore, clock: FixedClock) -> OneTimeCodes:
    return OneTimeCodes(store, clock, PEPPER, channel="sms")


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_t72_codes_six_digits_uniform_digest_only(
    codes: OneTimeCodes, store: MemoryEphemeralStore, clock: FixedClock
) -> None:
    issued = [codes.issue(f"journey-{n}").code for n in range(1000)]
    assert all(len(c) == 6 and c.isdigit() for c in issued)
    counts = [0] * 10
    for code in issued:
        for digit in code:
            counts[int(digit)] += 1
    expected = len(issued) * 6 / 10
    chi_square = sum((c - expected) ** 2 / expected for c in counts)
    assert chi_square < 27.88  # 9 degrees of freedom, p = 0.001
    records = {key: entry.value for (ns, key), entry in store._entries.items() if ns == "otp_sms"}
    assert len(records) == 1000
    for key, raw in records.items():
        assert re.fullmatch(r"[0-9a-f]{64}", key)  # a digest, not the journey id
        record = json.loads(raw)
        assert set(record) == {"d", "g", "exp", "at"}  # digest, generation, times only
        assert re.fullmatch(r"[0-9a-f]{64}", record["d"])
    assert not any(str(v) in issued for raw in records.values() for v in json.loads(raw).values())


def test_t73_code_expires_and_late_use_counts_as_failure(
    codes: OneTimeCodes, clock: FixedClock
) -> None:
    issued = codes.issue("j1")
    assert issued.expires_at == clock.now() + 300
    clock.advance(301)
    with pytest.raises(FactorFailed) as late:
        codes.verify("j1", issued.code)
    assert late.value.reason == "code_expired"


def test_t73_code_is_accepted_just_before_expiry(codes: OneTimeCodes, clock: FixedClock) -> None:
    issued = codes.issue("j1")
    clock.advance(299)
    codes.verify("j1", issued.code)


def test_t74_single_use(codes: OneTimeCodes) -> None:
    issued = codes.issue("j1")
    codes.verify("j1", issued.code)
    with pytest.raises(FactorFailed):
        codes.verify("j1", issued.code)


def test_t74_bound_to_transaction_and_purpose(
    store: MemoryEphemeralStore, clock: FixedClock
) -> None:
    sms = OneTimeCodes(store, clock, PEPPER, channel="sms")
    email = OneTimeCodes(store, clock, PEPPER, channel="email")
    a = sms.issue("journey-a")
    sms.issue("journey-b")
    with pytest.raises(FactorFailed):
        sms.verify("journey-b", a.code)
    with pytest.raises(FactorFailed):
        sms.verify("journey-a", a.code, purpose="enrol_phone")
    with pytest.raises(FactorFailed):
        email.verify("journey-a", a.code)
    sms.verify("journey-a", a.code)


def test_t74_resend_kills_the_old_code_after_the_cooldown(
    codes: OneTimeCodes, clock: FixedClock
) -> None:
    old = codes.issue("j1")
    with pytest.raises(RateLimited) as early:
        codes.issue("j1")
    assert early.value.retry_after == 60
    clock.advance(45)
    with pytest.raises(RateLimited) as later:
        codes.issue("j1")
    assert later.value.retry_after == 15
    clock.advance(16)
    new = codes.issue("j1")
    if new.code != old.code:
        with pytest.raises(FactorFailed):
            codes.verify("j1", old.code)
    codes.verify("j1", new.code)


def test_t75_five_wrong_guesses_kill_the_code(codes: OneTimeCodes) -> None:
    issued = codes.issue("j1")
    reasons = []
    for _ in range(5):
        with pytest.raises(FactorFailed) as wrong:
            codes.verify("j1", _wrong(issued.code))
        reasons.append(wrong.value.reason)
    assert set(reasons) == {"code_mismatch"}
    with pytest.raises(FactorFailed) as dead:
        codes.verify("j1", issued.code)
    assert dead.value.reason == "code_attempts_exhausted"


def test_t75_a_resend_gives_a_fresh_code_its_own_attempts(
    codes: OneTimeCodes, clock: FixedClock
) -> None:
    first = codes.issue("j1")
    for _ in range(5):
        with pytest.raises(FactorFailed):
            codes.verify("j1", _wrong(first.code))
    clock.advance(61)
    second = codes.issue("j1")
    codes.verify("j1", second.code)


@pytest.mark.parametrize("entered", ["", "12345", "1234567", "12345a", "١٢٣٤٥٦"])
def test_malformed_codes_fail_the_same_way(codes: OneTimeCodes, entered: str) -> None:
    codes.issue("j1")
    with pytest.raises(FactorFailed):
        codes.verify("j1", entered)


def test_unknown_transaction_fails_the_same_way(codes: OneTimeCodes) -> None:
    with pytest.raises(FactorFailed) as unknown:
        codes.verify("never-issued", "123456")
    assert unknown.value.reason == "code_missing"
    assert str(unknown.value) == "code_missing"


def test_lifetime_is_bounded() -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        OneTimeCodes(
            MemoryEphemeralStore(FixedClock()), FixedClock(), PEPPER, channel="sms", ttl_seconds=601
        )


def test_message_names_the_code_and_the_service_only() -> None:
    assert code_message("123456") == "Код входа в vhod: 123456. Никому его не сообщайте."
    assert "123456" in code_message("123456", "vhod", "email")
