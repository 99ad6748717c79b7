"""Sections of the configuration for link applications and the help pages (issue 12):
``[applications]`` (uploads, retention, rate limits, the age job) and ``[support]`` (the
support contacts of each region, keyed by region code, with a ``default``).

The same rules as for every section hold: ``extra="forbid"``, frozen, the unit in the name.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gateway.config.section import Section

MIB = 1024 * 1024


class ApplicationSettings(Section):
    """Link applications with documents (``/account/children/apply``, the review queue)."""

    max_upload_bytes: Annotated[int, Field(ge=64 * 1024, le=20 * MIB)] = 5 * MIB
    """The largest scan accepted; a bigger body is refused before it is read."""
    retention_days: Annotated[int, Field(ge=0, le=3650)] = 30
    """Documents are deleted this long after the application was decided."""
    per_parent_per_day: Annotated[int, Field(ge=1, le=100)] = 5
    """Applications one parent may submit in 24 hours (T94)."""
    per_child_per_day: Annotated[int, Field(ge=1, le=100)] = 3
    """Applications naming one SNILS in 24 hours, whoever submits them (T94)."""
    expiry_notice_days: Annotated[int, Field(ge=0, le=365)] = 30
    """The parent is told this many days before a link ends at the child's 18th birthday."""
    lifecycle_interval_seconds: Annotated[float, Field(ge=1, le=86400)] = 3600.0
    """How often ``vhod worker`` expires links, sends notices and purges documents."""


class SupportContact(Section):
    """Where a region's people get help (shown on every page that refuses something)."""

    name: Annotated[str, Field(max_length=200)] = "Служба поддержки"
    hotline: Annotated[str, Field(max_length=40)] = ""
    email: Annotated[str, Field(max_length=200)] = ""
    hours: Annotated[str, Field(max_length=200)] = ""


DEFAULT_SUPPORT = {
    "default": SupportContact(
        name="Единый контактный центр Госуслуг",
        hotline="8 800 100-70-10",
        hours="круглосуточно",
    )
}


def check_support(v: dict[str, SupportContact]) -> dict[str, SupportContact]:
    for key in v:
        if key != "default" and not (key.isascii() and key.isdigit() and 2 <= len(key) <= 3):
            raise ValueError(f"support region {key!r}: a region code (2-3 digits) or 'default'")
    if "default" not in v:
        raise ValueError("[support.default] is required")
    return v
