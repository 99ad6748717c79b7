"""Signing keys for admins: list (never private parts) and rotate, audited with the actor."""

from __future__ import annotations

from typing import Any

from gateway.core.audit import audit
from gateway.core.ports import Clock
from gateway.core.ports import KeyManagement
from gateway.core.ports import UnitOfWorkFactory


def list_signing_keys(manager: KeyManagement) -> list[dict[str, Any]]:
    """Each key's id, algorithm, state and times (JSON-ready)."""
    return [
        {
            "kid": info.kid,
            "alg": info.alg,
            "state": str(info.state),
            "created_at": info.created_at,
            "activated_at": info.activated_at,
            "retired_at": info.retired_at,
            "published": info.published,
            "published_until": info.published_until,
        }
        for info in manager.list_keys()
    ]


def rotate_signing_keys(
    manager: KeyManagement, uow: UnitOfWorkFactory, clock: Clock, alg: str | None, actor: str
) -> list[str]:
    """``next → active → retired`` and a new ``next`` (``KeyManagement.rotate``), audited.

    :raises ValueError: an unsupported ``alg``.
    """
    changes = manager.rotate(alg)
    with uow() as tx:
        audit(tx, clock.now(), "keys.rotated", alg=alg or "all", actor=actor)
        tx.commit()
    return changes.describe()
