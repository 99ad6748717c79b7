"""Fixtures of the reliability tests (SECURITY.md §5, R1–R16): the migrated template data
directory shared with the OAuth feature tests, and the ``services`` built from it."""

from __future__ import annotations

from typing import Any

from tests.helpers.oauth import kit as kit
from tests.helpers.oauth import oauth_template as oauth_template
from tests.helpers.oauth import services as services


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How many cases the fuzz tests generated, and the local conformance run's modules
    (the closing note of issue 14)."""
    from tests.reliability.fuzzing import CASES
    from tests.reliability.test_conformance_basic_op import RESULTS

    if CASES:
        total = sum(CASES.values())
        parts = ", ".join(f"{name} {count}" for name, count in sorted(CASES.items()))
        terminalreporter.write_line(f"fuzz cases: {total} ({parts})")
    if RESULTS:
        width = max(len(name) for name, _, _ in RESULTS)
        terminalreporter.write_line("oidcc-basic-certification-test-plan (local, no browser):")
        for name, result, note in RESULTS:
            terminalreporter.write_line(f"  {name:<{width}}  {result}  {note}".rstrip())
