"""The sender ports: one message to one destination, no retries.

A send that fails raises :class:`SendFailed`, which says whether the message *surely did
not* go out (connection refused, a 4xx/5xx answer before acceptance: the caller may try
another way or give the limits back) or *may have* gone out (a timeout after the request
was written, an unreadable answer): such a send is never repeated — the person may
already hold the code, and a second paid SMS is exactly what pumping wants.
"""

from __future__ import annotations

from typing import Protocol

from gateway.core.errors import GatewayError

__all__ = ["EmailSender", "MessageSink", "SendFailed", "SmsSender"]


class SendFailed(GatewayError):
    """A message could not be handed over.

    :param reason: a stable code for the log (``connect_failed``, ``timeout``,
        ``status_503``, ``rejected``...).
    :param maybe_sent: ``True`` when it may have been delivered after all: never retry.
    """

    def __init__(self, reason: str, *, maybe_sent: bool) -> None:
        super().__init__(f"send failed: {reason} ({'maybe sent' if maybe_sent else 'not sent'})")
        self.reason = reason
        self.maybe_sent = maybe_sent


class SmsSender(Protocol):
    def send(self, to: str, text: str) -> None:
        """Send ``text`` to the E.164 number ``to``; :raises SendFailed:."""
        ...


class EmailSender(Protocol):
    def send(self, to: str, text: str) -> None:
        """Send ``text`` to the address ``to``; :raises SendFailed:."""
        ...


class MessageSink(Protocol):
    """Where the dev senders write (the gateway's ``DevOutbox`` implements it)."""

    def record(self, kind: str, to: str, text: str) -> object:
        """Keep one message; ``to`` is already masked. Example: ``("sms", "…67", "Код…")``."""
        ...
