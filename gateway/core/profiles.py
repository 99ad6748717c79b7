"""A subject's sealed profile and the age read from it: what the login journey stores and
what the admin side's policy use cases (explain, dry runs) read again.

``gateway.journey.subjects`` seals the profile under :func:`profile_context`; the admin use
cases may not import the journey, so both read it through here. (The journey still has its
own copies of these functions; ``tests/unit/core/test_profiles.py`` keeps them equal until
it imports these.)
"""

from __future__ import annotations

import json
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

from gateway.core.ports import Sealer
from gateway.core.types import Subject


def profile_context(subject_id: str) -> str:
    """The sealing context of a subject's profile."""
    return f"subject:{subject_id}"


def open_profile(sealer: Sealer, subject: Subject) -> dict[str, Any]:
    """The subject's profile (empty when none was stored)."""
    if subject.sealed_profile is None:
        return {}
    data: dict[str, Any] = json.loads(
        sealer.open(subject.sealed_profile, profile_context(subject.subject_id))
    )
    return data


def age_on(birthdate: str | None, today: date) -> int | None:
    """Whole years from an ISO birth date to ``today``; ``None`` when unknown or invalid."""
    if not birthdate:
        return None
    try:
        born = date.fromisoformat(birthdate)
    except ValueError:
        return None
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return years if years >= 0 else None


def today(now: float) -> date:
    return datetime.fromtimestamp(now, tz=UTC).date()


def profile_age(sealer: Sealer, subject: Subject, now: float) -> int | None:
    """The subject's age in whole years at ``now`` (``birthdate`` of the sealed profile)."""
    birthdate = open_profile(sealer, subject).get("birthdate")
    return age_on(birthdate if isinstance(birthdate, str) else None, today(now))
