"""The Flask app around the composition root's services.

Nothing imports this module except the entry points (``gateway.wsgi``, ``gateway.cli``,
``gateway.dev``), ``bench/`` and tests. Order, as in the Flask app-factory pattern: load
config → build services (``gateway.compose.build_services``, re-exported here) → register
security hooks, blueprints, error handlers → log warnings.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from flask import Response
from flask import render_template
from flask.sessions import SessionInterface

from gateway import __version__
from gateway.compose import build_services
from gateway.config.loader import ENV_CONFIG
from gateway.config.loader import load_config
from gateway.config.schema import GatewayConfig
from gateway.config.warnings import startup_warnings
from gateway.core.logs import configure_logging
from gateway.core.logs import log_event
from gateway.http import account
from gateway.http import account_applications
from gateway.http import account_children
from gateway.http import account_factors
from gateway.http import admin
from gateway.http import child_choice
from gateway.http import consent
from gateway.http import factors
from gateway.http import login
from gateway.http import ops
from gateway.http import push_device
from gateway.http import schools
from gateway.http.deps import Services
from gateway.http.errors import error_page
from gateway.http.errors import register_error_handlers
from gateway.http.fast_lane import FastLane
from gateway.http.i18n import current_language
from gateway.http.i18n import human_time
from gateway.http.i18n import register_messages
from gateway.http.i18n import remember_language
from gateway.http.i18n import switch_url
from gateway.http.i18n import t
from gateway.http.oauth import init_oauth
from gateway.http.security import init_security
from providers.upstream.esia.errors import messages as esia_messages
from providers.upstream.fake import NAME as FAKE_NAME
from providers.upstream.fake import FakeUpstream
from providers.upstream.fake_page import fake_page
from providers.upstream.fake_page import messages as fake_page_messages

__all__ = ["build_services", "create_app"]

log = logging.getLogger(__name__)


class NoFlaskSession(SessionInterface):
    """vhod keeps nothing in Flask's signed-cookie session: its cookies are its own
    (``gateway.http.session_cookie``, the CSRF and browser-id cookies). No session is
    opened or saved — Flask's default reads and signs one on every request (~0.1 ms) —
    and ``flask.session`` is Flask's ``NullSession``, which refuses any write."""

    def open_session(self, app: Flask, request: Any) -> None:
        return None

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        return None


def create_app(
    config: GatewayConfig | None = None,
    *,
    services: Services | None = None,
) -> Flask:
    """Build the WSGI app.

    :param config: validated config; loaded from ``VHOD_CONFIG`` (or defaults) if absent.
    :param services: prebuilt services (tests inject a fixed clock this way).
    """
    import os

    if services is None:
        if config is None:
            config = load_config(os.environ.get(ENV_CONFIG))
        configure_logging(config.logging.level, config.logging.format)
        services = build_services(config)
    config = services.config

    app = Flask(
        "gateway",
        template_folder=str(Path(__file__).parent / "http" / "templates"),
        static_folder=str(Path(__file__).parent / "http" / "static"),
    )
    app.config.update(
        SECRET_KEY=services.session_secret,
        MAX_CONTENT_LENGTH=256 * 1024,
        JSON_SORT_KEYS=False,
        TRAP_HTTP_EXCEPTIONS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.session_interface = NoFlaskSession()
    app.extensions["vhod"] = services
    app.jinja_env.globals.update(t=t, version=__version__, switch_url=switch_url)
    app.jinja_env.filters["human_time"] = human_time
    app.context_processor(lambda: {"lang": current_language()})
    app.after_request(remember_language)

    register_messages(esia_messages())  # ESIA failure pages (providers/upstream/esia)
    init_security(app)
    ops.init_metrics(app)
    app.register_blueprint(ops.bp)
    init_oauth(app)
    app.register_blueprint(login.bp)
    _register_fake_page(app, services)
    app.register_blueprint(consent.bp)
    app.register_blueprint(factors.bp)
    app.register_blueprint(child_choice.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(account_factors.bp)
    app.register_blueprint(push_device.bp)
    app.register_blueprint(account_children.bp)
    app.register_blueprint(account_applications.bp)
    app.register_blueprint(schools.bp)
    admin.init_admin(app)

    @app.get("/")
    def home() -> Response:
        return Response(render_template("home.html"), mimetype="text/html")

    register_error_handlers(app)
    app.wsgi_app = FastLane(app, services)  # type: ignore[method-assign]
    for warning in startup_warnings(config):
        log_event(log, "config.warning", logging.WARNING, warning=warning)
    log_event(log, "app.started", version=__version__, mode=str(config.mode))
    return app


def _register_fake_page(app: Flask, services: Services) -> None:
    """The fake upstream's persona page (``/login/fake``), only when it is enabled."""
    upstream = services.upstreams.get(FAKE_NAME)
    if not isinstance(upstream, FakeUpstream):
        return
    register_messages(fake_page_messages())
    app.register_blueprint(
        fake_page(
            upstream,
            callback_endpoint="login.callback",
            bad_request=lambda: error_page(400, "error_title", "error_bad_request"),
        )
    )
