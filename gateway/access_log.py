"""The access log line of ``vhod serve``, under either server, made cheaply.

The line is ``<client> "<method> <path>" <status> <bytes> <ms>ms``: no query string (codes,
states and tokens travel there) and no headers.

* gunicorn: :class:`AccessLogger` (``--logger-class gateway.access_log.AccessLogger``).
  gunicorn's own ``Logger.access`` first builds every atom it knows (all request and
  response headers, environ variables) for any format; that was a tenth of the CPU of a
  token request. This subclass formats the five values it needs and otherwise behaves as
  gunicorn's logger (same handlers, ``--access-logfile``, reopening on USR1).
* granian: :class:`AccessLog`, a WSGI middleware (``gateway.wsgi`` applies it when
  ``[server] server = "granian"``; granian's own access log stays off). granian's
  ``--access-log-fmt`` atoms (``addr``, ``time``, ``dt_ms``, ``status``, ``path``,
  ``query_string``, ``method``, ``scheme``, ``protocol``, ``header{…}``) have no response
  size, and its logger formats a timestamp for every request whatever the format; the
  middleware writes the same line as gunicorn's, to standard output, with one ``write``
  system call (:func:`stdout_writer`) rather than through :mod:`logging` (a record, a
  formatter, a handler lock and a flush: 20 µs a request, a third of a JWKS answer).

A path or method with a control or non-ASCII character is written escaped
(``\\n``, ``\\xe9``): a request cannot forge a second line.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

from gateway.http.admission import Released
from gateway.http.admission import WsgiApp

LINE = '%s "%s %s" %s %s %sms'
"""client, method, path (never the query string), status, bytes (``-`` unknown), ms."""


class AccessLogger(Logger):  # type: ignore[misc]
    """``--logger-class gateway.access_log.AccessLogger``."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not self.access_log_enabled:
            return
        status = str(getattr(resp, "status", "-") or "-").split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        ms = request_time.seconds * 1000 + request_time.microseconds // 1000
        self.access_log.info(
            LINE,
            environ.get("REMOTE_ADDR", "-"),
            _printable(environ.get("REQUEST_METHOD", "-")),
            _printable(environ.get("PATH_INFO", "-")),
            status,
            "-" if sent is None else sent,
            ms,
        )


def stdout_writer() -> Callable[[str], None]:
    """A writer of whole lines to standard output: each line with one ``write`` system call
    on the file descriptor (a line under the pipe buffer's size is never interleaved with
    another process's or thread's), never buffered; a failed write (standard output
    closed) is dropped, as :mod:`logging` drops it, and never fails the request."""
    fd = sys.stdout.fileno()

    def write(line: str) -> None:
        data = (line + "\n").encode("utf-8", "backslashreplace")
        try:
            while data:
                data = data[os.write(fd, data) :]
        except OSError:
            pass

    return write


def _printable(text: str) -> str:
    """``text`` as it may stand in a log line: control and non-ASCII characters escaped."""
    if text.isascii() and text.isprintable():
        return text
    return text.encode("unicode_escape").decode("ascii")


class AccessLog:
    """Wrap ``app``: one :data:`LINE` per request, given to ``write`` once the server has
    closed the body (so the time covers sending it). The size is the ``Content-Length``
    the app set, else the bytes of the body as it is sent."""

    def __init__(self, app: WsgiApp, write: Callable[[str], None]) -> None:
        self.app = app
        self.write = write

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        seen: list[Any] = ["500", None]

        def recording(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            seen[0] = status.split(None, 1)[0]
            for name, value in headers:
                if len(name) == 14 and name.lower() == "content-length":
                    seen[1] = value
                    break
            return start_response(status, headers, *exc)

        def line(size: object) -> None:
            self.write(
                LINE
                % (
                    environ.get("REMOTE_ADDR", "-"),
                    _printable(environ.get("REQUEST_METHOD", "-")),
                    _printable(environ.get("PATH_INFO", "-")),
                    seen[0],
                    size,
                    int((time.perf_counter() - started) * 1000),
                )
            )

        try:
            body = self.app(environ, recording)
        except BaseException:
            line("-")
            raise
        if isinstance(body, list) and seen[1] is not None:
            line(seen[1])  # sent as it is, nothing to close
            return body
        return _Logged(body, seen, line)


class _Logged(Released):
    """The app's body, its bytes counted when the app set no ``Content-Length``; the line
    once the server closed it."""

    def __init__(
        self, body: Iterable[bytes], seen: list[Any], line: Callable[[object], None]
    ) -> None:
        super().__init__(body, self._logged)
        self._seen = seen
        self._line = line
        self._sent = 0

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body) if self._seen[1] is not None else self._counted()

    def _counted(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._sent += len(chunk)
            yield chunk

    def _logged(self) -> None:
        size = self._seen[1]
        self._line(self._sent if size is None else size)
