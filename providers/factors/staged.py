"""Credential writes staged outside a write transaction.

On the embedded default the ephemeral store lives in the same SQLite file as the durable
store, and a write unit of work holds SQLite's write lock from its first statement
(``BEGIN IMMEDIATE``): an ephemeral write inside it (a TOTP step claimed against replay, a
push challenge) would wait for the lock and fail. A factor operation that needs both reads
through a read-only unit of work's repository wrapped in :class:`StagedCredentials`, does
its ephemeral work, and the staged writes are applied in a write unit of work afterwards::

    with uow(read_only=True) as reading:
        staged = StagedCredentials(reading.credentials)
        totp.confirm_enrolment(staged, subject_id, credential_id, code)
    with uow() as writing:
        staged.apply(writing.credentials)
        writing.commit()

Only writes that decide nothing may be staged: a single use (a recovery code) is an atomic
decision of the store and is refused here.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.core.factors import Credential
from gateway.core.factors import CredentialRepository
from gateway.core.factors import FactorKind

__all__ = ["StagedCredentials"]


class StagedCredentials:
    """A :class:`CredentialRepository` that reads through and stages its writes."""

    def __init__(self, credentials: CredentialRepository) -> None:
        self._credentials = credentials
        self._writes: list[Callable[[CredentialRepository], object]] = []

    def apply(self, credentials: CredentialRepository) -> None:
        """Replay the staged writes, in order, on a write unit of work's repository."""
        for write in self._writes:
            write(credentials)
        self._writes.clear()

    def add(self, credential: Credential) -> None:
        self._writes.append(lambda repo: repo.add(credential))

    def get(self, credential_id: str) -> Credential | None:
        return self._credentials.get(credential_id)

    def list_for(self, subject_id: str, kind: FactorKind | None = None) -> list[Credential]:
        return self._credentials.list_for(subject_id, kind)

    def update(self, credential: Credential) -> None:
        self._writes.append(lambda repo: repo.update(credential))

    def use(self, credential_id: str, at: float, *, single_use: bool = False) -> bool:
        if single_use:
            raise ValueError("a single use is decided by the store: not in a staged write")
        self._writes.append(lambda repo: repo.use(credential_id, at))
        return True

    def remove(self, credential_id: str) -> bool:
        self._writes.append(lambda repo: repo.remove(credential_id))
        return True

    def remove_all_for(self, subject_id: str, kind: FactorKind | None = None) -> int:
        self._writes.append(lambda repo: repo.remove_all_for(subject_id, kind))
        return 0
