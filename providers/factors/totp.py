"""TOTP authenticator apps (RFC 6238): enrolment, confirmation, verification with a replay
guard (SECURITY.md T77-T79).

* **Enrolment** (:meth:`TotpFactor.begin_enrolment`): a new 160-bit seed from ``secrets``,
  sealed at rest (context ``factor_credential:<id>``) in an *inactive* credential; the
  ``otpauth://`` URI names the issuer (``[totp] issuer``) and a non-identifying account
  (``vhod-XXXX``, a random tag: never a name, phone or SNILS); the QR code is an inline
  SVG string (no JavaScript, no image request). Show it on a ``no-store`` page only.
* **Confirmation** (:meth:`TotpFactor.confirm_enrolment`): the first valid code activates
  the credential and removes every other TOTP credential of the subject (re-enrolment
  replaces the old seed).
* **Verification** (:meth:`TotpFactor.verify`): 6 digits, 30-second steps, ``window`` steps
  either side (1 by default; ±2 is refused).
* **Replay guard**: a code's step ``s`` is accepted only if no step ``≥ s`` was accepted for
  the credential (RFC 6238 §5.2). In the ephemeral store (namespace ``totp_step``, key
  ``<credential_id>:<step>``) each accepted step *blocks* itself and the ``2 × window``
  steps below it; a step is accepted only by the request whose ``incr`` of its own key
  returns 1. ``incr`` is atomic on every backend, so of any number of concurrent
  requests with the same code exactly one wins; a code of step ``s − 1`` after ``s`` was
  accepted finds its key already counted. (Two different valid steps racing may both be
  accepted — in the order of their steps, which is allowed.) Markers live
  ``(2 × window + 2) × period`` seconds: past that the steps are outside the window anyway.

The caller owns the unit of work: pass its ``uow.credentials`` and commit after a success
(``last_used_at``, activation). Failures raise :class:`FactorFailed` with reason
``totp_invalid`` or ``totp_replayed`` (log the latter and notify the person, T78).
Guessing limits are the lockout's business (``providers/factors/base.py``).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from dataclasses import replace

import pyotp
import qrcode
import qrcode.image.svg

from gateway.config.factors import TotpSettings
from gateway.core.errors import FactorFailed
from gateway.core.factors import Credential
from gateway.core.factors import CredentialRepository
from gateway.core.factors import FactorKind
from gateway.core.factors import credential_context
from gateway.core.ids import constant_time_equals
from gateway.core.ids import new_id
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import Sealer

SECRET_BYTES = 20
"""160 bits (RFC 4226 §4 recommends 160)."""
NAMESPACE_STEP = "totp_step"
DEFAULT_LABEL = "Приложение-аутентификатор"


@dataclass(frozen=True)
class TotpEnrolment:
    """What the enrolment page shows once: the QR code, and the seed for typing in."""

    credential: Credential
    secret: str
    """Base32 seed, for apps that cannot scan (show grouped in fours)."""
    provisioning_uri: str
    qr_svg: str
    """``<svg …>`` markup to put inline in the page."""


class TotpFactor:
    def __init__(
        self, settings: TotpSettings, store: EphemeralStore, sealer: Sealer, clock: Clock
    ) -> None:
        self._settings = settings
        self._store = store
        self._sealer = sealer
        self._clock = clock

    # ------------------------------------------------------------------ enrolment

    def begin_enrolment(
        self, credentials: CredentialRepository, subject_id: str, label: str = DEFAULT_LABEL
    ) -> TotpEnrolment:
        """Create an inactive TOTP credential with a fresh seed; abandoned (inactive)
        enrolments of the subject are removed. ``label`` must not identify the person."""
        for old in credentials.list_for(subject_id, FactorKind.TOTP):
            if not old.active:
                credentials.remove(old.credential_id)
        secret = base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")
        credential_id = new_id()
        credential = Credential(
            credential_id=credential_id,
            subject_id=subject_id,
            kind=FactorKind.TOTP,
            label=label,
            created_at=self._clock.now(),
            sealed=self._sealer.seal(secret.encode("ascii"), credential_context(credential_id)),
            active=False,
        )
        credentials.add(credential)
        account = f"{self._settings.issuer}-{secrets.token_hex(2).upper()}"
        uri = self._totp(secret).provisioning_uri(name=account, issuer_name=self._settings.issuer)
        return TotpEnrolment(credential, secret, uri, qr_svg(uri))

    def confirm_enrolment(
        self, credentials: CredentialRepository, subject_id: str, credential_id: str, code: str
    ) -> Credential:
        """Activate the pending credential with its first valid code; other TOTP
        credentials of the subject are removed. Raises :class:`FactorFailed`."""
        return self.activate(
            credentials, self.check_enrolment(credentials, subject_id, credential_id, code)
        )

    def check_enrolment(
        self, credentials: CredentialRepository, subject_id: str, credential_id: str, code: str
    ) -> Credential:
        """The pending credential ``code`` is a first valid code of (its step claimed),
        without writing to ``credentials``: run it in a read-only unit of work, then
        :meth:`activate` in a writing one (on SQLite the ephemeral store's writes wait
        for an open writing transaction). Raises :class:`FactorFailed`."""
        pending = credentials.get(credential_id)
        if (
            pending is None
            or pending.subject_id != subject_id
            or pending.kind is not FactorKind.TOTP
            or pending.active
        ):
            raise FactorFailed("totp_enrolment_unknown")
        self._check(pending, code)
        return pending

    def activate(self, credentials: CredentialRepository, pending: Credential) -> Credential:
        """Activate a checked enrolment (:meth:`check_enrolment`) and remove the
        subject's other TOTP credentials."""
        active = replace(pending, active=True, last_used_at=self._clock.now())
        credentials.update(active)
        for other in credentials.list_for(pending.subject_id, FactorKind.TOTP):
            if other.credential_id != pending.credential_id:
                credentials.remove(other.credential_id)
        return active

    # ------------------------------------------------------------------ login

    def verify(self, credentials: CredentialRepository, subject_id: str, code: str) -> Credential:
        """The active credential the code belongs to (its use recorded); raises
        :class:`FactorFailed` (``totp_invalid``, ``totp_replayed``)."""
        credential = self.match(credentials, subject_id, code)
        credentials.use(credential.credential_id, self._clock.now())
        return credential

    def match(self, credentials: CredentialRepository, subject_id: str, code: str) -> Credential:
        """:meth:`verify` without recording the use (for a read-only unit of work; the
        caller records it in a writing one). Raises :class:`FactorFailed`."""
        for credential in credentials.list_for(subject_id, FactorKind.TOTP):
            if not credential.active:
                continue
            try:
                self._check(credential, code)
            except FactorFailed as failed:
                if failed.reason == "totp_replayed":
                    raise
                continue
            return credential
        raise FactorFailed("totp_invalid")

    def has_active(self, credentials: CredentialRepository, subject_id: str) -> bool:
        return any(c.active for c in credentials.list_for(subject_id, FactorKind.TOTP))

    # ------------------------------------------------------------------ internals

    def _check(self, credential: Credential, code: str) -> None:
        step = self.matching_step(credential, code)
        if step is None:
            raise FactorFailed("totp_invalid")
        if not self._claim_step(credential.credential_id, step):
            raise FactorFailed("totp_replayed")

    def matching_step(self, credential: Credential, code: str) -> int | None:
        """The time step within the window whose code is ``code``, or ``None``."""
        code = code.strip().replace(" ", "")
        if len(code) != self._settings.digits or not (code.isascii() and code.isdigit()):
            return None
        secret = self._sealer.open(credential.sealed, credential_context(credential.credential_id))
        totp = self._totp(secret.decode("ascii"))
        now_step = int(self._clock.now()) // self._settings.period_seconds
        found: int | None = None
        window = self._settings.window
        for step in range(now_step - window, now_step + window + 1):
            # No early exit: every step of the window is compared in constant time.
            if constant_time_equals(totp.generate_otp(step), code) and found is None:
                found = step
        return found

    def _claim_step(self, credential_id: str, step: int) -> bool:
        """Accept ``step`` only if no step ``≥ step`` was accepted (see the module doc)."""
        span = 2 * self._settings.window
        ttl = (span + 2) * self._settings.period_seconds
        if self._store.incr(NAMESPACE_STEP, f"{credential_id}:{step}", ttl) != 1:
            return False
        for earlier in range(step - span, step):
            self._store.incr(NAMESPACE_STEP, f"{credential_id}:{earlier}", ttl)
        return True

    def _totp(self, secret: str) -> pyotp.TOTP:
        return pyotp.TOTP(
            secret, digits=self._settings.digits, interval=self._settings.period_seconds
        )


def qr_svg(data: str) -> str:
    """A QR code of ``data`` as SVG markup (one ``<path>``; no script, no style)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    svg = image.to_string(encoding="unicode")
    return svg if isinstance(svg, str) else svg.decode("utf-8")
