"""Second factors: the enrolled credentials, their repository port, and the amr/acr words.

A :class:`Credential` is one enrolled authenticator of a subject: a TOTP seed, a push
device's public key, or one recovery code (each code is its own credential, so that using
it is one conditional update). ``sealed`` is the kind's payload, sealed by the caller with
:func:`credential_context` as associated data (``Sealer.seal(payload,
credential_context(id))``); the repository stores it as given, and ``vhod keys reseal``
re-seals it. ``label`` is shown to the person ("Приложение", "Телефон 1") and must never
identify them (no name, phone number, SNILS).

amr values follow RFC 8176: SMS → ``sms``, TOTP and recovery codes → ``otp``, push approval
signed by a device key → ``swk``; two or more distinct methods → also ``mfa``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

ACR_ESIA = "urn:vhod:acr:esia"
"""A login at ESIA alone."""
ACR_ESIA_MFA = "urn:vhod:acr:esia-mfa"
"""ESIA plus a vhod second factor."""
ACR_VALUES = (ACR_ESIA, ACR_ESIA_MFA)

AMR_MFA = "mfa"


class FactorKind(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"
    TOTP = "totp"
    PUSH = "push"
    RECOVERY = "recovery"


_AMR: dict[FactorKind, str] = {
    FactorKind.SMS: "sms",
    FactorKind.EMAIL: "email",
    FactorKind.TOTP: "otp",
    FactorKind.RECOVERY: "otp",
    FactorKind.PUSH: "swk",
}


def amr_for(kind: FactorKind | str) -> str:
    """The RFC 8176 ``amr`` value of a passed factor. Example: ``amr_for("totp") == "otp"``."""
    return _AMR[FactorKind(kind)]


def combine_amr(upstream_amr: Iterable[str], factor_amrs: Iterable[str]) -> tuple[str, ...]:
    """The upstream's amr followed by the factors', each once, in order; ``mfa`` is added
    when two or more distinct methods were used (RFC 8176 §2).

    Example: ``combine_amr(["pwd"], ["otp"]) == ("pwd", "otp", "mfa")``.
    """
    methods: list[str] = []
    for value in (*upstream_amr, *factor_amrs):
        if value and value != AMR_MFA and value not in methods:
            methods.append(value)
    if len(methods) >= 2:
        methods.append(AMR_MFA)
    elif AMR_MFA in (*upstream_amr, *factor_amrs):
        methods.append(AMR_MFA)  # the upstream said so itself; keep its word
    return tuple(methods)


def credential_context(credential_id: str) -> str:
    """The associated data a credential's payload is sealed with."""
    return f"factor_credential:{credential_id}"


@dataclass(frozen=True)
class Credential:
    """One enrolled authenticator; see the module docstring.

    :param active: ``False`` while an enrolment awaits its confirmation (TOTP: a first
        valid code), and for a used recovery code.
    """

    credential_id: str
    subject_id: str
    kind: FactorKind
    label: str
    created_at: float
    sealed: bytes
    active: bool = False
    last_used_at: float | None = None


class CredentialRepository(Protocol):
    """Enrolled credentials (``factor_credentials``); never commits."""

    def add(self, credential: Credential) -> None:
        """Insert; raises :class:`gateway.core.errors.Conflict` when the id exists."""
        ...

    def get(self, credential_id: str) -> Credential | None: ...

    def list_for(self, subject_id: str, kind: FactorKind | None = None) -> list[Credential]:
        """The subject's credentials (of ``kind``), oldest first, active or not."""
        ...

    def update(self, credential: Credential) -> None:
        """Replace label, payload, ``active`` and ``last_used_at``; raises ``NotFound``."""
        ...

    def use(self, credential_id: str, at: float, *, single_use: bool = False) -> bool:
        """Record a use of an active credential (``last_used_at = at``); with
        ``single_use`` also deactivate it. Atomic: of two concurrent single uses exactly
        one gets ``True``. Example: ``UPDATE … SET active = false WHERE id = … AND active``.
        """
        ...

    def remove(self, credential_id: str) -> bool:
        """Delete one credential; ``True`` when it existed."""
        ...

    def remove_all_for(self, subject_id: str, kind: FactorKind | None = None) -> int:
        """Delete the subject's credentials (of ``kind``); how many (admin reset,
        re-enrolment, regenerated recovery codes)."""
        ...
