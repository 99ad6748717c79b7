"""Self-hosted push approval with number matching (SECURITY.md T80-T82).

**Enrolment.** :meth:`PushFactor.new_enrolment_token` gives the signed-in person a one-time
token (ephemeral, ``[push] enrol_token_ttl_seconds``, single use); the device (see
``providers/factors/device.py``) posts it with a P-256 public key (JWK or SPKI PEM) and a
non-identifying label; :meth:`PushFactor.enrol_device` checks the key (P-256 only, size
limits) and stores only the public key (a ``push`` credential, payload sealed).

**Login.** :meth:`PushFactor.start` opens a challenge: an id, a two-digit number (10-99)
that the login page shows, an expiry (``challenge_ttl_seconds``, 2 minutes). The device
lists pending challenges with a signed request (device id, timestamp within 60 s, a
single-use nonce) and learns their ids and expiries — never the number, which the person
types on the device from the login page. The device answers with an ECDSA P-256/SHA-256
signature over :func:`answer_message` (challenge id, number, expiry, decision).
:meth:`PushFactor.answer` refuses a signature by another key (or a device of another
account), an unknown or expired challenge, and a replayed answer (the answer consumes the
challenge's single-use ``push_open`` key); an approval with a wrong or missing number
kills the challenge (T80). The login page polls :meth:`status` and ends with
:meth:`finish`, which takes the approval exactly once.

**Anti-bombing (T81).** At most ``max_pending`` outstanding challenges per account (slots
claimed with ``incr``), ``max_per_window`` per ``window_seconds`` (a fixed window from the
first push), and none for ``deny_cooldown_seconds`` after "Deny / not me". Refusals raise
:class:`RateLimited` with ``retry_after``; nothing is sent to the device or the relay.

**Relay.** With ``relay_url`` set, each new challenge is announced by a JSON POST of
``{"challenge_id": …}`` only (timeouts, no retries); a failure is logged, never raised.

**HTTP paths** the device uses (JSON POST bodies; the integrator maps them to views that
call :meth:`PushFactor.device_request`): :data:`ENROL_PATH`, :data:`PENDING_PATH`,
:data:`ANSWER_PATH`.

Ephemeral namespaces: ``push_enrol`` (token digest → subject), ``push_chal`` (challenge
record), ``push_open`` (single-use answer key), ``push_state`` (answer), ``push_result``
(single-use approval for the login), ``push_slot`` / ``push_slotid`` (outstanding
challenges per account), ``push_rate`` / ``push_rate_at`` (window counter and its start),
``push_cooldown`` (after a deny), ``push_nonce`` (device request nonces).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from typing import Protocol

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.config.factors import PushSettings
from gateway.core.errors import FactorFailed
from gateway.core.errors import RateLimited
from gateway.core.errors import ReplayDetected
from gateway.core.factors import PUSH_ANSWER_PATH
from gateway.core.factors import PUSH_ENROL_PATH
from gateway.core.factors import PUSH_PENDING_PATH
from gateway.core.factors import Credential
from gateway.core.factors import CredentialRepository
from gateway.core.factors import FactorKind
from gateway.core.factors import credential_context
from gateway.core.ids import keyed_digest
from gateway.core.ids import new_code
from gateway.core.ids import new_id
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import Sealer

logger = logging.getLogger(__name__)

ENROL_PATH = PUSH_ENROL_PATH
"""``{"token", "public_key" (JWK object or PEM), "label"}`` → ``{"device_id"}``."""
PENDING_PATH = PUSH_PENDING_PATH
"""``{"device_id", "timestamp", "nonce", "signature"}`` → ``{"challenges": [{"challenge_id",
"expires_at"}]}``; the signature is over :func:`poll_message`."""
ANSWER_PATH = PUSH_ANSWER_PATH
"""``{"device_id", "challenge_id", "decision", "number", "signature"}`` → ``{"state"}``; the
signature is over :func:`answer_message` (with the challenge's ``expires_at``)."""

APPROVE = "approve"
DENY = "deny"
PENDING = "pending"
APPROVED = "approved"
DENIED = "denied"
EXPIRED = "expired"

MAX_PEM_LENGTH = 1024
MAX_SIGNATURE_LENGTH = 200
MAX_LABEL_LENGTH = 64
POLL_SKEW_SECONDS = 60
NONCE_LENGTHS = range(16, 129)
_GRACE_SECONDS = 120
"""How long after expiry the challenge's record and answer remain readable."""


def answer_message(challenge_id: str, number: int | None, expires_at: int, decision: str) -> bytes:
    """The canonical bytes a device signs to answer a challenge."""
    shown = "" if number is None else str(number)
    return f"vhod-push-answer-v1\n{challenge_id}\n{shown}\n{expires_at}\n{decision}".encode()


def poll_message(device_id: str, timestamp: int, nonce: str) -> bytes:
    """The canonical bytes a device signs to list its pending challenges."""
    return f"vhod-push-poll-v1\n{device_id}\n{timestamp}\n{nonce}".encode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_public_key(value: str | dict[str, Any]) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from a JWK object or an SPKI PEM; raises ``FactorFailed``."""
    try:
        if isinstance(value, dict):
            if value.get("kty") != "EC" or value.get("crv") != "P-256" or "d" in value:
                raise FactorFailed("push_key_invalid")
            x, y = b64url_decode(str(value["x"])), b64url_decode(str(value["y"]))
            if len(x) != 32 or len(y) != 32:
                raise FactorFailed("push_key_invalid")
            numbers = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
            )
            return numbers.public_key()
        if not isinstance(value, str) or len(value) > MAX_PEM_LENGTH:
            raise FactorFailed("push_key_invalid")
        key = serialization.load_pem_public_key(value.encode("ascii"))
    except FactorFailed:
        raise
    except (KeyError, ValueError, TypeError, binascii.Error, UnicodeError) as error:
        raise FactorFailed("push_key_invalid") from error
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise FactorFailed("push_key_invalid")
    return key


def verify_signature(key: ec.EllipticCurvePublicKey, signature: str, message: bytes) -> bool:
    """ECDSA P-256 / SHA-256, DER signature in base64url."""
    if not isinstance(signature, str) or len(signature) > MAX_SIGNATURE_LENGTH:
        return False
    try:
        key.verify(b64url_decode(signature), message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


@dataclass(frozen=True)
class PushChallenge:
    """What the login page needs: poll with ``challenge_id``, show ``number``."""

    challenge_id: str
    number: int
    expires_at: int


@dataclass(frozen=True)
class PushStatus:
    state: str
    """``pending`` | ``approved`` | ``denied`` | ``expired``."""
    reason: str = ""
    """For ``denied``: ``user_denied`` or ``wrong_number``."""


class PushRelay(Protocol):
    def notify(self, challenge_id: str) -> None: ...


class HttpPushRelay:
    """POSTs ``{"challenge_id": …}`` to the relay; one try, short timeouts, errors logged."""

    def __init__(self, url: str, timeout_seconds: float = 3.0) -> None:
        self._url = url
        self._timeout = timeout_seconds

    def notify(self, challenge_id: str) -> None:
        try:
            response = requests.post(
                self._url, json={"challenge_id": challenge_id}, timeout=self._timeout
            )
            response.raise_for_status()
        except requests.RequestException as error:
            log_event(logger, "push.relay_failed", logging.WARNING, error=type(error).__name__)


class PushFactor:
    def __init__(
        self,
        settings: PushSettings,
        store: EphemeralStore,
        sealer: Sealer,
        clock: Clock,
        pepper: bytes,
        relay: PushRelay | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._sealer = sealer
        self._clock = clock
        self._pepper = pepper
        self._relay = relay
        if relay is None and settings.relay_url:
            self._relay = HttpPushRelay(settings.relay_url)

    # ------------------------------------------------------------------ enrolment

    def new_enrolment_token(self, subject_id: str) -> str:
        """A one-time token that lets one device enrol for ``subject_id``. It starts with
        ``e``: a base64url token may start with ``-``, which a command line (``vhod device
        enrol URL TOKEN``) would read as an option."""
        token = "e" + new_code()
        self._store.put(
            "push_enrol",
            self._token_key(token),
            subject_id.encode(),
            self._settings.enrol_token_ttl_seconds,
        )
        return token

    def enrol_device(
        self,
        credentials: CredentialRepository,
        token: str,
        public_key: str | dict[str, Any],
        label: str,
    ) -> Credential:
        """Store the device's public key for the token's subject; the token is spent even
        when the key is refused. Raises ``FactorFailed`` (``push_enrol_token``,
        ``push_key_invalid``, ``push_label_invalid``)."""
        if not isinstance(token, str) or not token or len(token) > 128:
            raise FactorFailed("push_enrol_token")
        try:
            subject = self._store.consume(
                "push_enrol", self._token_key(token), self._settings.enrol_token_ttl_seconds
            )
        except ReplayDetected as replay:
            raise FactorFailed("push_enrol_token") from replay
        if subject is None:
            raise FactorFailed("push_enrol_token")
        key = load_public_key(public_key)
        label = label.strip() if isinstance(label, str) else ""
        if not label or len(label) > MAX_LABEL_LENGTH or not label.isprintable():
            raise FactorFailed("push_label_invalid")
        pem = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        credential_id = new_id()
        credential = Credential(
            credential_id=credential_id,
            subject_id=subject.decode(),
            kind=FactorKind.PUSH,
            label=label,
            created_at=self._clock.now(),
            sealed=self._sealer.seal(pem, credential_context(credential_id)),
            active=True,
        )
        credentials.add(credential)
        return credential

    # ------------------------------------------------------------------ login side

    def start(self, credentials: CredentialRepository, subject_id: str) -> PushChallenge:
        """Open a challenge for the subject's devices. Raises ``FactorFailed("push_no_device")``
        or :class:`RateLimited` (``push_cooldown``, ``push_pending``, ``push_rate``)."""
        if not any(c.active for c in credentials.list_for(subject_id, FactorKind.PUSH)):
            raise FactorFailed("push_no_device")
        now = self._clock.now()
        cooldown = self._store.get("push_cooldown", subject_id)
        if cooldown is not None:
            raise RateLimited("push_cooldown", max(1, int(float(cooldown) - now) + 1))
        ttl = self._settings.challenge_ttl_seconds
        slot = self._claim_slot(subject_id, ttl)
        if slot is None:
            raise RateLimited("push_pending", self._pending_retry_after(subject_id, now))
        window = self._settings.window_seconds
        count = self._store.incr("push_rate", subject_id, window)
        if count == 1:
            self._store.put("push_rate_at", subject_id, repr(now).encode(), window)
        if count > self._settings.max_per_window:
            self._release_slot(subject_id, slot)
            started = self._store.get("push_rate_at", subject_id)
            left = window if started is None else float(started) + window - now
            raise RateLimited("push_rate", max(1, int(left) + 1))
        challenge = PushChallenge(new_id(), 10 + secrets.randbelow(90), int(now) + ttl)
        record = {
            "subject_id": subject_id,
            "number": challenge.number,
            "expires_at": challenge.expires_at,
            "slot": slot,
        }
        keep = ttl + _GRACE_SECONDS
        self._store.put("push_chal", challenge.challenge_id, json.dumps(record).encode(), keep)
        self._store.put("push_open", challenge.challenge_id, b"1", ttl)
        self._store.put("push_slotid", f"{subject_id}:{slot}", challenge.challenge_id.encode(), ttl)
        if self._relay is not None:
            self._relay.notify(challenge.challenge_id)
        return challenge

    def status(self, challenge_id: str, subject_id: str) -> PushStatus:
        """Where the challenge stands, for the login page's polling."""
        record = self._record(challenge_id)
        if record is None or record["subject_id"] != subject_id:
            return PushStatus(EXPIRED)
        answered = self._store.get("push_state", challenge_id)
        if answered is not None:
            state = json.loads(answered)
            return PushStatus(state["state"], state.get("reason", ""))
        if self._clock.now() >= record["expires_at"]:
            return PushStatus(EXPIRED)
        return PushStatus(PENDING)

    def finish(self, challenge_id: str, subject_id: str) -> str:
        """Take the approval once; return the approving device's credential id.
        Raises ``FactorFailed`` (``push_not_approved``, ``push_replayed``)."""
        try:
            value = self._store.consume("push_result", challenge_id, _GRACE_SECONDS)
        except ReplayDetected as replay:
            raise FactorFailed("push_replayed") from replay
        if value is None:
            raise FactorFailed("push_not_approved")
        result = json.loads(value)
        if result["subject_id"] != subject_id:
            raise FactorFailed("push_not_approved")
        return str(result["device_id"])

    # ------------------------------------------------------------------ device side

    def pending_for_device(
        self,
        credentials: CredentialRepository,
        device_id: str,
        timestamp: int,
        nonce: str,
        signature: str,
    ) -> list[dict[str, Any]]:
        """Challenges waiting for the device's account (ids and expiries, no numbers).
        Raises ``FactorFailed("push_device_auth")``."""
        device = self._device(credentials, device_id)
        now = self._clock.now()
        if (
            isinstance(timestamp, bool)
            or not isinstance(timestamp, int)
            or abs(now - timestamp) > POLL_SKEW_SECONDS
            or not isinstance(nonce, str)
            or len(nonce) not in NONCE_LENGTHS
            or not verify_signature(
                self._public_key(device), signature, poll_message(device_id, timestamp, nonce)
            )
        ):
            raise FactorFailed("push_device_auth")
        if self._store.incr("push_nonce", f"{device_id}:{nonce}", 3 * POLL_SKEW_SECONDS) != 1:
            raise FactorFailed("push_device_auth")
        found: list[dict[str, Any]] = []
        for slot in range(self._settings.max_pending):
            challenge_id = self._store.get("push_slotid", f"{device.subject_id}:{slot}")
            if challenge_id is None:
                continue
            cid = challenge_id.decode()
            record = self._record(cid)
            if (
                record is not None
                and record["expires_at"] > now
                and self._store.get("push_open", cid) is not None
            ):
                found.append({"challenge_id": cid, "expires_at": record["expires_at"]})
        return found

    def answer(
        self,
        credentials: CredentialRepository,
        device_id: str,
        challenge_id: str,
        decision: str,
        number: int | None,
        signature: str,
    ) -> PushStatus:
        """Apply a device's signed answer. Returns the new status (``approved`` or
        ``denied``); raises ``FactorFailed`` (``push_unknown``, ``push_signature``,
        ``push_expired``, ``push_replayed``, ``push_wrong_number`` — the challenge is dead
        then)."""
        device = self._device(credentials, device_id)
        record = self._record(challenge_id) if isinstance(challenge_id, str) else None
        if record is None or record["subject_id"] != device.subject_id:
            raise FactorFailed("push_unknown")
        if decision not in (APPROVE, DENY) or (
            number is not None and (isinstance(number, bool) or not isinstance(number, int))
        ):
            raise FactorFailed("push_signature")
        message = answer_message(challenge_id, number, record["expires_at"], decision)
        if not verify_signature(self._public_key(device), signature, message):
            raise FactorFailed("push_signature")
        if self._clock.now() >= record["expires_at"]:
            raise FactorFailed("push_expired")
        try:
            opened = self._store.consume("push_open", challenge_id, _GRACE_SECONDS)
        except ReplayDetected as replay:
            raise FactorFailed("push_replayed") from replay
        if opened is None:
            raise FactorFailed("push_expired")
        self._release_slot(device.subject_id, int(record["slot"]))
        if decision == DENY:
            status = PushStatus(DENIED, "user_denied")
            self._write_state(challenge_id, status)
            if self._settings.deny_cooldown_seconds:
                until = self._clock.now() + self._settings.deny_cooldown_seconds
                self._store.put(
                    "push_cooldown",
                    device.subject_id,
                    repr(until).encode(),
                    self._settings.deny_cooldown_seconds,
                )
            log_event(logger, "push.denied", challenge_id=challenge_id)
            return status
        if number is None or number != record["number"]:
            self._write_state(challenge_id, PushStatus(DENIED, "wrong_number"))
            log_event(logger, "push.wrong_number", challenge_id=challenge_id)
            raise FactorFailed("push_wrong_number")
        status = PushStatus(APPROVED)
        self._write_state(challenge_id, status)
        result = {"subject_id": device.subject_id, "device_id": device_id}
        self._store.put(
            "push_result",
            challenge_id,
            json.dumps(result).encode(),
            max(1, record["expires_at"] - int(self._clock.now())) + _GRACE_SECONDS,
        )
        credentials.use(device_id, self._clock.now())
        return status

    def device_request(
        self, credentials: CredentialRepository, path: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """Dispatch a device's JSON request by path (for the HTTP views and tests).
        Raises ``FactorFailed`` for anything refused and ``KeyError`` for a missing field."""
        if path == ENROL_PATH:
            device = self.enrol_device(
                credentials, body["token"], body["public_key"], body.get("label", "")
            )
            return {"device_id": device.credential_id}
        if path == PENDING_PATH:
            challenges = self.pending_for_device(
                credentials, body["device_id"], body["timestamp"], body["nonce"], body["signature"]
            )
            return {"challenges": challenges}
        if path == ANSWER_PATH:
            status = self.answer(
                credentials,
                body["device_id"],
                body["challenge_id"],
                body["decision"],
                body.get("number"),
                body["signature"],
            )
            return {"state": status.state}
        raise KeyError(path)

    # ------------------------------------------------------------------ internals

    def _token_key(self, token: str) -> str:
        return keyed_digest(self._pepper, "push_enrol_token", token)

    def _record(self, challenge_id: str) -> dict[str, Any] | None:
        raw = self._store.get("push_chal", challenge_id)
        return None if raw is None else dict(json.loads(raw))

    def _write_state(self, challenge_id: str, status: PushStatus) -> None:
        value = json.dumps({"state": status.state, "reason": status.reason}).encode()
        self._store.put(
            "push_state", challenge_id, value, self._settings.challenge_ttl_seconds + _GRACE_SECONDS
        )

    def _claim_slot(self, subject_id: str, ttl: int) -> int | None:
        for slot in range(self._settings.max_pending):
            if self._store.incr("push_slot", f"{subject_id}:{slot}", ttl) == 1:
                return slot
        return None

    def _release_slot(self, subject_id: str, slot: int) -> None:
        self._store.delete("push_slot", f"{subject_id}:{slot}")
        self._store.delete("push_slotid", f"{subject_id}:{slot}")

    def _pending_retry_after(self, subject_id: str, now: float) -> int:
        soonest = self._settings.challenge_ttl_seconds
        for slot in range(self._settings.max_pending):
            cid = self._store.get("push_slotid", f"{subject_id}:{slot}")
            record = None if cid is None else self._record(cid.decode())
            if record is not None:
                soonest = min(soonest, int(record["expires_at"] - now))
        return max(1, soonest)

    def _device(self, credentials: CredentialRepository, device_id: str) -> Credential:
        device = credentials.get(device_id) if isinstance(device_id, str) else None
        if device is None or device.kind is not FactorKind.PUSH or not device.active:
            raise FactorFailed("push_device_auth")
        return device

    def _public_key(self, device: Credential) -> ec.EllipticCurvePublicKey:
        pem = self._sealer.open(device.sealed, credential_context(device.credential_id))
        return load_public_key(pem.decode("ascii"))
