"""Argument checks shared by every ``EphemeralStore`` backend.

They live in one place so that the backends agree: a call that the memory store (used by
unit tests) accepts is one that Redis and SQL accept too.

* A TTL must be a positive number of seconds: "every write has a TTL" (DESIGN.md), and a
  zero or negative TTL is a bug in the caller, not a request for an immortal key.
* A namespace is a short code constant without ``:`` — the Redis backend builds keys as
  ``<prefix>:<namespace>:<key>``, so a ``:`` in a namespace could make two (namespace,
  key) pairs collide. Keys may be any string.
"""

from __future__ import annotations

MAX_NAMESPACE_LENGTH = 64


def check_ttl(ttl_seconds: int, what: str = "ttl_seconds") -> None:
    """:raises ValueError: unless ``ttl_seconds`` is a positive integer."""
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int) or ttl_seconds <= 0:
        raise ValueError(f"{what} must be a positive integer")


def check_namespace(namespace: str) -> None:
    """:raises ValueError: for an empty or too long namespace, or one containing ``:``."""
    if not namespace or len(namespace) > MAX_NAMESPACE_LENGTH or ":" in namespace:
        raise ValueError(f"namespace must be 1..{MAX_NAMESPACE_LENGTH} characters without ':'")


def check_amount(amount: int) -> None:
    """:raises ValueError: unless ``amount`` is an integer."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError("amount must be an integer")
