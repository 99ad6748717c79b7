"""Back-channel logout delivery (OpenID Connect Back-Channel Logout 1.0), off the request
path.

When a session ends, one row per notified client goes into the durable
``logout_deliveries`` queue in the same transaction that revokes the session's grants
(``gateway.oauth.logout``). A worker thread — started lazily in each serving process at
its first logout, or run on its own with :func:`run_worker` (``vhod worker``) — claims due
rows with a lease (several processes never deliver the same row at once), signs a fresh
logout token for each (it lives two minutes; a retry after that needs a new one) and POSTs
``logout_token=<JWT>`` (§2.5) with a 5 s timeout and no redirects.

Why a durable table rather than the ephemeral store: the ephemeral port has no way to
list keys (a queue needs one), and a notification that a child's session ended must not
vanish when Redis restarts or evicts; the table is small and rows live minutes.

Failures (timeout, refused connection, a non-2xx answer) are retried with exponential
back-off (2, 4, 8, 16, 32 s) up to :data:`MAX_ATTEMPTS` attempts, then dropped
(SECURITY.md R12): each outcome is logged with the client id, attempt number and HTTP
status only — never the token or the subject — and counted (``backchannel.delivered``,
``backchannel.retry``, ``backchannel.failed``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import requests

from gateway.config.schema import GatewayConfig
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import KeySource
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.types import LogoutDelivery
from gateway.oauth.context import OAuthContext
from gateway.oauth.context import build_oauth_context

MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 2
BACKOFF_MAX_SECONDS = 300
DELIVERY_TIMEOUT_SECONDS = 5.0
LEASE_SECONDS = 30
BATCH = 20
POLL_BUSY_SECONDS = 1.0
POLL_IDLE_SECONDS = 10.0

Poster = Callable[[str, dict[str, str]], int]
"""Deliver a form to a URL and return the HTTP status (injectable for tests)."""


def post_form(url: str, form: dict[str, str]) -> int:
    """POST ``form`` to ``url`` (5 s timeout, no redirects); the response status."""
    response = requests.post(
        url,
        data=form,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        allow_redirects=False,
        headers={"Cache-Control": "no-store"},
    )
    response.close()
    return response.status_code


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.delivered + self.retried + self.failed


def backoff_seconds(attempts: int) -> int:
    """Delay before the next attempt after ``attempts`` failed ones."""
    return int(min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1)))


def deliver_due(ctx: OAuthContext, post: Poster = post_form) -> DeliveryReport:
    """Claim and deliver every due notification once (one batch)."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        due = uow.logout_queue.claim_due(now, BATCH, LEASE_SECONDS)
        uow.commit()
    delivered = retried = failed = 0
    for delivery in due:
        outcome = _deliver_one(ctx, delivery, post)
        with ctx.uow() as uow:
            if outcome == "delivered":
                uow.logout_queue.complete(delivery.delivery_id)
                delivered += 1
            elif delivery.attempts + 1 >= MAX_ATTEMPTS or outcome == "dropped":
                uow.logout_queue.complete(delivery.delivery_id)
                failed += 1
            else:
                attempts = delivery.attempts + 1
                uow.logout_queue.reschedule(
                    delivery.delivery_id, attempts, ctx.clock.now() + backoff_seconds(attempts)
                )
                retried += 1
            uow.commit()
    return DeliveryReport(delivered, retried, failed)


def _deliver_one(ctx: OAuthContext, delivery: LogoutDelivery, post: Poster) -> str:
    with ctx.uow(read_only=True) as uow:
        client = uow.clients.get(delivery.client_id)
    if client is None or client.disabled or not client.backchannel_logout_uri:
        ctx.event("backchannel.dropped", client_id=delivery.client_id, reason="no_endpoint")
        return "dropped"
    token = ctx.tokens.logout_token(client, delivery.sid, delivery.sub)
    attempt = delivery.attempts + 1
    try:
        status = post(client.backchannel_logout_uri, {"logout_token": token})
    except requests.RequestException as error:
        status, problem = 0, type(error).__name__
    else:
        problem = "" if 200 <= status < 300 else "status"
    if not problem:
        ctx.event("backchannel.delivered", client_id=client.client_id, attempt=attempt)
        return "delivered"
    final = attempt >= MAX_ATTEMPTS
    ctx.event(
        "backchannel.failed" if final else "backchannel.retry",
        logging.WARNING,
        client_id=client.client_id,
        attempt=attempt,
        status=status,
        problem=problem,
    )
    return "failed"


class BackchannelWorker:
    """A daemon thread that delivers due notifications until stopped.

    :meth:`wake` makes it look at once (after a logout); otherwise it polls every second
    while there is work and every ten seconds when there is none.
    """

    def __init__(self, ctx: OAuthContext, post: Poster = post_form) -> None:
        self._ctx = ctx
        self._post = post
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name="vhod-backchannel", daemon=True
                )
                self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        run_loop(self._ctx, self._stop, self._post, self._wake)


def run_loop(
    ctx: OAuthContext,
    stop: threading.Event,
    post: Poster = post_form,
    wake: threading.Event | None = None,
) -> None:
    """Deliver until ``stop`` is set; never raises (a store outage is logged and retried).

    :param wake: set to look at the queue at once (it is cleared after each wait).
    """
    while not stop.is_set():
        try:
            report = deliver_due(ctx, post)
        except Exception as error:  # the worker must survive outages; next round retries
            ctx.event("backchannel.worker_error", logging.ERROR, error_type=type(error).__name__)
            report = DeliveryReport()
        timeout = POLL_BUSY_SECONDS if report.handled else POLL_IDLE_SECONDS
        if wake is None:
            stop.wait(timeout)
        else:
            wake.wait(timeout)
            wake.clear()


class WorkerServices(Protocol):
    """What :func:`run_worker` needs (``gateway.http.deps.Services`` has it all)."""

    @property
    def config(self) -> GatewayConfig: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def uow(self) -> UnitOfWorkFactory: ...

    @property
    def ephemeral(self) -> EphemeralStore: ...

    @property
    def keys(self) -> KeySource: ...

    @property
    def pepper(self) -> bytes: ...


def run_worker(services: WorkerServices, stop_event: threading.Event) -> None:
    """Run the back-channel delivery loop in the calling thread until ``stop_event`` is set
    (for a ``vhod worker`` command; serving processes also run it in a thread)."""
    ctx = build_oauth_context(
        config=services.config,
        clock=services.clock,
        uow=services.uow,
        ephemeral=services.ephemeral,
        keys=services.keys,
        pepper=services.pepper,
    )
    run_loop(ctx, stop_event)
