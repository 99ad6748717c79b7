"""The gateway served over real HTTP in a thread, on a free port of 127.0.0.1 (never the
dev ports 8080-8082), with the system clock: for clients that speak HTTP themselves
(Authlib's client, ``vhod device``)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

from werkzeug.serving import make_server

from gateway.app import build_services
from gateway.app import create_app
from gateway.config.schema import GatewayConfig
from gateway.core.clock import SystemClock


@contextlib.contextmanager
def served_app(
    port: int, config: GatewayConfig, prepare: Callable[[GatewayConfig], None] | None = None
) -> Iterator[Any]:
    """Serve the app of ``config`` (its issuer on ``port``) until the block ends; yield
    its services. ``prepare`` runs before the services are built (copy a data dir...)."""
    if prepare is not None:
        prepare(config)
    services = build_services(config, SystemClock(), prepare_stores=True)
    httpd = make_server("127.0.0.1", port, create_app(services=services), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield services
    finally:
        httpd.shutdown()
        thread.join(10)
        services.engine.dispose()
