"""Recovery codes: ten single-use codes, shown once (SECURITY.md T84).

A code is ``xxxx-xxxx`` from Crockford's base32 alphabet (no ``i l o u``): 8 characters of
5 bits, 40 bits from ``secrets``. Input is forgiving: case, spaces and dashes are ignored
and ``o``/``i``/``l`` read as ``0``/``1``/``1``. Each code is its own credential (kind
``recovery``) whose payload is only the code's keyed digest (HMAC-SHA256 under the server
pepper, purpose ``recovery_code``), sealed like every payload. :meth:`RecoveryCodes.use`
deactivates the matching credential with one conditional update, so of two concurrent uses
of the same code exactly one wins (the other gets ``FactorFailed("recovery_invalid")``
once the winner commits). :meth:`RecoveryCodes.regenerate` replaces all codes.

The caller owns the unit of work (pass ``uow.credentials``, commit after a success).
"""

from __future__ import annotations

import secrets

from gateway.core.errors import FactorFailed
from gateway.core.factors import Credential
from gateway.core.factors import CredentialRepository
from gateway.core.factors import FactorKind
from gateway.core.factors import credential_context
from gateway.core.ids import constant_time_equals
from gateway.core.ids import keyed_digest
from gateway.core.ids import new_id
from gateway.core.ports import Clock
from gateway.core.ports import Sealer

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
"""Crockford's base32: 32 symbols, 5 bits each."""
CODE_LENGTH = 8
CODE_COUNT = 10
LABEL = "recovery"
_READ_AS = str.maketrans({"o": "0", "i": "1", "l": "1"})


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise(code: str) -> str | None:
    """The canonical 8 characters of a typed code, or ``None`` when it cannot be one."""
    cleaned = code.strip().lower().replace("-", "").replace(" ", "").translate(_READ_AS)
    if len(cleaned) != CODE_LENGTH or any(c not in ALPHABET for c in cleaned):
        return None
    return cleaned


class RecoveryCodes:
    def __init__(self, sealer: Sealer, pepper: bytes, clock: Clock) -> None:
        self._sealer = sealer
        self._pepper = pepper
        self._clock = clock

    def regenerate(self, credentials: CredentialRepository, subject_id: str) -> list[str]:
        """Replace every recovery code of the subject by :data:`CODE_COUNT` new ones;
        return them for showing once (``no-store`` page)."""
        credentials.remove_all_for(subject_id, FactorKind.RECOVERY)
        now = self._clock.now()
        codes = [new_recovery_code() for _ in range(CODE_COUNT)]
        for code in codes:
            credential_id = new_id()
            digest = self._digest(normalise(code) or "")
            credentials.add(
                Credential(
                    credential_id=credential_id,
                    subject_id=subject_id,
                    kind=FactorKind.RECOVERY,
                    label=LABEL,
                    created_at=now,
                    sealed=self._sealer.seal(digest, credential_context(credential_id)),
                    active=True,
                )
            )
        return codes

    def use(self, credentials: CredentialRepository, subject_id: str, code: str) -> int:
        """Spend one code; return how many remain. Raises ``FactorFailed("recovery_invalid")``
        for an unknown, malformed or already used code."""
        canonical = normalise(code)
        if canonical is None:
            raise FactorFailed("recovery_invalid")
        wanted = self._digest(canonical)
        live = [c for c in credentials.list_for(subject_id, FactorKind.RECOVERY) if c.active]
        match: Credential | None = None
        for credential in live:
            stored = self._sealer.open(
                credential.sealed, credential_context(credential.credential_id)
            )
            if constant_time_equals(stored, wanted) and match is None:
                match = credential
        if match is None or not credentials.use(
            match.credential_id, self._clock.now(), single_use=True
        ):
            raise FactorFailed("recovery_invalid")
        return len(live) - 1

    def remaining(self, credentials: CredentialRepository, subject_id: str) -> int:
        return sum(c.active for c in credentials.list_for(subject_id, FactorKind.RECOVERY))

    def _digest(self, canonical: str) -> bytes:
        return keyed_digest(self._pepper, "recovery_code", canonical).encode("ascii")
