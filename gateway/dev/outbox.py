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

from dataclasses import asdict
from datetime import UTC
from datetime import datetime

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
from providers.factors.senders.outbox import KINDS
from providers.factors.senders.outbox import DevOutbox
from providers.factors.senders.outbox import OutboxMessage

__all__ = [
    "KINDS",
    "DevOutbox",
    "OutboxMessage",
    "build_outbox",
    "install_outbox",
    "outbox_blueprint",
]

EXTENSION = "vhod_dev_outbox"


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
