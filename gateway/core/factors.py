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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import Protocol

ACR_ESIA = "urn:vhod:acr:esia"
"""A login at ESIA alone."""
ACR_ESIA_MFA = "urn:vhod:acr:esia-mfa"
"""ESIA plus a vhod second factor."""
ACR_VALUES = (ACR_ESIA, ACR_ESIA_MFA)

AMR_MFA = "mfa"

PUSH_ENROL_PATH = "/factors/push/enrol"
"""Where a push device enrols (JSON POST; ``providers.factors.push`` documents the body)."""
PUSH_PENDING_PATH = "/factors/push/pending"
"""Where a push device lists its pending challenges (signed JSON POST)."""
PUSH_ANSWER_PATH = "/factors/push/answer"
"""Where a push device answers a challenge (signed JSON POST)."""
PUSH_DEVICE_PATHS = (PUSH_ENROL_PATH, PUSH_PENDING_PATH, PUSH_ANSWER_PATH)


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
        re-enrolment, regenerated recovery codes). Without ``kind`` the preference goes
        too."""
        ...

    def preferred(self, subject_id: str) -> FactorKind | None:
        """The factor kind the person chose to be offered first (not a secret)."""
        ...

    def set_preferred(self, subject_id: str, kind: FactorKind | None, at: float) -> None:
        """Record (or with ``None`` forget) the person's preferred factor kind."""
        ...


def verified_channels(attributes: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The mobile and e-mail address an upstream *verified*, from its attributes (or
    the sealed profile): ``(phone, email)``, each ``None`` unless verified."""
    phone = attributes.get("phone_number") if attributes.get("phone_number_verified") else None
    email = attributes.get("email") if attributes.get("email_verified") else None
    return (
        phone if isinstance(phone, str) else None,
        email if isinstance(email, str) else None,
    )


# --------------------------------------------------------------------------- the login step's port


@dataclass(frozen=True)
class FactorSubject:
    """Who passes a second factor in one login, and the channels ESIA verified.

    :param transaction: the journey id: codes and push challenges are bound to it, so
        one login's code does not pass another (SECURITY.md T74).
    :param phone: the ESIA-verified mobile (E.164), never a number from a request (T89).
    :param email: the ESIA-verified e-mail address.
    """

    subject_id: str
    transaction: str
    client_ip: str = ""
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class FactorOption:
    """A factor the person can pass now: its kind (``sms``, ``email``, ``totp``,
    ``push``, ``recovery``) and a hint that identifies nobody (``…01``, a device label)."""

    kind: str
    hint: str = ""


@dataclass(frozen=True)
class FactorChallenge:
    """A factor started in a login: a code sent, a push challenge waiting.

    :param number: push: the two digits the page shows and the device must answer (T80).
    :param challenge_id: push: the challenge the page polls.
    """

    kind: str
    hint: str = ""
    number: int | None = None
    challenge_id: str | None = None


class SecondFactors(Protocol):
    """vhod's second factors as the login journey needs them (``providers.factors``).

    Failures are uniform (``FactorFailed`` with a reason code for the log only); limits
    and lockouts raise ``RateLimited`` with ``retry_after`` before any provider call.
    """

    def options(self, who: FactorSubject) -> tuple[FactorOption, ...]:
        """The factors ``who`` can pass now, the preferred one first."""
        ...

    def start(self, who: FactorSubject, kind: str) -> FactorChallenge:
        """Send a code or a push challenge; a factor with nothing to send (TOTP,
        recovery codes) just returns its challenge.

        :raises RateLimited: a send limit or a lockout.
        :raises FactorFailed: ``kind`` is not one of :meth:`options`.
        """
        ...

    def status(self, who: FactorSubject, challenge: FactorChallenge) -> str:
        """Where a started factor stands for the waiting page's polling: ``pending`` (a
        push not answered yet, or any code factor), ``approved``, ``denied``, ``expired``."""
        ...

    def verify(self, who: FactorSubject, challenge: FactorChallenge, answer: str) -> str:
        """Check ``answer`` (a code; for push, nothing: the device's answer is read).

        :return: the RFC 8176 ``amr`` value the factor adds (``sms``, ``otp``, ``swk``…).
        :raises FactorFailed: wrong, expired or used (one answer for all); for push
            still waiting: reason ``pending``.
        :raises RateLimited: locked out for a while.
        """
        ...


# --------------------------------------------------------------------------- management


@dataclass(frozen=True)
class EnrolledFactor:
    """One enrolled factor as ``/account`` and the admin side list it (no secret, no
    phone number: ``hint`` identifies nobody)."""

    credential_id: str
    kind: FactorKind
    label: str
    created_at: float
    last_used_at: float | None = None
    hint: str = ""


@dataclass(frozen=True)
class TotpOffer:
    """A TOTP enrolment awaiting its first code: what the page shows once (``no-store``).

    :param secret: the base32 seed, for typing into an app that cannot scan.
    :param qr_svg: ``<svg …>`` markup of the ``otpauth://`` URI, to put inline.
    """

    credential_id: str
    secret: str
    provisioning_uri: str
    qr_svg: str


@dataclass(frozen=True)
class PushOffer:
    """A one-time token that lets one device enrol, and where the device sends it.

    :param enrol_url: vhod's base URL (the device POSTs to ``<enrol_url>/factors/push/enrol``).
    :param payload: the JSON the QR code holds (``{"v": 1, "url": …, "token": …}``).
    """

    token: str
    enrol_url: str
    payload: str
    qr_svg: str
    expires_in: int


class FactorManagement(Protocol):
    """Enrolled factors of a person, for ``/account``, the admin side and the push
    devices (``providers.factors.manage``). Every change is audited by the
    implementation (``factor.*`` with a subject digest) and announced to the person
    through another channel. The caller checks that the person signed in afresh."""

    def enrolled(self, subject_id: str) -> list[EnrolledFactor]:
        """The person's active factors (recovery codes as one entry with the count)."""
        ...

    def preferred(self, subject_id: str) -> FactorKind | None:
        """The kind the person chose to be offered first at login, if any."""
        ...

    def begin_totp(self, subject_id: str) -> TotpOffer:
        """A new, inactive TOTP credential (a pending earlier one is dropped)."""
        ...

    def confirm_totp(self, subject_id: str, credential_id: str, code: str) -> None:
        """Activate the pending TOTP credential with its first valid code; any older TOTP
        credential is replaced. Raises :class:`~gateway.core.errors.FactorFailed`."""
        ...

    def push_enrolment(self, subject_id: str) -> PushOffer:
        """A one-time enrolment token for a push device (the device enrols through
        :meth:`device_request`)."""
        ...

    def regenerate_recovery(self, subject_id: str) -> list[str]:
        """Replace the person's recovery codes; the new codes, to show once."""
        ...

    def remove(self, subject_id: str, credential_id: str) -> bool:
        """Remove one of the person's factors (for recovery codes: all of them);
        ``False`` when it is not theirs or does not exist."""
        ...

    def set_preferred(self, subject_id: str, kind: FactorKind | None) -> None:
        """Offer ``kind`` first at login (``None``: the default order)."""
        ...

    def device_request(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A push device's signed JSON request (enrol, list pending, answer).

        :raises FactorFailed: refused (reason for the log only).
        :raises RateLimited: the device asks too often.
        :raises KeyError: an unknown path or a missing field.
        """
        ...

    def reset(self, subject_id: str, actor: str) -> int:
        """Remove every enrolled factor of ``subject_id`` (admin reset); how many.

        :param actor: who did it, as the audit records it (an admin's subject digest).
        """
        ...
