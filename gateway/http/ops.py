"""Operations endpoints: ``/healthz`` (the process answers), ``/readyz`` (every store is
reachable — a load balancer drains the node otherwise; R16), ``/metrics`` (Prometheus).

Liveness never touches a store, so a Redis outage drains traffic without a restart storm.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import g
from flask import jsonify
from flask import request
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Histogram
from prometheus_client import generate_latest

from gateway.core.errors import StoreUnavailable
from gateway.http.deps import services
from gateway.http.errors import json_errors
from gateway.http.security import csrf_exempt

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "vhod_http_requests_total",
    "HTTP requests by endpoint and status",
    ["endpoint", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "vhod_http_request_seconds",
    "HTTP request latency by endpoint",
    ["endpoint"],
    registry=REGISTRY,
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
EVENTS = Counter(
    "vhod_events_total",
    "Named security and business events",
    ["event"],
    registry=REGISTRY,
)


@bp.get("/healthz")
@json_errors
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@json_errors
def readyz() -> Response:
    checks: dict[str, str] = {}
    ready = True
    for name, check in services().readiness_checks.items():
        try:
            check()
            checks[name] = "ok"
        except StoreUnavailable:
            checks[name] = "unavailable"
            ready = False
    response = jsonify({"status": "ready" if ready else "unavailable", "checks": checks})
    response.status_code = 200 if ready else 503
    if not ready:
        response.headers["Retry-After"] = str(services().config.store.retry_after_seconds)
    return response


@bp.get("/metrics")
@csrf_exempt
def metrics() -> Response:
    return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)


def init_metrics(app: Flask) -> None:
    """Time every request and count it by endpoint (no URLs: they may carry ids)."""

    @app.before_request
    def _start() -> None:
        g.vhod_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.get("vhod_started")
        record_request(
            request.endpoint or "unknown",
            request.method,
            response.status_code,
            started if isinstance(started, float) else None,
        )
        return response


def record_request(endpoint: str, method: str, status: int, started: float | None) -> None:
    """Count a request and time it from ``started`` (``time.perf_counter()``)."""
    _requests(endpoint, method, status).inc()
    if started is not None:
        _latency(endpoint).observe(time.perf_counter() - started)


@functools.lru_cache(maxsize=4096)
def _requests(endpoint: str, method: str, status: int) -> Any:
    """The counter's child of these labels (looked up once: ``labels()`` takes a lock and
    builds its key on every call)."""
    return REQUESTS.labels(endpoint, method, str(status))


@functools.lru_cache(maxsize=1024)
def _latency(endpoint: str) -> Any:
    return LATENCY.labels(endpoint)


def count_event(event: str) -> None:
    """Count a named event (``vhod_events_total``)."""
    _events(event).inc()


@functools.lru_cache(maxsize=1024)
def _events(event: str) -> Any:
    return EVENTS.labels(event)
