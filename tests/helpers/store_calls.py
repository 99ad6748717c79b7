"""Counting what a use case asks of the ephemeral store (round trips, not timings)."""

from __future__ import annotations

from typing import Any

import pytest

OPERATIONS = ("get", "get_many", "put", "put_many", "put_and_get_many", "consume", "incr", "delete")


def count_store_calls(store: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of ``store``'s operations called from here on, in order (a backend's
    own inner calls — a ``get_many`` made of ``get`` s — not counted)."""
    calls: list[str] = []
    inside = [False]
    for name in OPERATIONS:
        original = getattr(store, name)

        def counted(*args: Any, _name: str = name, _original: Any = original) -> Any:
            if inside[0]:
                return _original(*args)
            calls.append(_name)
            inside[0] = True
            try:
                return _original(*args)
            finally:
                inside[0] = False

        monkeypatch.setattr(store, name, counted)
    return calls
