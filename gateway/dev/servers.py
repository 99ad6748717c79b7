"""Werkzeug servers in threads for the dev stack and the integration tests.

A :class:`ServerThread` binds its socket first and takes its WSGI app afterwards, so a
server on a free port (``port=0``) knows its URL before the app that needs it (an issuer,
a callback) is built::

    server = ServerThread.bind("127.0.0.1", 0)
    app = build_app(issuer=server.url)
    server.serve(app)
    ...
    server.stop()

Access log lines carry the method, the path without its query (codes, ``state`` and
signatures live there) and the status; long numbers in paths (ESIA oids) are elided.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer
from werkzeug.serving import make_server

from providers.upstream.esia_sandbox.server import QuietRequestHandler

__all__ = ["ServerThread"]

log = logging.getLogger(__name__)


def _placeholder(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting\n"]


class ServerThread:
    """One threaded werkzeug server, served from a daemon thread.

    :param name: a label for the thread and the log.
    """

    def __init__(self, server: BaseWSGIServer, host: str, name: str) -> None:
        self._server = server
        self.host = host
        self.port = int(server.server_port)
        self.name = name
        self._thread: threading.Thread | None = None

    @classmethod
    def bind(cls, host: str, port: int, name: str = "server") -> ServerThread:
        """Bind ``host:port`` (``0``: a free port) without serving yet.

        :raises OSError: the port is taken.
        """
        server = make_server(
            host, port, _placeholder, threaded=True, request_handler=QuietRequestHandler
        )
        return cls(server, host, name)

    @property
    def app(self) -> Any:
        """The WSGI app being served (a placeholder until :meth:`serve`)."""
        return self._server.app

    @property
    def url(self) -> str:
        """``http://host:port`` (``127.0.0.1`` when bound to every interface)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    def serve(self, app: Any) -> ServerThread:
        """Start serving ``app`` (a WSGI callable) in a daemon thread."""
        self._server.app = app
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"dev-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (safe to call twice)."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
