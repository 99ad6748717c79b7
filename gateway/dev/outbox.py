"""The dev outbox: where SMS, e-mail and push messages appear while vhod runs in dev mode.

No message leaves the machine in dev: the dev senders (SMS and e-mail:
``providers.factors.senders.outbox``, which take this outbox as their sink; push) call
:meth:`DevOutbox.record`, and a person trying the stack reads the messages at
``/dev/outbox`` on the gateway — a Russian page, or JSON with ``Accept: application/json``
(for tests and scripts); both list the oldest first and the newest last, each message with
its time, channel, masked destination and text::

    outbox = DevOutbox(services.ephemeral, services.clock)
    outbox.record("sms", "телефон …0101", "Код входа: 123456")
    outbox.messages()          # newest first

Messages live in the ephemeral store (namespace ``dev_outbox``) with a TTL, so every
worker of a gateway sees the same outbox and nothing piles up. The recipient is a label
or a digest chosen by the sender (e.g. the last digits of a phone), never a full
phone number or a device token. Production mode refuses the outbox (:func:`build_outbox`),
and its blueprint answers 404 there as well.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Protocol

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request

from gateway.config.schema import GatewayConfig
from gateway.core.errors import ConfigError
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore

__all__ = [
    "KINDS",
    "DevOutbox",
    "MessageSink",
    "OutboxMessage",
    "build_outbox",
    "install_outbox",
    "outbox_blueprint",
]

NAMESPACE = "dev_outbox"
SEQUENCE_KEY = "seq"
KINDS = ("sms", "email", "push")
DEFAULT_TTL_SECONDS = 24 * 3600
DEFAULT_LIMIT = 100
MAX_TEXT = 2000
MAX_TO = 200
EXTENSION = "vhod_dev_outbox"


class MessageSink(Protocol):
    """What a dev sender writes to (implemented by :class:`DevOutbox`)."""

    def record(self, kind: str, to: str, text: str) -> OutboxMessage:
        """Keep one message. Example: ``sink.record("sms", "…0101", "Код: 123456")``."""
        ...


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


def build_outbox(config: GatewayConfig, store: EphemeralStore, clock: Clock) -> DevOutbox:
    """The outbox of a dev gateway.

    :raises ConfigError: in production mode.
    """
    if config.is_production:
        raise ConfigError(["[dev] the dev outbox is refused in production mode"])
    return DevOutbox(store, clock)


def _outbox() -> DevOutbox:
    outbox = current_app.extensions.get(EXTENSION)
    if not isinstance(outbox, DevOutbox):
        abort(404)
    return outbox


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def outbox_blueprint(outbox: DevOutbox, production: bool) -> Blueprint:
    """``GET /dev/outbox`` (``?kind=sms|email|push``): JSON or the page, oldest first.

    Register it through :func:`install_outbox`, which also keeps the outbox at
    ``app.extensions["vhod_dev_outbox"]``.

    :param production: ``True`` makes every route answer 404.
    """
    bp = Blueprint("dev_outbox", __name__, template_folder="templates")

    @bp.app_template_filter("dev_time")
    def _dev_time(at: float) -> str:
        return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")

    @bp.before_request
    def _dev_only() -> None:
        if production:
            abort(404)

    @bp.get("/dev/outbox")
    def show() -> Response:
        kind = request.args.get("kind")
        # Oldest first, newest last: the order in which they were "sent".
        items = list(reversed(_outbox().messages(kind if kind in KINDS else None)))
        if _wants_json():
            response = jsonify({"messages": [_as_json(m) for m in items]})
        else:
            response = Response(
                render_template("dev_outbox.html", messages=items), mimetype="text/html"
            )
        response.headers["Cache-Control"] = "no-store"
        return response

    return bp


def _as_json(message: OutboxMessage) -> dict[str, object]:
    listed: dict[str, object] = asdict(message)
    listed["channel"] = message.kind
    listed["time"] = datetime.fromtimestamp(message.at, tz=UTC).isoformat()
    return listed


def install_outbox(app: Flask, outbox: DevOutbox, production: bool) -> None:
    """Register the outbox's routes on the gateway ``app``.

    :raises ConfigError: in production mode.
    """
    if production:
        raise ConfigError(["[dev] the dev outbox is refused in production mode"])
    app.extensions[EXTENSION] = outbox
    app.register_blueprint(outbox_blueprint(outbox, production))
