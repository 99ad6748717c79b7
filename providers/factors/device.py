"""The reference push device: what a phone app does, as a framework-free class.

``Device`` holds a P-256 key pair, enrols with a one-time token, lists its pending
challenges with signed requests, and approves (with the number the person read on the
login page) or denies. It speaks to vhod through a :class:`DeviceTransport`:
:class:`HttpDeviceTransport` POSTs JSON to ``<base_url><path>`` (paths in
``providers.factors.push``: ``ENROL_PATH``, ``PENDING_PATH``, ``ANSWER_PATH``); tests pass a
transport that calls ``PushFactor.device_request`` in process. The ``vhod device`` command
wraps this class.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any
from typing import Protocol

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from providers.factors.push import ANSWER_PATH
from providers.factors.push import APPROVE
from providers.factors.push import DENY
from providers.factors.push import ENROL_PATH
from providers.factors.push import PENDING_PATH
from providers.factors.push import answer_message
from providers.factors.push import b64url
from providers.factors.push import poll_message


class DeviceTransport(Protocol):
    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send ``body`` as JSON to ``path``; return the JSON answer; raise on refusal."""
        ...


class DeviceRequestFailed(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:200]}")
        self.status = status


class HttpDeviceTransport:
    def __init__(self, base_url: str, timeout_seconds: float = 10.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout_seconds

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(self._base_url + path, json=body, timeout=self._timeout)
        if response.status_code >= 400:
            raise DeviceRequestFailed(response.status_code, response.text)
        answer = response.json()
        if not isinstance(answer, dict):
            raise DeviceRequestFailed(response.status_code, "not a JSON object")
        return answer


class Device:
    def __init__(
        self,
        transport: DeviceTransport,
        key: ec.EllipticCurvePrivateKey | None = None,
        device_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._transport = transport
        self.key = key or ec.generate_private_key(ec.SECP256R1())
        self.device_id = device_id
        self._clock = clock
        self._expiries: dict[str, int] = {}

    # ------------------------------------------------------------------ keys

    def public_jwk(self) -> dict[str, str]:
        numbers = self.key.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }

    def private_pem(self) -> bytes:
        """For saving the device between runs (keep it mode 0600)."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def from_pem(cls, transport: DeviceTransport, pem: bytes, device_id: str | None) -> Device:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("not an EC private key")
        return cls(transport, key, device_id)

    def sign(self, message: bytes) -> str:
        return b64url(self.key.sign(message, ec.ECDSA(hashes.SHA256())))

    # ------------------------------------------------------------------ protocol

    def enrol(self, token: str, label: str = "Телефон") -> str:
        answer = self._transport.post(
            ENROL_PATH, {"token": token, "public_key": self.public_jwk(), "label": label}
        )
        self.device_id = str(answer["device_id"])
        return self.device_id

    def pending(self) -> list[dict[str, Any]]:
        device_id = self._enrolled()
        timestamp = int(self._clock())
        nonce = secrets.token_urlsafe(18)
        answer = self._transport.post(
            PENDING_PATH,
            {
                "device_id": device_id,
                "timestamp": timestamp,
                "nonce": nonce,
                "signature": self.sign(poll_message(device_id, timestamp, nonce)),
            },
        )
        challenges = [dict(c) for c in answer["challenges"]]
        for c in challenges:
            self._expiries[str(c["challenge_id"])] = int(c["expires_at"])
        return challenges

    def approve(self, number: int | None, challenge_id: str | None = None) -> str:
        """Approve ``challenge_id`` (default: the only pending one) with the number shown
        on the login page; returns the new state."""
        return self._answer(APPROVE, number, challenge_id)

    def deny(self, challenge_id: str | None = None) -> str:
        return self._answer(DENY, None, challenge_id)

    def answer_body(
        self, challenge_id: str, expires_at: int, decision: str, number: int | None
    ) -> dict[str, Any]:
        """The signed answer (tests replay or tamper with it)."""
        device_id = self._enrolled()
        return {
            "device_id": device_id,
            "challenge_id": challenge_id,
            "decision": decision,
            "number": number,
            "signature": self.sign(answer_message(challenge_id, number, expires_at, decision)),
        }

    def _answer(self, decision: str, number: int | None, challenge_id: str | None) -> str:
        if challenge_id is None:
            pending = self.pending()
            if len(pending) != 1:
                raise LookupError(f"{len(pending)} pending challenges; name one")
            challenge_id = str(pending[0]["challenge_id"])
        elif challenge_id not in self._expiries:
            self.pending()
        expires_at = self._expiries[challenge_id]
        body = self.answer_body(challenge_id, expires_at, decision, number)
        return str(self._transport.post(ANSWER_PATH, body)["state"])

    def _enrolled(self) -> str:
        if self.device_id is None:
            raise LookupError("the device is not enrolled")
        return self.device_id
