"""``providers.factors.push`` and the reference ``Device`` (SECURITY.md T80-T82), with real
ECDSA P-256 keys; the device talks to ``PushFactor.device_request`` in process."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.config.factors import PushSettings
from gateway.core.clock import FixedClock
from gateway.core.errors import FactorFailed
from gateway.core.errors import RateLimited
from gateway.core.factors import FactorKind
from gateway.core.factors import credential_context
from gateway.store.memory import MemoryEphemeralStore
from providers.factors.device import Device
from providers.factors.push import ANSWER_PATH
from providers.factors.push import APPROVE
from providers.factors.push import PushFactor
from providers.factors.push import load_public_key
from tests.unit.providers.factors.fakes import PEPPER
from tests.unit.providers.factors.fakes import FakeSealer
from tests.unit.providers.factors.fakes import MemoryCredentials


class InProcess:
    def __init__(self, push: PushFactor, creds: MemoryCredentials) -> None:
        self.push = push
        self.creds = creds

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.push.device_request(self.creds, path, body)


class Relay:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def notify(self, challenge_id: str) -> None:
        self.sent.append(challenge_id)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(1_700_000_000.0)


@pytest.fixture
def relay() -> Relay:
    return Relay()


@pytest.fixture
def sealer() -> FakeSealer:
    return FakeSealer()


@pytest.fixture
def push(clock: FixedClock, relay: Relay, sealer: FakeSealer) -> PushFactor:
    store = MemoryEphemeralStore(clock)
    return PushFactor(PushSettings(), store, sealer, clock, PEPPER, relay=relay)


@pytest.fixture
def creds() -> MemoryCredentials:
    return MemoryCredentials()


def device_for(
    push: PushFactor, creds: MemoryCredentials, clock: FixedClock, subject: str = "s1"
) -> Device:
    device = Device(InProcess(push, creds), clock=clock.now)
    device.enrol(push.new_enrolment_token(subject), "Телефон")
    return device


def test_enrolment_stores_only_the_public_key_and_the_token_is_single_use(
    push: PushFactor, creds: MemoryCredentials, clock: FixedClock, sealer: FakeSealer
) -> None:
    token = push.new_enrolment_token("s1")
    device = Device(InProcess(push, creds), clock=clock.now)
    device_id = device.enrol(token)
    stored = creds.get(device_id)
    assert stored is not None
    assert stored.kind is FactorKind.PUSH
    assert stored.active
    pem = sealer.open(stored.sealed, credential_context(device_id))
    assert b"PUBLIC KEY" in pem
    assert b"PRIVATE" not in pem
    with pytest.raises(FactorFailed, match="push_enrol_token"):
        Device(InProcess(push, creds)).enrol(token)
    with pytest.raises(FactorFailed, match="push_enrol_token"):
        Device(InProcess(push, creds)).enrol("made-up")


@pytest.mark.parametrize(
    "key",
    [
        {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
        {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        "-----BEGIN PUBLIC KEY-----\n" + "A" * 2000 + "\n-----END PUBLIC KEY-----\n",
        "not a key",
    ],
)
def test_enrolment_refuses_keys_other_than_p256(
    push: PushFactor, creds: MemoryCredentials, key: Any
) -> None:
    token = push.new_enrolment_token("s1")
    with pytest.raises(FactorFailed, match="push_key_invalid"):
        push.enrol_device(creds, token, key, "Телефон")
    assert creds.rows == {}


def test_p256_pem_and_jwk_are_accepted() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    assert load_public_key(pem).public_numbers() == key.public_numbers()
    jwk = Device(InProcess(None, MemoryCredentials()), ec.generate_private_key(ec.SECP256R1()))  # type: ignore[arg-type]
    assert load_public_key(jwk.public_jwk()).public_numbers() == (
        jwk.key.public_key().public_numbers()
    )


def test_t80_push_only_the_shown_number_approves(
    push: PushFactor, creds: MemoryCredentials, clock: FixedClock, relay: Relay
) -> None:
    device = device_for(push, creds, clock)
    challenge = push.start(creds, "s1")
    assert 10 <= challenge.number <= 99
    assert challenge.expires_at == int(clock.now()) + 120
    assert relay.sent == [challenge.challenge_id]
    pending = device.pending()
    assert pending == [{"challenge_id": challenge.challenge_id, "expires_at": challenge.expires_at}]
    assert "number" not in pending[0]
    assert push.status(challenge.challenge_id, "s1").state == "pending"
    assert device.approve(challenge.number) == "approved"
    assert push.status(challenge.challenge_id, "s1").state == "approved"
    assert push.finish(challenge.challenge_id, "s1") == device.device_id
    with pytest.raises(FactorFailed, match="push_replayed"):
        push.finish(challenge.challenge_id, "s1")


@pytest.mark.parametrize("wrong", ["other", None])
def test_t80_push_wrong_or_missing_number_kills_the_challenge(
    push: PushFactor, creds: MemoryCredentials, clock: FixedClock, wrong: str | None
) -> None:
    device = device_for(push, creds, clock)
    challenge = push.start(creds, "s1")
    number = None if wrong is None else (challenge.number % 90) + 10
    assert number != challenge.number
    with pytest.raises(FactorFailed, match="push_wrong_number"):
        device.approve(number, challenge.challenge_id)
    status = push.status(challenge.challenge_id, "s1")
    assert (status.state, status.reason) == ("denied", "wrong_number")
    with pytest.raises(FactorFailed, match="push_replayed"):
        device.approve(challenge.number, challenge.challenge_id)
    with pytest.raises(FactorFailed, match="push_not_approved"):
        push.finish(challenge.challenge_id, "s1")


def test_t81_push_one_outstanding_three_per_window_and_cooldown_after_deny(
    push: PushFactor, creds: MemoryCredentials, clock: FixedClock, relay: Relay
) -> None:
    device = device_for(push, creds, clock)
    first = push.start(creds, "s1")
    with pytest.raises(RateLimited, match="push_pending") as pending:
        push.start(creds, "s1")
    assert 0 < pending.value.retry_after <= 120
    assert len(relay.sent) == 1
    device.approve(first.number)
    push.finish(first.challenge_id, "s1")
    second = push.start(creds, "s1")
    clock.advance(121)  # expires unanswered; the slot frees itself
    assert push.status(second.challenge_id, "s1").state == "expired"
    third = push.start(creds, "s1")
    device.approve(third.number)
    clock.advance(10)
    with pytest.raises(RateLimited, match="push_rate") as rate:
        push.start(creds, "s1")
    assert 0 < rate.value.retry_after <= 600 - 131 + 1
    assert len(relay.sent) == 3
    clock.advance(600)
    fourth = push.start(creds, "s1")
    assert device.deny() == "denied"
    assert push.status(fourth.challenge_id, "s1").reason == "user_denied"
    with pytest.raises(RateLimited, match="push_cooldown") as cooldown:
        push.start(creds, "s1")
    assert 0 < cooldown.value.retry_after <= 601
    clock.advance(601)
    push.start(creds, "s1")


def test_push_needs_an_enrolled_device(push: PushFactor, creds: MemoryCredentials) -> None:
    with pytest.raises(FactorFailed, match="push_no_device"):
        push.start(creds, "s1")


def test_t82_push_expired_replayed_foreign_key_and_other_challenge_refused(
    push: PushFactor, creds: MemoryCredentials, clock: FixedClock
) -> None:
    device = device_for(push, creds, clock)
    other_account = device_for(push, creds, clock, subject="s2")
    challenge = push.start(creds, "s1")
    device.pending()
    body = device.answer_body(
        challenge.challenge_id, challenge.expires_at, APPROVE, challenge.number
    )
    transport = InProcess(push, creds)
    # Signed by a key that is not the enrolled one.
    stranger = Device(transport, device_id=device.device_id)
    forged = stranger.answer_body(
        challenge.challenge_id, challenge.expires_at, APPROVE, challenge.number
    )
    with pytest.raises(FactorFailed, match="push_signature"):
        transport.post(ANSWER_PATH, forged)
    # A device of another account cannot answer, even with its own valid signature.
    theirs = other_account.answer_body(
        challenge.challenge_id, challenge.expires_at, APPROVE, challenge.number
    )
    with pytest.raises(FactorFailed, match="push_unknown"):
        transport.post(ANSWER_PATH, theirs)
    # A signature for another challenge does not fit this one.
    moved = dict(body, challenge_id="another-challenge")
    with pytest.raises(FactorFailed, match="push_unknown"):
        transport.post(ANSWER_PATH, moved)
    second_body = dict(body, number=challenge.number + 1 if challenge.number < 99 else 10)
    with pytest.raises(FactorFailed, match="push_signature"):
        transport.post(ANSWER_PATH, second_body)  # number changed after signing
    assert push.status(challenge.challenge_id, "s1").state == "pending"
    # The real answer works once; its replay is refused.
    assert transport.post(ANSWER_PATH, body) == {"state": "approved"}
    with pytest.raises(FactorFailed, match="push_replayed"):
        transport.post(ANSWER_PATH, body)
    push.finish(challenge.challenge_id, "s1")
    # After expiry nothing is accepted.
    clock.advance(600)
    late = push.start(creds, "s1")
    device.pending()
    late_body = device.answer_body(late.challenge_id, late.expires_at, APPROVE, late.number)
    clock.advance(121)
    with pytest.raises(FactorFailed, match="push_expired"):
        transport.post(ANSWER_PATH, late_body)
    assert push.status(late.challenge_id, "s1").state == "expired"


def test_t82_device_polling_is_signed_and_nonces_single_use(
    push: PushFactor, creds: MemoryCredentials, clock: FixedClock
) -> None:
    device = device_for(push, creds, clock)
    transport = InProcess(push, creds)
    body = {"device_id": device.device_id, "timestamp": int(clock.now()), "nonce": "n" * 20}
    from providers.factors.push import PENDING_PATH
    from providers.factors.push import poll_message

    assert device.device_id is not None
    signed = dict(
        body, signature=device.sign(poll_message(device.device_id, int(clock.now()), "n" * 20))
    )
    assert transport.post(PENDING_PATH, signed) == {"challenges": []}
    with pytest.raises(FactorFailed, match="push_device_auth"):
        transport.post(PENDING_PATH, signed)  # replayed nonce
    stranger = Device(transport, device_id=device.device_id)
    forged = dict(
        body,
        nonce="m" * 20,
        signature=stranger.sign(poll_message(device.device_id, int(clock.now()), "m" * 20)),
    )
    with pytest.raises(FactorFailed, match="push_device_auth"):
        transport.post(PENDING_PATH, forged)
    old = int(clock.now()) - 120
    stale = dict(
        body,
        timestamp=old,
        nonce="o" * 20,
        signature=device.sign(poll_message(device.device_id, old, "o" * 20)),
    )
    with pytest.raises(FactorFailed, match="push_device_auth"):
        transport.post(PENDING_PATH, stale)


def test_enrolment_tokens_never_look_like_options(push: PushFactor) -> None:
    """A token is typed or pasted on a command line (``vhod device enrol URL TOKEN``)."""
    assert all(not push.new_enrolment_token("s-1").startswith("-") for _ in range(500))
