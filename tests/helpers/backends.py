"""Real-backend availability: skip with a clear message locally, fail under CI=true.

Tests that need Redis, PostgreSQL or OpenSSL's GOST engine call :func:`require`; under
``CI=true`` a missing backend is a failure, never a skip (the suite must not go green by
skipping what it was meant to prove).
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(backend: str, available: bool, why: str) -> None:
    """Skip (locally) or fail (CI) the calling test when ``available`` is false."""
    if available:
        return
    message = f"{backend} unavailable: {why}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: real backends are required)", pytrace=False)
    pytest.skip(message)
