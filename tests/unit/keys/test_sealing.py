"""The AES-GCM key ring: sealing, rotation, re-sealing, KEK checks, blind index (T99, R9)."""

from __future__ import annotations

import os

import pytest
from pydantic import SecretStr

from gateway.config.schema import DEV_SECRET_PREFIX
from gateway.config.schema import SecretSettings
from gateway.core.clock import FixedClock
from keys.sealing import KEK_MISMATCH
from keys.sealing import SEALED_VERSION
from keys.sealing import AesGcmSealer
from keys.sealing import SealingError
from keys.sealing import derive_kek
from keys.sealing import sealed_key_id
from tests.unit.keys.fakes import FakeDatabase

SNILS = "112-233-445 95"
CONTEXT = "subject:snils:s-1"


def test_round_trip(sealer: AesGcmSealer) -> None:
    sealed = sealer.seal(SNILS.encode(), CONTEXT)
    assert sealer.open(sealed, CONTEXT) == SNILS.encode()


def test_empty_plaintext_round_trips(sealer: AesGcmSealer) -> None:
    assert sealer.open(sealer.seal(b"", CONTEXT), CONTEXT) == b""


def test_sealed_bytes_do_not_contain_the_plaintext(sealer: AesGcmSealer) -> None:
    plaintext = b"TOTP-SEED-JBSWY3DPEHPK3PXP"
    sealed = sealer.seal(plaintext, CONTEXT)
    assert plaintext not in sealed
    assert plaintext[:8] not in sealed


def test_format_is_versioned_and_names_the_key(sealer: AesGcmSealer) -> None:
    sealed = sealer.seal(b"x", CONTEXT)
    key_id = sealer.key_ids[-1]
    assert sealed[0] == SEALED_VERSION
    assert sealed[1] == len(key_id)
    assert sealed[2 : 2 + len(key_id)] == key_id.encode()
    assert sealed_key_id(sealed) == key_id
    # header + 96-bit nonce + 1 byte of ciphertext + 128-bit tag
    assert len(sealed) == 2 + len(key_id) + 12 + 1 + 16


def test_nonces_are_fresh(sealer: AesGcmSealer) -> None:
    assert sealer.seal(b"same", CONTEXT) != sealer.seal(b"same", CONTEXT)


def test_context_mismatch_fails(sealer: AesGcmSealer) -> None:
    sealed = sealer.seal(SNILS.encode(), "subject:snils:s-1")
    with pytest.raises(SealingError, match="does not authenticate"):
        sealer.open(sealed, "subject:snils:s-2")


def test_empty_context_refused(sealer: AesGcmSealer) -> None:
    with pytest.raises(SealingError, match="context"):
        sealer.seal(b"x", "")


@pytest.mark.parametrize("where", ["version", "key_id", "nonce", "ciphertext", "tag"])
def test_tampering_fails(sealer: AesGcmSealer, where: str) -> None:
    sealed = bytearray(sealer.seal(b"some secret value", CONTEXT))
    id_len = sealed[1]
    offset = {
        "version": 0,
        "key_id": 2,
        "nonce": 2 + id_len,
        "ciphertext": 2 + id_len + 12,
        "tag": len(sealed) - 1,
    }[where]
    sealed[offset] ^= 0x01
    with pytest.raises(SealingError):
        sealer.open(bytes(sealed), CONTEXT)


def test_truncated_and_garbage_refused(sealer: AesGcmSealer) -> None:
    sealed = sealer.seal(b"some secret value", CONTEXT)
    for bad in (b"", b"\x01", sealed[:20], b"\x02" + sealed[1:], b"plain text value"):
        with pytest.raises(SealingError):
            sealer.open(bad, CONTEXT)


def test_load_creates_the_first_data_key_once(
    db: FakeDatabase, clock: FixedClock, kek: bytes, bik: bytes
) -> None:
    first = AesGcmSealer.load(db.uow, kek, bik, clock)
    assert len(db.data_keys) == 1
    second = AesGcmSealer.load(db.uow, kek, bik, clock)
    assert len(db.data_keys) == 1
    assert second.open(first.seal(b"v", CONTEXT), CONTEXT) == b"v"


def test_data_keys_are_stored_wrapped(sealer: AesGcmSealer, db: FakeDatabase) -> None:
    (stored,) = db.data_keys
    assert stored.key_id == sealer.key_ids[0]
    assert len(stored.wrapped) == 1 + 12 + 32 + 16


def test_wrong_kek_refused_at_startup(
    db: FakeDatabase, clock: FixedClock, kek: bytes, bik: bytes
) -> None:
    AesGcmSealer.load(db.uow, kek, bik, clock)
    with pytest.raises(SealingError) as excinfo:
        AesGcmSealer.load(db.uow, os.urandom(32), bik, clock)
    assert str(excinfo.value) == KEK_MISMATCH


def test_wrapped_key_cannot_move_to_another_id(
    db: FakeDatabase, clock: FixedClock, kek: bytes, bik: bytes
) -> None:
    AesGcmSealer.load(db.uow, kek, bik, clock)
    (stored,) = db.data_keys
    db.data_keys = [type(stored)(key_id="other", wrapped=stored.wrapped, created_at=0.0)]
    with pytest.raises(SealingError, match="key-encryption key"):
        AesGcmSealer.load(db.uow, kek, bik, clock)


def test_kek_material_of_other_lengths_is_derived(
    db: FakeDatabase, clock: FixedClock, bik: bytes
) -> None:
    passphrase = b"correct horse battery staple, twice over"
    assert len(derive_kek(passphrase)) == 32
    assert derive_kek(passphrase) == derive_kek(passphrase)
    assert derive_kek(passphrase) != passphrase[:32]
    exact = os.urandom(32)
    assert derive_kek(exact) == exact
    sealer = AesGcmSealer.load(db.uow, passphrase, bik, clock)
    again = AesGcmSealer.load(db.uow, passphrase, bik, clock)
    assert again.open(sealer.seal(b"v", CONTEXT), CONTEXT) == b"v"


def test_short_secrets_refused(db: FakeDatabase, clock: FixedClock, bik: bytes) -> None:
    with pytest.raises(SealingError, match="at least 16"):
        AesGcmSealer.load(db.uow, b"short", bik, clock)
    with pytest.raises(SealingError, match="at least 16"):
        AesGcmSealer.load(db.uow, os.urandom(32), b"short", clock)
    same = os.urandom(32)
    with pytest.raises(SealingError, match="differ"):
        AesGcmSealer.load(db.uow, same, same, clock)


def test_from_settings(db: FakeDatabase, clock: FixedClock) -> None:
    settings = SecretSettings(
        key_encryption_key=SecretStr(DEV_SECRET_PREFIX + "a" * 43),
        blind_index_key=SecretStr("a long blind index passphrase for tests"),
    )
    sealer = AesGcmSealer.from_settings(db.uow, settings, clock)
    assert sealer.open(sealer.seal(b"v", CONTEXT), CONTEXT) == b"v"
    with pytest.raises(SealingError, match="not set"):
        AesGcmSealer.from_settings(db.uow, SecretSettings(), clock)


def test_rotation_old_values_open_new_values_use_new_key(sealer: AesGcmSealer) -> None:
    old_key = sealer.key_ids[-1]
    old = sealer.seal(b"old", CONTEXT)
    new_key = sealer.rotate_data_key()
    assert new_key != old_key
    assert sealer.key_ids == (old_key, new_key)
    new = sealer.seal(b"new", CONTEXT)
    assert sealed_key_id(old) == old_key
    assert sealed_key_id(new) == new_key
    assert sealer.open(old, CONTEXT) == b"old"
    assert sealer.open(new, CONTEXT) == b"new"


def test_other_process_opens_after_rotation_and_follows_it(
    db: FakeDatabase, clock: FixedClock, kek: bytes, bik: bytes
) -> None:
    worker = AesGcmSealer.load(db.uow, kek, bik, clock, refresh_seconds=30)
    cli = AesGcmSealer.load(db.uow, kek, bik, clock, refresh_seconds=30)
    new_key = cli.rotate_data_key()
    sealed_by_cli = cli.seal(b"v", CONTEXT)
    # unknown key id: the worker reloads its ring once and opens the value
    assert worker.open(sealed_by_cli, CONTEXT) == b"v"
    assert worker.key_ids[-1] == new_key


def test_other_process_seals_under_new_key_after_refresh(
    db: FakeDatabase, clock: FixedClock, kek: bytes, bik: bytes
) -> None:
    worker = AesGcmSealer.load(db.uow, kek, bik, clock, refresh_seconds=30)
    old_key = worker.key_ids[-1]
    new_key = AesGcmSealer.load(db.uow, kek, bik, clock).rotate_data_key()
    assert sealed_key_id(worker.seal(b"v", CONTEXT)) == old_key
    clock.advance(30)
    assert sealed_key_id(worker.seal(b"v", CONTEXT)) == new_key


def test_unknown_key_id_fails_clearly(sealer: AesGcmSealer, db: FakeDatabase) -> None:
    sealed = sealer.seal(b"v", CONTEXT)
    foreign = bytes([SEALED_VERSION, 4]) + b"gone" + sealed[2 + sealed[1] :]
    opened = db.opened
    with pytest.raises(SealingError, match="unknown data key 'gone'"):
        sealer.open(foreign, CONTEXT)
    assert db.opened == opened + 1  # reloaded the ring once


def test_reseal_moves_everything_to_the_newest_key(sealer: AesGcmSealer, db: FakeDatabase) -> None:
    for i in range(3):
        db.records[f"r{i}"] = (sealer.seal(f"value {i}".encode(), f"ctx:{i}"), f"ctx:{i}")
    first_key = sealer.key_ids[-1]
    sealer.rotate_data_key()
    db.records["r3"] = (sealer.seal(b"value 3", "ctx:3"), "ctx:3")
    newest = sealer.rotate_data_key()

    assert sealer.reseal() == 4
    for i in range(4):
        value, context = db.records[f"r{i}"]
        assert sealed_key_id(value) == newest
        assert sealer.open(value, context) == f"value {i}".encode()
    assert sealer.reseal() == 0  # already under the newest key: unchanged
    assert first_key in sealer.key_ids  # old keys still open old backups


def test_reseal_refuses_a_tampered_value(sealer: AesGcmSealer, db: FakeDatabase) -> None:
    db.records["r"] = (sealer.seal(b"v", "ctx:a"), "ctx:b")
    sealer.rotate_data_key()
    before = dict(db.records)
    with pytest.raises(SealingError):
        sealer.reseal()
    assert db.records == before  # nothing half-written


def test_blind_index_deterministic_and_separated(
    sealer: AesGcmSealer, db: FakeDatabase, clock: FixedClock, kek: bytes
) -> None:
    digest = sealer.blind_index("snils", "11223344595")
    assert digest == sealer.blind_index("snils", "11223344595")
    assert len(digest) == 64
    int(digest, 16)
    assert "11223344595" not in digest
    assert digest != sealer.blind_index("snils", "11223344596")
    assert digest != sealer.blind_index("birth_certificate", "11223344595")
    other_key = AesGcmSealer.load(db.uow, kek, os.urandom(32), clock)
    assert digest != other_key.blind_index("snils", "11223344595")
    with pytest.raises(ValueError, match="purpose"):
        sealer.blind_index("", "x")
    with pytest.raises(ValueError, match="purpose"):
        sealer.blind_index("a\x00b", "x")


def test_blind_index_survives_data_key_rotation(sealer: AesGcmSealer) -> None:
    before = sealer.blind_index("snils", "11223344595")
    sealer.rotate_data_key()
    assert sealer.blind_index("snils", "11223344595") == before


def test_rotation_from_a_lagging_clock_still_seals_with_the_new_key(
    sealer: AesGcmSealer, clock: FixedClock
) -> None:
    clock.advance(-3600)  # the CLI host's clock is an hour behind the worker's
    new_key = sealer.rotate_data_key()
    assert sealer.key_ids[-1] == new_key
    assert sealed_key_id(sealer.seal(b"v", CONTEXT)) == new_key
