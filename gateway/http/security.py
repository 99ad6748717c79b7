"""Browser-facing hardening applied to every response, and CSRF protection for forms.

Headers (SECURITY.md T66, T67): a strict CSP (``default-src 'none'``; scripts, styles,
images and script requests (``connect-src``: the push page's polling) only from
``'self'``; ``frame-ancestors 'none'``; no ``form-action``, because Chromium applies it
to the redirect after a form post, and the consent form must end in a redirect to the
school system), ``X-Frame-Options: DENY``, ``X-Content-Type-Options:
nosniff``, ``Referrer-Policy: same-origin``, ``Cross-Origin-Opener-Policy: same-origin``,
HSTS when the issuer is https,
and ``Cache-Control: no-store`` on every response unless a view opts into caching (public
discovery and JWKS) — anything else may carry a secret or personal data.

**Referrer policy.** ``same-origin``: other sites (the school system after a redirect,
ESIA) receive no ``Referer`` at all, so no URL, query string or code leaks off vhod; only
vhod's own pages see their own URLs. ``no-referrer``, used before, had a cost that only a
real browser shows: by the Fetch standard ("serializing a request origin") a page under
``no-referrer`` sends ``Origin: null`` on *every* form POST, even to its own origin, and
the CSRF check then refused every consent, logout and admin form in Chromium.

CSRF (T68) — one check for the whole gateway, :func:`check_csrf`, in this order:

1. ``Sec-Fetch-Site``, when the browser sends it, must be ``same-origin`` (or ``none``: a
   request the person started themselves). ``cross-site`` and ``same-site`` (a sibling
   host of the same registrable domain, e.g. another system of the region) are refused.
2. ``Origin``, when sent, must be vhod's own origin (the issuer's, or the host the
   browser used). **``Origin: null``** means the browser withholds the origin (a
   ``no-referrer`` page, a sandboxed frame, a ``data:`` or ``file:`` document); an attacker
   can produce it at will, so it is never taken as "same origin". It is accepted only
   when the same request carries ``Sec-Fetch-Site: same-origin`` — the browser's own
   statement that the initiator is vhod — and refused otherwise.
3. The token: every state-changing form (field ``csrf_token``) or script (header
   ``X-CSRF-Token``) presents an HMAC, under the session secret, of a *binding*. For
   ordinary pages the binding is a random per-browser cookie (``vhod_b``); the admin side
   binds its token to the admin session instead (:mod:`gateway.http.admin`), through the
   same function.

A POST to a view not marked :func:`csrf_exempt` passes the check in a ``before_request``
hook. OAuth back-channel endpoints (token, revocation, introspection, PAR, userinfo) and
``/authorize`` (POSTed cross-site by design) are client-authenticated or carry no
cookie-authenticated effect and are exempt; the admin blueprint runs the check in its own
guard, with its own binding.
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
CSRF_HEADER = "X-CSRF-Token"
_ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})
_FETCH_SITE_REASONS = {"cross-site": "cross-site request", "same-site": "same-site request"}
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


def csrf_token(binding: str | None = None) -> str:
    """The CSRF token for ``binding`` (default: this browser's id); a template global.

    :param binding: what the token is tied to — the admin side passes its session key.
    """
    key = services().session_secret
    value = browser_id() if binding is None else binding
    return hmac.new(key, b"csrf\x00" + value.encode(), hashlib.sha256).hexdigest()


def _own_origins() -> tuple[str, str]:
    issuer = urlsplit(services().config.server.issuer)
    return f"{issuer.scheme}://{issuer.netloc}", request.host_url.rstrip("/")


def check_csrf(binding: str | None = None) -> None:
    """Refuse a state-changing request that did not come from vhod's own page (the module
    docstring gives the rules and the reason for each).

    :param binding: the token's binding; ``None`` = the per-browser cookie.
    :raises CsrfRejected: with a short reason code for the log.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in _ALLOWED_FETCH_SITES:
        raise CsrfRejected(_FETCH_SITE_REASONS.get(site, "unknown fetch site"))
    origin = request.headers.get("Origin")
    if origin == "null":
        if site != "same-origin":
            raise CsrfRejected("opaque origin")
    elif origin is not None and origin not in _own_origins():
        raise CsrfRejected("foreign origin")
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    if binding is None and not request.cookies.get(cookie_name("vhod_b"), ""):
        raise CsrfRejected("missing token")
    if not sent:
        raise CsrfRejected("missing token")
    if not hmac.compare_digest(sent.encode(), csrf_token(binding).encode()):
        raise CsrfRejected("token mismatch")


CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_VIEW_MAY_SET = frozenset(
    {"Content-Security-Policy", "Cross-Origin-Opener-Policy", "Cross-Origin-Resource-Policy"}
)
"""Headers a view may set itself (a page with its own policy); the others are forced."""


def security_headers(*, https: bool) -> tuple[tuple[str, str], ...]:
    """The hardening headers of every response (the module docstring gives each reason)."""
    headers: tuple[tuple[str, str], ...] = (
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    )
    if https:
        headers += (("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),)
    return headers


def cache_headers(max_age: int | None, status: int) -> tuple[tuple[str, str], ...]:
    """``Cache-Control``: public for a cacheable view's 200/304, else ``no-store``."""
    if isinstance(max_age, int) and status in (200, 304):
        return (("Cache-Control", f"public, max-age={max_age}"),)
    return (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


def request_id(incoming: str) -> str:
    """The request id: the caller's ``X-Request-Id`` when it is a plausible id (8–64
    letters, digits, dashes), else a new random one."""
    if 8 <= len(incoming) <= 64 and incoming.isascii() and incoming.replace("-", "").isalnum():
        return incoming
    return secrets.token_hex(8)


def init_security(app: Flask) -> None:
    """Register the request-id, CSRF and header hooks on ``app``."""

    @app.before_request
    def _request_context() -> None:
        rid = request_id(request.headers.get("X-Request-Id", ""))
        g.vhod_request_id = rid
        request_id_var.set(rid)
        if request.method in _SAFE_METHODS:
            return
        view = app.view_functions.get(request.endpoint or "")
        if view is None or getattr(view, _CSRF_EXEMPT_ATTR, False):
            return
        try:
            check_csrf()
        except CsrfRejected as exc:
            log_event(
                log, "csrf.rejected", logging.WARNING, reason=str(exc), endpoint=request.endpoint
            )
            raise

    @app.after_request
    def _headers(response: Response) -> Response:
        h = response.headers
        h["X-Request-Id"] = g.get("vhod_request_id", "")
        for name, value in security_headers(https=not _is_dev_http()):
            if name in _VIEW_MAY_SET:
                h.setdefault(name, value)
            else:
                h[name] = value
        view = app.view_functions.get(request.endpoint or "")
        max_age = getattr(view, _CACHEABLE_ATTR, None) if view is not None else None
        for name, value in cache_headers(max_age, response.status_code):
            h[name] = value
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
