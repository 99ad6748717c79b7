"""gateway.core.profiles reads the profile the journey seals, and ages as the journey does.

The admin side's policy use cases may not import the journey, so they read profiles and ages
through ``gateway.core.profiles``; the journey (``gateway.journey.subjects``) still has its own
copies. These tests keep the two equal.
"""

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


def test_the_sealing_context_is_the_journeys() -> None:
    for subject_id in ("s-1", "0f3c", ""):
        assert profiles.profile_context(subject_id) == journey.profile_context(subject_id)


def test_opens_what_the_journey_sealed() -> None:
    sealer = FakeSealer()
    person = subject(journey.seal_profile(sealer, "s-1", ATTRIBUTES))
    assert profiles.open_profile(sealer, person) == journey.open_profile(sealer, person)
    assert profiles.open_profile(sealer, person)["birthdate"] == "2010-03-04"
    assert profiles.open_profile(sealer, subject(None)) == {}


@pytest.mark.parametrize(
    "birthdate",
    [None, "", "2010-03-04", "2010-03-05", "2010-03-03", "2000-02-29", "2030-01-01", "03.04.2010"],
)
def test_ages_as_the_journey_does(birthdate: str | None) -> None:
    on = date(2024, 3, 4)
    assert profiles.age_on(birthdate, on) == journey.age_on(birthdate, on)


def test_today_is_the_utc_date_as_in_the_journey() -> None:
    for now in (0.0, 1_790_000_000.0, 1_790_049_599.0):
        assert profiles.today(now) == journey.today(now)


def test_the_admin_age_reader_reads_the_sealed_birthdate() -> None:
    sealer = FakeSealer()
    clock = FixedClock(datetime(2024, 3, 4, 12, tzinfo=UTC).timestamp())
    age = age_reader(sealer, clock)
    assert age(subject(journey.seal_profile(sealer, "s-1", ATTRIBUTES))) == 14
    assert age(subject(journey.seal_profile(sealer, "s-2", {"birthdate": 7}), "s-2")) is None
    assert age(subject(None)) is None
