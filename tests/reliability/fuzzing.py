"""The fuzzing budget and the case counter shared by the fuzz tests.

``VHOD_FUZZ_EXAMPLES`` raises the number of examples per operation / property (default
:data:`DEFAULT_EXAMPLES`, which keeps the fuzz part of ``make test`` well under a minute);
with it set, generation is random, without it derandomized (the same cases on every run).
"""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import HealthCheck
from hypothesis import settings

DEFAULT_EXAMPLES = 20
EXAMPLES = int(os.environ.get("VHOD_FUZZ_EXAMPLES") or DEFAULT_EXAMPLES)
RANDOM = bool(os.environ.get("VHOD_FUZZ_EXAMPLES"))

CASES: Counter[str] = Counter()
"""Generated cases by suite (``admin-api``, ``oauth``, ``config``…), for the report."""

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)

CHEAP = settings(FUZZ, max_examples=EXAMPLES * 5)
"""For the pure parsers (no HTTP, no database): five times the budget."""
