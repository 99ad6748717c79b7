"""Fixtures of the reliability tests (SECURITY.md §5, R1–R16): the migrated template data
directory shared with the OAuth feature tests, and the ``services`` built from it."""

from __future__ import annotations

from typing import Any

from tests.helpers.oauth import kit as kit
from tests.helpers.oauth import oauth_template as oauth_template
from tests.helpers.oauth import services as services


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How many cases the fuzz tests generated (the closing note of issue 14)."""
    from tests.reliability.fuzzing import CASES

    if CASES:
        total = sum(CASES.values())
        parts = ", ".join(f"{name} {count}" for name, count in sorted(CASES.items()))
        terminalreporter.write_line(f"fuzz cases: {total} ({parts})")
