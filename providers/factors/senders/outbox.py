"""Dev senders: nothing leaves the machine, the message lands in a :class:`MessageSink` —
the :class:`DevOutbox`, messages in the ephemeral store (namespace ``dev_outbox``, with a
TTL, so every worker of a gateway sees the same outbox) that ``gateway.dev.outbox`` shows
at ``/dev/outbox`` in dev mode. The destination is masked before it reaches the
sink (a phone's last two digits, an e-mail's first letter and domain). Production mode
refuses these senders (``[sms] sender`` / ``[email] sender`` = ``"outbox"``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from dataclasses import dataclass

from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from providers.factors.senders.base import MessageSink
from providers.factors.sms_limits import mask_phone

__all__ = [
    "KINDS",
    "DevOutbox",
    "OutboxEmailSender",
    "OutboxMessage",
    "OutboxPushRelay",
    "OutboxSmsSender",
    "mask_email",
]

NAMESPACE = "dev_outbox"
SEQUENCE_KEY = "seq"
KINDS = ("sms", "email", "push")
DEFAULT_TTL_SECONDS = 24 * 3600
DEFAULT_LIMIT = 100
MAX_TEXT = 2000
MAX_TO = 200


@dataclass(frozen=True)
class OutboxMessage:
    """One message as the outbox shows it.

    :param seq: position in the outbox (1, 2, …; newest is highest).
    :param kind: ``sms``, ``email`` or ``push``.
    :param to: the recipient label or digest the sender chose.
    :param text: the message text as it would be delivered.
    :param at: when it was recorded (Unix time, from the gateway's clock).
    """

    seq: int
    kind: str
    to: str
    text: str
    at: float


class DevOutbox:
    """Messages in the ephemeral store, newest first.

    :param ttl_seconds: how long each message (and the counter) is kept.
    :param limit: how many of the newest messages :meth:`messages` reads.
    """

    def __init__(
        self,
        store: EphemeralStore,
        clock: Clock,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        limit: int = DEFAULT_LIMIT,
    ) -> None:
        if ttl_seconds <= 0 or limit <= 0:
            raise ValueError("ttl_seconds and limit must be positive")
        self._store = store
        self._clock = clock
        self._ttl = ttl_seconds
        self._limit = limit

    def record(self, kind: str, to: str, text: str) -> OutboxMessage:
        """Keep a message a dev sender "sent".

        :param kind: one of :data:`KINDS`.
        :param to: a label or digest of the recipient (at most 200 characters).
        :param text: the text (at most 2000 characters).
        :raises ValueError: an unknown kind or an oversized field.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        if len(to) > MAX_TO or len(text) > MAX_TEXT:
            raise ValueError("to or text is too long")
        seq = self._store.incr(NAMESPACE, SEQUENCE_KEY, self._ttl)
        message = OutboxMessage(seq=seq, kind=kind, to=to, text=text, at=self._clock.now())
        raw = json.dumps(asdict(message), ensure_ascii=False).encode("utf-8")
        self._store.put(NAMESPACE, f"m{seq}", raw, self._ttl)
        return message

    def messages(self, kind: str | None = None) -> list[OutboxMessage]:
        """The newest messages first (at most ``limit``), optionally of one ``kind``."""
        # ``incr`` by 0 reads the counter the same way on every backend.
        top = self._store.incr(NAMESPACE, SEQUENCE_KEY, self._ttl, amount=0)
        found: list[OutboxMessage] = []
        for seq in range(top, max(0, top - self._limit), -1):
            raw = self._store.get(NAMESPACE, f"m{seq}")
            if raw is None:
                continue
            message = OutboxMessage(**json.loads(raw))
            if kind is None or message.kind == kind:
                found.append(message)
        return found

    def clear(self) -> int:
        """Delete the messages :meth:`messages` would show; returns how many."""
        shown = self.messages()
        for message in shown:
            self._store.delete(NAMESPACE, f"m{message.seq}")
        return len(shown)


def mask_email(address: str) -> str:
    """``ivan@example.ru`` → ``i…@example.ru``."""
    local, _, domain = address.rpartition("@")
    if not local:
        return "…"
    return f"{local[0]}…@{domain}"


class OutboxSmsSender:
    """:class:`SmsSender` writing ``("sms", masked number, text)`` to the sink."""

    def __init__(self, sink: MessageSink) -> None:
        self._sink = sink

    def send(self, to: str, text: str) -> None:
        self._sink.record("sms", mask_phone(to), text)


class OutboxEmailSender:
    """:class:`EmailSender` writing ``("email", masked address, text)`` to the sink."""

    def __init__(self, sink: MessageSink) -> None:
        self._sink = sink

    def send(self, to: str, text: str) -> None:
        self._sink.record("email", mask_email(to), text)


class OutboxPushRelay:
    """The dev push relay: a login's push challenge appears in the outbox as a message
    "to the device" (the challenge id only, as a real relay gets it; never the number)."""

    def __init__(self, sink: MessageSink) -> None:
        self._sink = sink

    def notify(self, challenge_id: str) -> None:
        self._sink.record(
            "push",
            "устройство",
            f"vhod: запрос на вход ждёт подтверждения в приложении (запрос {challenge_id[:8]}…).",
        )
