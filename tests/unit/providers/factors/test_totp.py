"""``providers.factors.totp`` (SECURITY.md T77-T79): window, replay, seed lifecycle."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs
from urllib.parse import urlparse

import pyotp
import pytest

from gateway.config.factors import TotpSettings
from gateway.core.clock import FixedClock
from gateway.core.errors import FactorFailed
from gateway.core.factors import FactorKind
from gateway.core.factors import credential_context
from gateway.store.memory import MemoryEphemeralStore
from providers.factors.totp import TotpEnrolment
from providers.factors.totp import TotpFactor
from tests.unit.providers.factors.fakes import FakeSealer
from tests.unit.providers.factors.fakes import MemoryCredentials

T0 = 1_700_000_010.0  # 10 s into a 30 s step


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def sealer() -> FakeSealer:
    return FakeSealer()


@pytest.fixture
def factor(clock: FixedClock, sealer: FakeSealer) -> TotpFactor:
    return TotpFactor(TotpSettings(), MemoryEphemeralStore(clock), sealer, clock)


def code_at(enrolment: TotpEnrolment, when: float) -> str:
    return pyotp.TOTP(enrolment.secret).at(int(when))


def enrolled(factor: TotpFactor, creds: MemoryCredentials, clock: FixedClock) -> TotpEnrolment:
    enrolment = factor.begin_enrolment(creds, "s1")
    factor.confirm_enrolment(
        creds, "s1", enrolment.credential.credential_id, code_at(enrolment, T0)
    )
    clock.advance(60)  # the confirmation code's steps are behind us
    return enrolment


def test_t79_totp_secret_160_bits_sealed_and_active_only_after_confirmation(
    factor: TotpFactor, sealer: FakeSealer, clock: FixedClock
) -> None:
    creds = MemoryCredentials()
    enrolment = factor.begin_enrolment(creds, "s1")
    assert len(base64.b32decode(enrolment.secret)) == 20
    stored = creds.get(enrolment.credential.credential_id)
    assert stored is not None
    assert not stored.active
    assert enrolment.secret.encode() not in stored.sealed
    assert sealer.open(stored.sealed, credential_context(stored.credential_id)) == (
        enrolment.secret.encode()
    )
    # The URI names the issuer and a random tag, nothing about the person.
    uri = urlparse(enrolment.provisioning_uri)
    assert uri.scheme == "otpauth"
    assert uri.netloc == "totp"
    assert uri.path.startswith("/vhod:vhod-")
    assert parse_qs(uri.query)["issuer"] == ["vhod"]
    assert enrolment.qr_svg.startswith("<svg")
    assert "<script" not in enrolment.qr_svg
    # Not usable for login before the confirmation.
    with pytest.raises(FactorFailed):
        factor.verify(creds, "s1", code_at(enrolment, T0))
    with pytest.raises(FactorFailed):
        factor.confirm_enrolment(creds, "s1", stored.credential_id, "000000")
    with pytest.raises(FactorFailed):
        factor.confirm_enrolment(creds, "s2", stored.credential_id, code_at(enrolment, T0 + 30))
    active = factor.confirm_enrolment(
        creds, "s1", stored.credential_id, code_at(enrolment, T0 + 30)
    )
    assert active.active
    # Re-enrolment replaces the old seed once confirmed.
    again = factor.begin_enrolment(creds, "s1")
    assert again.secret != enrolment.secret
    assert factor.has_active(creds, "s1")
    clock.advance(120)
    factor.confirm_enrolment(
        creds, "s1", again.credential.credential_id, code_at(again, clock.now())
    )
    assert [c.credential_id for c in creds.list_for("s1", FactorKind.TOTP)] == [
        again.credential.credential_id
    ]


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)]
)
def test_t77_totp_window_accepts_one_step_either_side(
    factor: TotpFactor, clock: FixedClock, offset: int, accepted: bool
) -> None:
    creds = MemoryCredentials()
    enrolment = enrolled(factor, creds, clock)
    code = code_at(enrolment, clock.now() + offset * 30)
    if accepted:
        assert factor.verify(creds, "s1", code).credential_id == enrolment.credential.credential_id
        stored = creds.get(enrolment.credential.credential_id)
        assert stored is not None
        assert stored.last_used_at == clock.now()
    else:
        with pytest.raises(FactorFailed, match="totp_invalid"):
            factor.verify(creds, "s1", code)


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_malformed_codes_are_invalid(factor: TotpFactor, clock: FixedClock, bad: str) -> None:
    creds = MemoryCredentials()
    enrolled(factor, creds, clock)
    with pytest.raises(FactorFailed, match="totp_invalid"):
        factor.verify(creds, "s1", bad)


def test_t78_totp_replay_same_code_and_earlier_step(factor: TotpFactor, clock: FixedClock) -> None:
    creds = MemoryCredentials()
    enrolment = enrolled(factor, creds, clock)
    now = clock.now()
    factor.verify(creds, "s1", code_at(enrolment, now))
    with pytest.raises(FactorFailed, match="totp_replayed"):
        factor.verify(creds, "s1", code_at(enrolment, now))
    with pytest.raises(FactorFailed, match="totp_replayed"):
        factor.verify(creds, "s1", code_at(enrolment, now - 30))
    # A later step is still fine, and then the one before it is not.
    factor.verify(creds, "s1", code_at(enrolment, now + 30))
    clock.advance(30)
    with pytest.raises(FactorFailed, match="totp_replayed"):
        factor.verify(creds, "s1", code_at(enrolment, clock.now()))
    clock.advance(30)
    factor.verify(creds, "s1", code_at(enrolment, clock.now()))


def test_t78_totp_replay_parallel_same_code_one_success(
    factor: TotpFactor, clock: FixedClock
) -> None:
    creds = MemoryCredentials()
    enrolment = enrolled(factor, creds, clock)
    code = code_at(enrolment, clock.now())

    def attempt(_: int) -> str:
        try:
            factor.verify(creds, "s1", code)
        except FactorFailed as failed:
            return failed.reason
        return "ok"

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(attempt, range(50)))
    assert results.count("ok") == 1
    assert results.count("totp_replayed") == 49
