"""gateway.core.profiles: the profile the journey seals, opened again; ages in whole years
(the journey, the admin side's policy use cases and the factors read profiles here)."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

import pytest

from gateway.admin.policies import age_reader
from gateway.core import profiles
from gateway.core.clock import FixedClock
from gateway.core.types import Subject
from gateway.journey import subjects as journey
from tests.unit.providers.factors.fakes import FakeSealer

ATTRIBUTES = {"family_name": "Тестова", "given_name": "Анна", "birthdate": "2010-03-04"}


def subject(sealed: bytes | None, subject_id: str = "s-1") -> Subject:
    return Subject(
        subject_id=subject_id,
        created_at=0.0,
        updated_at=0.0,
        account_level="confirmed",
        roles=("parent",),
        sealed_profile=sealed,
    )


def test_opens_what_the_journey_sealed() -> None:
    sealer = FakeSealer()
    person = subject(journey.seal_profile(sealer, "s-1", ATTRIBUTES))
    assert profiles.open_profile(sealer, person)["birthdate"] == "2010-03-04"
    assert profiles.open_profile(sealer, subject(None)) == {}


@pytest.mark.parametrize(
    ("birthdate", "age"),
    [
        (None, None),
        ("", None),
        ("2010-03-04", 14),  # the birthday itself
        ("2010-03-05", 13),  # the day before it
        ("2010-03-03", 14),
        ("2000-02-29", 24),
        ("2030-01-01", None),  # not born yet
        ("03.04.2010", None),  # not ISO
    ],
)
def test_age_in_whole_years(birthdate: str | None, age: int | None) -> None:
    assert profiles.age_on(birthdate, date(2024, 3, 4)) == age


def test_today_is_the_utc_date() -> None:
    assert profiles.today(1_790_049_599.0) == date(2026, 9, 22)
    assert profiles.today(0.0) == date(1970, 1, 1)


def test_the_admin_age_reader_reads_the_sealed_birthdate() -> None:
    sealer = FakeSealer()
    clock = FixedClock(datetime(2024, 3, 4, 12, tzinfo=UTC).timestamp())
    age = age_reader(sealer, clock)
    assert age(subject(journey.seal_profile(sealer, "s-1", ATTRIBUTES))) == 14
    assert age(subject(journey.seal_profile(sealer, "s-2", {"birthdate": 7}), "s-2")) is None
    assert age(subject(None)) is None
