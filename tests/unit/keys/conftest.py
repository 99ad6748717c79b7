from __future__ import annotations

import os

import pytest

from gateway.config.schema import KeySettings
from gateway.core.clock import FixedClock
from keys.manager import KeyManager
from keys.sealing import AesGcmSealer
from tests.unit.keys.fakes import FakeDatabase

KEEP_SECONDS = 3600
TTL_SECONDS = 30.0


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def kek() -> bytes:
    return os.urandom(32)


@pytest.fixture
def bik() -> bytes:
    return os.urandom(32)


@pytest.fixture
def sealer(db: FakeDatabase, clock: FixedClock, kek: bytes, bik: bytes) -> AesGcmSealer:
    return AesGcmSealer.load(db.uow, kek, bik, clock)


@pytest.fixture
def settings() -> KeySettings:
    return KeySettings(retired_keep_seconds=KEEP_SECONDS)


@pytest.fixture
def manager(
    db: FakeDatabase, sealer: AesGcmSealer, clock: FixedClock, settings: KeySettings
) -> KeyManager:
    return KeyManager(db.uow, sealer, clock, settings, cache_ttl_seconds=TTL_SECONDS)
