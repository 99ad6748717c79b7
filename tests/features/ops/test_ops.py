"""Operations endpoints, security headers, CSRF and store-outage behaviour (foundation)."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint
from flask import Flask
from flask import jsonify
from flask import render_template_string
from flask import request

from gateway.app import build_services
from gateway.app import create_app
from gateway.compose import readiness_checks
from gateway.core.clock import FixedClock
from gateway.http.deps import services as current_services
from gateway.http.errors import json_errors
from gateway.http.security import csrf_exempt
from tests.conftest import make_config
from tests.helpers.processes import own_redis


def test_healthz_and_readyz(client: Any) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.get_json()["checks"] == {"ephemeral": "ok", "database": "ok"}


def test_metrics_exposes_prometheus_text(client: Any) -> None:
    client.get("/healthz")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.mimetype == "text/plain"
    assert b"vhod_http_requests_total" in r.data
    assert b'endpoint="ops.healthz"' in r.data


def test_security_headers_on_every_response(client: Any) -> None:
    for path in ("/", "/healthz", "/does-not-exist"):
        r = client.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "default-src 'none'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "same-origin"  # never a URL to other sites
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers["X-Request-Id"]


def test_pages_are_russian_by_default_and_english_on_request(client: Any) -> None:
    r = client.get("/does-not-exist")
    assert r.status_code == 404
    assert "Страница не найдена" in r.get_data(as_text=True)
    r = client.get("/does-not-exist?lang=en")
    assert "Page not found" in r.get_data(as_text=True)


def test_unknown_path_as_json_for_api_clients(client: Any) -> None:
    r = client.get("/nope", headers={"Accept": "application/json"})
    assert r.status_code == 404
    assert r.get_json()["error"] == "not_found"


def _form_app(services: Any) -> Flask:
    app = create_app(services=services)
    bp = Blueprint("t_forms", __name__)
    changes: list[str] = []

    @bp.get("/t/form")
    def form() -> str:
        return render_template_string(
            '<form method="post"><input name="csrf_token" value="{{ csrf_token() }}"></form>'
        )

    @bp.post("/t/form")
    def submit() -> str:
        changes.append(request.form.get("v", ""))
        return "ok"

    @bp.post("/t/api")
    @csrf_exempt
    @json_errors
    def api() -> Any:
        return jsonify({"ok": True})

    app.register_blueprint(bp)
    app.extensions["t_changes"] = changes
    return app


def _token_from(html: str) -> str:
    return html.split('value="')[1].split('"')[0]


def test_csrf_protects_forms(services: Any) -> None:
    app = _form_app(services)
    browser = app.test_client()
    token = _token_from(browser.get("/t/form").get_data(as_text=True))
    # no token
    assert browser.post("/t/form", data={"v": "1"}).status_code == 403
    # another browser's token
    other = app.test_client()
    other_token = _token_from(other.get("/t/form").get_data(as_text=True))
    assert browser.post("/t/form", data={"v": "2", "csrf_token": other_token}).status_code == 403
    # cross-site
    r = browser.post(
        "/t/form", data={"v": "3", "csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert r.status_code == 403
    r = browser.post(
        "/t/form", data={"v": "4", "csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert r.status_code == 403
    assert app.extensions["t_changes"] == []
    # the right token from the same browser
    assert browser.post("/t/form", data={"v": "5", "csrf_token": token}).status_code == 200
    assert app.extensions["t_changes"] == ["5"]
    # exempt API endpoints are not cookie-authenticated
    assert other.post("/t/api").status_code == 200


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        # what Chromium sends from vhod's own page
        ({"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"}, True),
        # a browser that withholds the origin but states the request is same-origin
        ({"Origin": "null", "Sec-Fetch-Site": "same-origin"}, True),
        # an opaque origin with no statement, or from another site: never trusted
        ({"Origin": "null"}, False),
        ({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, False),
        # a sibling host of the same site (another system of the region)
        ({"Sec-Fetch-Site": "same-site"}, False),
        ({"Origin": "http://127.0.0.1:8082", "Sec-Fetch-Site": "same-site"}, False),
        ({"Sec-Fetch-Site": "cross-site, same-origin"}, False),
        # typed or bookmarked (the person started it)
        ({"Sec-Fetch-Site": "none"}, True),
    ],
)
def test_csrf_origin_rules(services: Any, headers: dict[str, str], allowed: bool) -> None:
    """The decision about ``Origin: null`` and ``Sec-Fetch-Site`` (gateway.http.security)."""
    app = _form_app(services)
    browser = app.test_client()
    token = _token_from(browser.get("/t/form").get_data(as_text=True))
    r = browser.post("/t/form", data={"v": "x", "csrf_token": token}, headers=headers)
    assert r.status_code == (200 if allowed else 403)
    assert app.extensions["t_changes"] == (["x"] if allowed else [])


def test_csrf_token_in_header_for_scripts(services: Any) -> None:
    app = _form_app(services)
    browser = app.test_client()
    token = _token_from(browser.get("/t/form").get_data(as_text=True))
    assert browser.post("/t/form", headers={"X-CSRF-Token": token}).status_code == 200
    assert browser.post("/t/form", headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    assert browser.post("/t/form", headers={"X-CSRF-Token": "ю" * 8}).status_code == 403


def test_csrf_cookie_attributes(services: Any) -> None:
    app = _form_app(services)
    r = app.test_client().get("/t/form")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    assert "Domain" not in cookie


@pytest.mark.redis
def test_redis_outage_mid_request_is_503_with_retry_after(tmp_path: Path) -> None:
    """R1/R2: stop our own redis-server in the middle of a request → 503 + Retry-After,
    readiness fails, nothing half written; after a restart the app recovers."""
    with own_redis() as redis_server:
        cfg = make_config(
            tmp_path,
            store={"ephemeral_url": redis_server.url, "operation_timeout_seconds": 0.5},
        )
        svc = build_services(cfg, FixedClock(), prepare_stores=True)
        app = create_app(services=svc)
        bp = Blueprint("t_store", __name__)
        reached = threading.Event()

        @bp.post("/t/two-writes")
        @csrf_exempt
        @json_errors
        def two_writes() -> Any:
            store = current_services().ephemeral
            store.put("t", "first", b"1", 60)
            reached.set()
            redis_server.stop()  # the outage happens mid-request
            store.put("t", "second", b"2", 60)
            return jsonify({"ok": True})

        app.register_blueprint(bp)
        client = app.test_client()
        assert client.get("/readyz").status_code == 200
        r = client.post("/t/two-writes")
        assert reached.is_set()
        assert r.status_code == 503
        assert r.headers["Retry-After"] == str(cfg.store.retry_after_seconds)
        assert r.get_json()["error"] == "temporarily_unavailable"
        assert r.headers["Cache-Control"] == "no-store"
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.get_json()["checks"]["ephemeral"] == "unavailable"
        assert "Retry-After" in ready.headers
        page = client.get("/readyz", headers={"Accept": "text/html"})
        assert page.status_code == 503
        # recovery: a new server on the same port; nothing of the failed request remains
        redis_server.start()
        assert client.get("/readyz").status_code == 200
        assert svc.ephemeral.get("t", "second") is None
        svc.engine.dispose()


def test_database_outage_is_503(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    svc = build_services(cfg, FixedClock(), prepare_stores=True)
    app = create_app(services=svc)
    client = app.test_client()
    # Point the durable store at an unreachable PostgreSQL (closed port).
    from gateway.store.factory import build_engine
    from gateway.store.sql.uow import SqlUnitOfWorkFactory
    from tests.helpers.processes import free_port

    dead = build_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x", pool_size=1, timeout_seconds=0.5
    )
    dead_uow = SqlUnitOfWorkFactory(dead)
    app.extensions["vhod"] = dataclasses.replace(
        svc, uow=dead_uow, readiness_checks=readiness_checks(dead_uow, svc.ephemeral)
    )
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.get_json()["checks"]["database"] == "unavailable"
    dead.dispose()
    svc.engine.dispose()
