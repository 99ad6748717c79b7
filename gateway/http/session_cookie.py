"""The browser's cookies of the login: the SSO session cookie and the journey binding.

Both (SECURITY.md T69): ``__Host-`` prefix outside dev (via ``cookie_name``), ``Secure``
outside dev, ``HttpOnly``, ``SameSite=Lax`` (the upstream's callback is a top-level GET
from another site, and it must carry the journey cookie), ``Path=/``, no ``Domain``, and
no ``Max-Age``: they end with the browser session; the server enforces the session's idle
and absolute timeouts. Values are random secrets (~43 characters); the store keeps only
keyed digests of them. Neither value ever appears in a URL.

* ``vhod`` — the SSO session (see ``gateway.journey.sessions``).
* ``vhod_j`` — the journey binding: one random value per browser; every journey started
  in this browser stores its digest, so a journey id (it is in URLs) resumes nothing in
  another browser.
"""

from __future__ import annotations

import secrets

from flask import Response
from flask import g
from flask import request

from gateway.http.security import cookie_name

SESSION_COOKIE = "vhod"
BINDING_COOKIE = "vhod_j"
_MIN_LENGTH = 32
_MAX_LENGTH = 64
_NEW_BINDING = "vhod_new_binding"


def _secure() -> bool:
    return cookie_name("x") != "x"


def _read(base: str) -> str | None:
    value = request.cookies.get(cookie_name(base))
    if value is None or not (_MIN_LENGTH <= len(value) <= _MAX_LENGTH):
        return None
    return value


def _set(response: Response, base: str, value: str) -> None:
    response.set_cookie(
        cookie_name(base),
        value,
        secure=_secure(),
        httponly=True,
        samesite="Lax",
        path="/",
    )


def read_session_cookie() -> str | None:
    """The SSO session cookie's value, if the browser sent a well-formed one."""
    return _read(SESSION_COOKIE)


def set_session_cookie(response: Response, value: str) -> None:
    _set(response, SESSION_COOKIE, value)


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(
        cookie_name(SESSION_COOKIE), path="/", secure=_secure(), httponly=True, samesite="Lax"
    )


def journey_binding() -> str:
    """This browser's journey-binding value; a new one is made (and set on the response
    by :func:`set_new_binding`) when the browser has none."""
    existing = g.get(_NEW_BINDING) or _read(BINDING_COOKIE)
    if isinstance(existing, str):
        return existing
    value = secrets.token_urlsafe(32)
    g.vhod_new_binding = value
    return value


def read_binding() -> str:
    """The browser's binding value, or ``""`` (which matches no journey)."""
    return _read(BINDING_COOKIE) or ""


def see_other(location: str, code: int = 302) -> Response:
    """A redirect as a ``flask.Response`` (``flask.redirect`` is typed as werkzeug's)."""
    return Response(status=code, headers={"Location": location})


def set_new_binding(response: Response) -> Response:
    """After-request hook: set a binding made during this request."""
    value = g.get(_NEW_BINDING)
    if isinstance(value, str):
        _set(response, BINDING_COOKIE, value)
    return response
