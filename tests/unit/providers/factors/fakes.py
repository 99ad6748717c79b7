"""Test doubles for the factor providers: an AES-GCM sealer with the context bound, and an
in-memory ``CredentialRepository`` (thread-safe, atomic single use like the SQL one)."""

from __future__ import annotations

import os
import threading
from dataclasses import replace

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.core.errors import Conflict
from gateway.core.errors import NotFound
from gateway.core.factors import Credential
from gateway.core.factors import CredentialRepository
from gateway.core.factors import FactorKind
from gateway.core.ports import Sealer

PEPPER = b"p" * 32


class FakeSealer:
    def __init__(self) -> None:
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes:
        return self._aead.decrypt(sealed[:12], sealed[12:], context.encode())

    def blind_index(self, purpose: str, value: str) -> str:
        return f"{purpose}:{value}"


class MemoryCredentials:
    def __init__(self) -> None:
        self.rows: dict[str, Credential] = {}
        self.preferences: dict[str, FactorKind] = {}
        self._lock = threading.Lock()

    def add(self, credential: Credential) -> None:
        with self._lock:
            if credential.credential_id in self.rows:
                raise Conflict("exists")
            self.rows[credential.credential_id] = credential

    def get(self, credential_id: str) -> Credential | None:
        return self.rows.get(credential_id)

    def list_for(self, subject_id: str, kind: FactorKind | None = None) -> list[Credential]:
        return [
            c
            for c in list(self.rows.values())
            if c.subject_id == subject_id and (kind is None or c.kind == kind)
        ]

    def update(self, credential: Credential) -> None:
        with self._lock:
            if credential.credential_id not in self.rows:
                raise NotFound("credential not found")
            self.rows[credential.credential_id] = credential

    def use(self, credential_id: str, at: float, *, single_use: bool = False) -> bool:
        with self._lock:
            row = self.rows.get(credential_id)
            if row is None or not row.active:
                return False
            self.rows[credential_id] = replace(
                row, last_used_at=at, active=row.active and not single_use
            )
            return True

    def remove(self, credential_id: str) -> bool:
        with self._lock:
            return self.rows.pop(credential_id, None) is not None

    def remove_all_for(self, subject_id: str, kind: FactorKind | None = None) -> int:
        gone = [c.credential_id for c in self.list_for(subject_id, kind)]
        for credential_id in gone:
            self.remove(credential_id)
        if kind is None:
            self.preferences.pop(subject_id, None)
        return len(gone)

    def preferred(self, subject_id: str) -> FactorKind | None:
        return self.preferences.get(subject_id)

    def set_preferred(self, subject_id: str, kind: FactorKind | None, at: float) -> None:
        if kind is None:
            self.preferences.pop(subject_id, None)
        else:
            self.preferences[subject_id] = kind


_sealer: type[Sealer] = FakeSealer
_repo: type[CredentialRepository] = MemoryCredentials
