"""Run the sandbox: ``run_sandbox`` for ``vhod sandbox`` (gunicorn), and ``SandboxServer``
(werkzeug in a thread on a free or given port) for tests and the dev stack."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

from providers.upstream.esia_sandbox.app import create_sandbox_app
from providers.upstream.esia_sandbox.config import SandboxConfig

__all__ = ["QuietRequestHandler", "SandboxServer", "run_sandbox"]

log = logging.getLogger(__name__)
_LONG_NUMBER = re.compile(r"\d{5,}")  # oids and record ids in REST paths


class QuietRequestHandler(WSGIRequestHandler):
    """Access log lines without the query string (codes, signatures, states live there)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = _LONG_NUMBER.sub("…", self.path.split("?", 1)[0])
        log.info("%s %s %s", self.command, path, code)

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            log.warning("server error: %s", message % args if args else message)


class SandboxServer:
    """The sandbox on ``host:port`` in a daemon thread (``port=0``: a free port).

    Example::

        with SandboxServer(tmp_path, config) as server:
            requests.get(f"{server.url}/sandbox/personas")
    """

    def __init__(
        self,
        data_dir: str | Path,
        config: SandboxConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.app = create_sandbox_app(data_dir, config)
        self._server: BaseWSGIServer = make_server(
            host, port, self.app, threaded=True, request_handler=QuietRequestHandler
        )
        self.host = host
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="esia-sandbox", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_sandbox(
    host: str, port: int, data_dir: str | Path, config: SandboxConfig | None = None
) -> None:
    """Serve the sandbox in the foreground until interrupted (``vhod sandbox``).

    Under gunicorn, like ESIA's own front end it keeps HTTP/1.1 connections alive, so the
    gateway's connection pool is used as it would be against ESIA (werkzeug's server,
    which :class:`SandboxServer` uses in tests and the dev stack, closes every
    connection). One worker process with threads: the sandbox keeps its codes, tokens and
    sessions in memory. Access logging stays off (codes and states travel in query
    strings)."""
    from gunicorn.app.base import BaseApplication

    app = create_sandbox_app(data_dir, config)
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options = {
        "bind": bind,
        "workers": 1,
        "worker_class": "gthread",
        "threads": 8,
        "keepalive": 5,
        "accesslog": None,
        "loglevel": "warning",
        "graceful_timeout": 5,
    }

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    _Gunicorn().run()
