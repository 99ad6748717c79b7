"""Admission limit: load shedding for one serving process (SECURITY.md §5 R14).

Neither server ``vhod serve`` runs has one: gunicorn's ``gthread`` worker queues every
accepted connection until a thread is free, and granian's WSGI worker queues requests for
its blocking threads the same way; so under overload the wait of every request grows with
the queue and ``/healthz`` waits in the same queue (a starved liveness probe restarts a
healthy node).

``vhod serve`` therefore runs ``2 × [server] max_in_flight`` threads per worker (gunicorn
``--threads``, granian ``--blocking-threads``), and this WSGI middleware admits at most
``max_in_flight`` requests at once, of which at most ``[server] threads`` work (the others
wait, at most ``[server] admission_wait_seconds``, for a working slot). A request past
``max_in_flight``, or one that waited too long, is answered at once with ``503`` +
``Retry-After`` (JSON ``{"error": "temporarily_unavailable"}``, ``Cache-Control:
no-store``) and never reaches the application; the spare threads answer these fast, which
drains the server's own queue. ``/healthz`` and ``/readyz`` are never held back. So
admitted requests keep a bounded latency, excess load is shed fast, and the process
recovers by itself when the load drops. A slot is given back when the server closes the
response body (both servers call ``close()``).

Connections beyond the threads wait in the server's queue and the listen backlog; a
reverse proxy's connection limit is the place to bound those.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any

__all__ = ["PROBES", "AdmissionLimit", "Released", "StartResponse", "WsgiApp"]

PROBES = frozenset({"/healthz", "/readyz"})
_BODY = b'{"error":"temporarily_unavailable","error_description":"overloaded, retry later"}'

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
"""A WSGI application (this middleware, the access line and the lean lane wrap one)."""


class AdmissionLimit:
    """Wrap ``app``: at most ``admitted`` requests at once, at most ``slots`` of them in
    ``app``; the others wait up to ``wait_seconds`` for a slot; past either bound, 503 +
    ``Retry-After: retry_after``."""

    def __init__(
        self, app: WsgiApp, slots: int, admitted: int, wait_seconds: float, retry_after: int
    ) -> None:
        if not 1 <= slots <= admitted or wait_seconds < 0 or retry_after < 1:
            raise ValueError("1 ≤ slots ≤ admitted, wait_seconds ≥ 0, retry_after ≥ 1")
        self.app = app
        # The working slots as tokens in a C queue: taking and giving one back cost a
        # fraction of a ``threading.Semaphore``'s (written in Python on a Condition).
        self._slots: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(slots):
            self._slots.put(None)
        self._admitted = admitted
        self._in_flight = 0
        self._wait = wait_seconds
        self._retry_after = str(retry_after)
        self._lock = threading.Lock()
        self.shed = 0
        """Requests answered 503 by this process so far."""

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in PROBES:
            return self.app(environ, start_response)
        with self._lock:
            admit = self._in_flight < self._admitted
            if admit:
                self._in_flight += 1
        if not admit:
            return self._shed(start_response)
        try:
            self._slots.get(timeout=self._wait)
        except queue.Empty:
            self._leave()
            return self._shed(start_response)
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return Released(body, self._done)

    def _done(self) -> None:
        self._slots.put(None)
        self._leave()

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _shed(self, start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._lock:
            self.shed += 1
        start_response(
            "503 Service Unavailable",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(_BODY))),
                ("Cache-Control", "no-store"),
                ("Retry-After", self._retry_after),
            ],
        )
        return [_BODY]


class Released:
    """The app's body; ``release`` runs once the server closed it (the admission slot is
    given back; :class:`gateway.access_log.AccessLog` writes its line)."""

    def __init__(self, body: Iterable[bytes], release: Callable[[], None]) -> None:
        self._body = body
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()
