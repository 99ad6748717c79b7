"""Browser-facing hardening applied to every response, and CSRF protection for forms.

Headers (SECURITY.md T66, T67): a strict CSP (``default-src 'none'``; scripts, styles and
images only from ``'self'``; ``frame-ancestors 'none'``; no ``form-action``, because
Chromium applies it to the redirect after a form post, and the consent form must end in
a redirect to the school system), ``X-Frame-Options: DENY``, ``X-Content-Type-Options:
nosniff``, ``Referrer-Policy: no-referrer``, ``Cross-Origin-Opener-Policy: same-origin``,
HSTS when the issuer is https,
and ``Cache-Control: no-store`` on every response unless a view opts into caching (public
discovery and JWKS) — anything else may carry a secret or personal data.

CSRF (T68): every state-changing browser form carries a token bound to a random per-browser
cookie by HMAC under the session secret; a POST to a view not marked :func:`csrf_exempt`
must present it, and cross-site POSTs (``Sec-Fetch-Site: cross-site`` or a foreign
``Origin``) are refused before that. OAuth back-channel endpoints (token, revocation,
introspection, PAR, userinfo) are client-authenticated, not cookie-authenticated, and are
exempt.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Any
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask
from flask import Response
from flask import g
from flask import request

from gateway.core.logs import log_event
from gateway.core.logs import request_id_var
from gateway.http.deps import services

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

CSRF_FIELD = "csrf_token"
_CSRF_EXEMPT_ATTR = "_vhod_csrf_exempt"
_CACHEABLE_ATTR = "_vhod_cacheable"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfRejected(Exception):
    """A state-changing browser request without a valid CSRF token or from another site."""


def csrf_exempt(view: F) -> F:
    """Mark a view as not cookie-authenticated (OAuth back-channel endpoints)."""
    setattr(view, _CSRF_EXEMPT_ATTR, True)
    return view


def cacheable(max_age: int) -> Callable[[F], F]:
    """Allow public caching of a view's response (discovery, JWKS): no personal data."""

    def wrap(view: F) -> F:
        setattr(view, _CACHEABLE_ATTR, max_age)
        return view

    return wrap


def cookie_name(base: str) -> str:
    """``__Host-`` prefixed outside dev (needs Secure, Path=/, no Domain)."""
    return base if _is_dev_http() else f"__Host-{base}"


def _is_dev_http() -> bool:
    return not services().config.server.issuer.startswith("https://")


def browser_id() -> str:
    """The random per-browser id that CSRF tokens are bound to (set on first use)."""
    existing = g.get("vhod_browser_id")
    if isinstance(existing, str):
        return existing
    value = request.cookies.get(cookie_name("vhod_b"), "")
    if len(value) < 32 or len(value) > 64:
        value = secrets.token_urlsafe(32)
        g.vhod_set_browser_id = value
    g.vhod_browser_id = value
    return value


def csrf_token() -> str:
    """The CSRF token for the current browser (a template global)."""
    key = services().session_secret
    return hmac.new(key, b"csrf\x00" + browser_id().encode(), hashlib.sha256).hexdigest()


def _check_csrf() -> None:
    site = request.headers.get("Sec-Fetch-Site")
    if site == "cross-site":
        raise CsrfRejected("cross-site request")
    origin = request.headers.get("Origin")
    if origin is not None:
        issuer = urlsplit(services().config.server.issuer)
        expected = f"{issuer.scheme}://{issuer.netloc}"
        if origin != expected and origin != request.host_url.rstrip("/"):
            raise CsrfRejected("foreign origin")
    sent = request.form.get(CSRF_FIELD, "")
    cookie = request.cookies.get(cookie_name("vhod_b"), "")
    if not sent or not cookie:
        raise CsrfRejected("missing token")
    if not hmac.compare_digest(sent, csrf_token()):
        raise CsrfRejected("token mismatch")


def init_security(app: Flask) -> None:
    """Register the request-id, CSRF and header hooks on ``app``."""

    @app.before_request
    def _request_context() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        rid = (
            incoming
            if 8 <= len(incoming) <= 64
            and incoming.isascii()
            and (incoming.replace("-", "").isalnum())
            else secrets.token_hex(8)
        )
        g.vhod_request_id = rid
        request_id_var.set(rid)
        if request.method in _SAFE_METHODS:
            return
        view = app.view_functions.get(request.endpoint or "")
        if view is None or getattr(view, _CSRF_EXEMPT_ATTR, False):
            return
        try:
            _check_csrf()
        except CsrfRejected as exc:
            log_event(
                log, "csrf.rejected", logging.WARNING, reason=str(exc), endpoint=request.endpoint
            )
            raise

    @app.after_request
    def _headers(response: Response) -> Response:
        h = response.headers
        h["X-Request-Id"] = g.get("vhod_request_id", "")
        h.setdefault(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "frame-ancestors 'none'; base-uri 'none'",
        )
        h["X-Frame-Options"] = "DENY"
        h["X-Content-Type-Options"] = "nosniff"
        h["Referrer-Policy"] = "no-referrer"
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if not _is_dev_http():
            h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        view = app.view_functions.get(request.endpoint or "")
        max_age = getattr(view, _CACHEABLE_ATTR, None) if view is not None else None
        if isinstance(max_age, int) and response.status_code == 200:
            h["Cache-Control"] = f"public, max-age={max_age}"
        else:
            h["Cache-Control"] = "no-store"
            h["Pragma"] = "no-cache"
        new_browser_id = g.get("vhod_set_browser_id")
        if isinstance(new_browser_id, str):
            response.set_cookie(
                cookie_name("vhod_b"),
                new_browser_id,
                max_age=365 * 86400,
                secure=not _is_dev_http(),
                httponly=True,
                samesite="Lax",
                path="/",
            )
        return response

    app.jinja_env.globals["csrf_token"] = csrf_token
