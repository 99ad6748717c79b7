"""Dev senders: nothing leaves the machine, the message lands in a :class:`MessageSink`.

The integrator passes the gateway's ``DevOutbox`` (``gateway.dev.outbox``) as the sink;
providers never import ``gateway.dev``. The destination is masked before it reaches the
sink (a phone's last two digits, an e-mail's first letter and domain). Production mode
refuses these senders (``[sms] sender`` / ``[email] sender`` = ``"outbox"``).
"""

from __future__ import annotations

from providers.factors.senders.base import MessageSink
from providers.factors.sms_limits import mask_phone

__all__ = ["OutboxEmailSender", "OutboxSmsSender", "mask_email"]


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
