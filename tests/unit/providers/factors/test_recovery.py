"""``providers.factors.recovery`` (SECURITY.md T84): ten single-use codes, digests only."""

from __future__ import annotations

import math
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.core.clock import FixedClock
from gateway.core.errors import FactorFailed
from gateway.core.factors import credential_context
from providers.factors.recovery import ALPHABET
from providers.factors.recovery import RecoveryCodes
from tests.unit.providers.factors.fakes import PEPPER
from tests.unit.providers.factors.fakes import FakeSealer
from tests.unit.providers.factors.fakes import MemoryCredentials


@pytest.fixture
def sealer() -> FakeSealer:
    return FakeSealer()


@pytest.fixture
def codes(sealer: FakeSealer) -> RecoveryCodes:
    return RecoveryCodes(sealer, PEPPER, FixedClock(1000.0))


def test_ten_codes_of_40_bits_stored_as_digests_only(
    codes: RecoveryCodes, sealer: FakeSealer
) -> None:
    creds = MemoryCredentials()
    issued = codes.regenerate(creds, "s1")
    assert len(issued) == 10
    assert len(set(issued)) == 10
    assert all(re.fullmatch(r"[0-9a-z]{4}-[0-9a-z]{4}", c) for c in issued)
    assert math.log2(len(ALPHABET)) * 8 >= 40
    assert not set("ilou") & set(ALPHABET)
    for credential in creds.rows.values():
        stored = sealer.open(credential.sealed, credential_context(credential.credential_id))
        assert all(c.replace("-", "").encode() not in stored for c in issued)
        assert len(stored) == 64  # a hex HMAC-SHA256
    assert codes.remaining(creds, "s1") == 10


def test_recovery_code_single_use_and_forgiving_input(codes: RecoveryCodes) -> None:
    creds = MemoryCredentials()
    issued = codes.regenerate(creds, "s1")
    assert codes.use(creds, "s1", issued[0]) == 9
    with pytest.raises(FactorFailed, match="recovery_invalid"):
        codes.use(creds, "s1", issued[0])
    typed = " " + issued[1].upper().replace("-", " ") + " "
    assert codes.use(creds, "s1", typed) == 8
    with pytest.raises(FactorFailed):
        codes.use(creds, "s2", issued[2])  # another person's code
    for bad in ("", "zzzz", "uuuu-uuuu", issued[2] + "0"):
        with pytest.raises(FactorFailed):
            codes.use(creds, "s1", bad)
    assert codes.remaining(creds, "s1") == 8


def test_regenerate_replaces_all_codes(codes: RecoveryCodes) -> None:
    creds = MemoryCredentials()
    old = codes.regenerate(creds, "s1")
    new = codes.regenerate(creds, "s1")
    assert codes.remaining(creds, "s1") == 10
    with pytest.raises(FactorFailed):
        codes.use(creds, "s1", old[0])
    assert codes.use(creds, "s1", new[0]) == 9


def test_recovery_code_race_has_one_winner(codes: RecoveryCodes) -> None:
    creds = MemoryCredentials()
    code = codes.regenerate(creds, "s1")[3]

    def attempt(_: int) -> bool:
        try:
            codes.use(creds, "s1", code)
        except FactorFailed:
            return False
        return True

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert list(pool.map(attempt, range(20))).count(True) == 1
