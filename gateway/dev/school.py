"""The demo school: a small relying party of vhod for ``make run`` (dev only).

It is what a school information system does with a standard OpenID Connect client library
(Authlib's Flask client), and nothing vhod-specific:

* "Войти через Госуслуги" → ``/login``: the authorization code flow with PKCE (S256),
  ``state`` and ``nonce`` (Authlib keeps them in this app's own session cookie), the
  discovery document of the gateway, and ``iss`` of the answer checked (RFC 9207);
  "Войти с подтверждением" → ``/login?mfa=1``: the same with ``acr_values`` =
  :data:`ACR_MFA` (vhod asks for a second factor after ESIA, or only for it — a step-up —
  in an existing session); "Войти за ребёнка" → ``/login?child=1``: the scope
  ``SchoolSettings.child_scope`` (``child`` and delegable scopes) — vhod asks which linked
  child (skipped with one), then the consent for that child; the tokens' ``sub`` is the
  child's, ``act.sub`` the parent's;
* ``/callback``: code → tokens; the ID token is verified by Authlib against the gateway's
  JWKS (signature, ``iss``, ``aud``, ``exp``, ``nonce``); then ``/userinfo``; the page shows
  the ID token's claims, ``acr``/``amr``, userinfo and when the access token expires;
  an error answer (``access_denied``, ``temporarily_unavailable``…) is shown in Russian;
* "Обновить токены" (``POST /refresh``): the refresh token grant;
* "Выйти" (``POST /logout``): the school's session ends, then RP-initiated logout at the
  gateway with ``id_token_hint``, ``post_logout_redirect_uri`` and ``state``
  (``/signed-out`` checks the ``state``);
* ``POST /backchannel-logout``: the gateway's logout token (OpenID Connect Back-Channel
  Logout 1.0 §2.6: signature, ``iss``, ``aud``, ``iat``, the event, no ``nonce``, ``sid``
  or ``sub``) ends every school session of that ``sid`` / ``sub``.

Sessions are server-side (in memory); the cookie carries a random key and Authlib's
pending ``state``. Forms carry a CSRF token. One process may host several such schools
(``gateway.dev.runner`` mounts a second one under ``/library`` to show single sign-on).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path
from typing import Any
from typing import cast

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask
from flask import Response
from flask import abort
from flask import jsonify
from flask import render_template
from flask import request
from flask import session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

__all__ = ["SchoolLogin", "SchoolSessions", "SchoolSettings", "create_school_app"]

log = logging.getLogger(__name__)

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
SESSION_KEY = "school_sid"
CSRF_KEY = "school_csrf"
HTTP_TIMEOUT_SECONDS = 5.0
ACR_MFA = "urn:vhod:acr:esia-mfa"
"""What «Войти с подтверждением» asks for in ``acr_values``: ESIA plus vhod's factor."""
LOGOUT_TOKEN_MAX_AGE_SECONDS = 300
ID_TOKEN_ALGS = ("RS256", "ES256")
ERROR_TEXTS = {
    "access_denied": "Вход не разрешён или отменён.",
    "temporarily_unavailable": "Госуслуги или vhod временно недоступны. Попробуйте позже.",
    "login_required": "Нужно войти заново.",
    "consent_required": "Нужно ваше согласие на передачу данных.",
    "interaction_required": "Нужно продолжить вход в браузере.",
    "server_error": "Ошибка на стороне сервиса входа.",
}


@dataclass(frozen=True)
class SchoolSettings:
    """One demo school (a registered client of the gateway).

    :param issuer: the gateway's issuer (its discovery document is read from there).
    :param base_url: where this school is reached, without a trailing slash (with its
        mount prefix, e.g. ``http://127.0.0.1:8082/library``).
    :param secret_key: signs this school's session cookie.
    :param cookie_name: this school's cookie (schools, gateway and sandbox share a host).
    :param peers: other demo schools to link to, as ``(title, url)`` (to try SSO).
    """

    client_id: str
    client_secret: str
    issuer: str
    base_url: str
    title: str
    secret_key: bytes
    scope: str = "openid profile"
    child_scope: str = ""
    """The scope of «Войти за ребёнка» (``/login?child=1``); empty: no such button."""
    cookie_name: str = "demo_school"
    peers: tuple[tuple[str, str], ...] = ()

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/callback"

    @property
    def post_logout_redirect_uri(self) -> str:
        return f"{self.base_url}/signed-out"

    @property
    def backchannel_logout_uri(self) -> str:
        return f"{self.base_url}/backchannel-logout"


@dataclass(frozen=True)
class SchoolLogin:
    """What the school keeps about a signed-in person (server side)."""

    claims: dict[str, Any]
    id_token: str
    access_token: str
    refresh_token: str | None
    expires_at: float | None
    userinfo: dict[str, Any] | None
    refreshed: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def sid(self) -> str | None:
        value = self.claims.get("sid")
        return value if isinstance(value, str) else None

    @property
    def sub(self) -> str | None:
        value = self.claims.get("sub")
        return value if isinstance(value, str) else None


class SchoolSessions:
    """The school's own sessions, by a random key kept in its cookie."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logins: dict[str, SchoolLogin] = {}

    def create(self, login: SchoolLogin) -> str:
        key = secrets.token_urlsafe(24)
        with self._lock:
            self._logins[key] = login
        return key

    def get(self, key: str | None) -> SchoolLogin | None:
        if not key:
            return None
        with self._lock:
            return self._logins.get(key)

    def update(self, key: str, login: SchoolLogin) -> None:
        with self._lock:
            if key in self._logins:
                self._logins[key] = login

    def end(self, key: str | None) -> None:
        if key:
            with self._lock:
                self._logins.pop(key, None)

    def end_matching(self, sid: str | None, sub: str | None) -> int:
        """End every session of the gateway session ``sid`` (or of ``sub`` when no sid)."""
        with self._lock:
            doomed = [
                key
                for key, login in self._logins.items()
                if (sid is not None and login.sid == sid)
                or (sid is None and sub is not None and login.sub == sub)
            ]
            for key in doomed:
                del self._logins[key]
        return len(doomed)

    def __len__(self) -> int:
        with self._lock:
            return len(self._logins)


class LogoutTokenError(ValueError):
    """A back-channel logout token that must be refused (the reason is the message)."""


def verify_logout_token(
    token: str, jwks: dict[str, Any], issuer: str, client_id: str, now: float
) -> dict[str, Any]:
    """The claims of a valid logout token (Back-Channel Logout 1.0 §2.6).

    :raises LogoutTokenError: naming the first check that failed.
    """
    try:
        keys = KeySet.import_key_set(cast(Any, jwks))
        decoded = jwt.decode(token, keys, algorithms=list(ID_TOKEN_ALGS))
    except (JoseError, ValueError) as exc:
        raise LogoutTokenError("signature") from exc
    claims = dict(decoded.claims)
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    events = claims.get("events")
    iat = claims.get("iat")
    exp = claims.get("exp")
    if claims.get("iss") != issuer:
        raise LogoutTokenError("iss")
    if client_id not in audiences:
        raise LogoutTokenError("aud")
    if not isinstance(iat, int | float) or not (
        now - LOGOUT_TOKEN_MAX_AGE_SECONDS <= iat <= now + 60
    ):
        raise LogoutTokenError("iat")
    if exp is not None and (not isinstance(exp, int | float) or exp < now - 60):
        raise LogoutTokenError("exp")
    if not isinstance(events, dict) or BACKCHANNEL_EVENT not in events:
        raise LogoutTokenError("events")
    if "nonce" in claims:
        raise LogoutTokenError("nonce")
    if not isinstance(claims.get("sid"), str) and not isinstance(claims.get("sub"), str):
        raise LogoutTokenError("sid")
    return claims


def create_school_app(settings: SchoolSettings, sessions: SchoolSessions | None = None) -> Flask:
    """The demo school's WSGI app.

    :param sessions: the session store (tests pass their own to look inside).
    """
    app = Flask(
        f"demo_school_{settings.client_id}",
        template_folder=str(Path(__file__).parent / "templates"),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME=settings.cookie_name,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # show names as written
    store = sessions if sessions is not None else SchoolSessions()
    app.extensions["demo_school"] = store
    oauth = OAuth(app)
    vhod: Any = oauth.register(
        "vhod",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": settings.scope,
            "code_challenge_method": "S256",
            "timeout": HTTP_TIMEOUT_SECONDS,
        },
    )
    _SchoolViews(settings, store, vhod).register(app)
    return app


class _SchoolViews:
    """The pages of one demo school: its settings, its sessions and its OAuth client."""

    def __init__(self, settings: SchoolSettings, store: SchoolSessions, vhod: Any) -> None:
        self._settings = settings
        self._store = store
        self._vhod = vhod

    def register(self, app: Flask) -> None:
        app.add_url_rule("/", "home", self.home, methods=["GET"])
        app.add_url_rule("/login", "login", self.login, methods=["GET"])
        app.add_url_rule("/callback", "callback", self.callback, methods=["GET"])
        app.add_url_rule("/refresh", "refresh", self.refresh, methods=["POST"])
        app.add_url_rule("/logout", "logout", self.logout, methods=["POST"])
        app.add_url_rule("/signed-out", "signed_out", self.signed_out, methods=["GET"])
        app.add_url_rule(
            "/backchannel-logout", "backchannel_logout", self.backchannel_logout, methods=["POST"]
        )

    def _csrf_token(self) -> str:
        token = session.get(CSRF_KEY)
        if not isinstance(token, str):
            token = secrets.token_urlsafe(24)
            session[CSRF_KEY] = token
        return token

    def _check_csrf(self) -> None:
        sent = request.form.get("csrf_token", "")
        expected = session.get(CSRF_KEY)
        if not isinstance(expected, str) or not secrets.compare_digest(sent, expected):
            abort(400)

    def _current(self) -> tuple[str | None, SchoolLogin | None]:
        key = session.get(SESSION_KEY)
        key = key if isinstance(key, str) else None
        return key, self._store.get(key)

    def _page(self, template: str, status: int = 200, **context: Any) -> Response:
        body = render_template(
            template, school=self._settings, csrf_token=self._csrf_token(), **context
        )
        response = Response(body, status=status, mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
        return response

    def home(self) -> Response:
        _, login = self._current()
        if login is None:
            session.pop(SESSION_KEY, None)
        notice = request.args.get("notice")
        return self._page("school_home.html", login=login, notice=notice)

    def login(self) -> Any:
        extra = {"acr_values": ACR_MFA} if request.args.get("mfa") else {}
        if request.args.get("child") and self._settings.child_scope:
            extra["scope"] = self._settings.child_scope
        return self._vhod.authorize_redirect(self._settings.redirect_uri, **extra)

    def callback(self) -> Response:
        error = request.args.get("error")
        if error is not None:
            if request.args.get("iss") not in (None, self._settings.issuer):
                return self._page("school_error.html", 400, error="invalid_iss", text=None)
            return self._page(
                "school_error.html",
                400,
                error=error if error.isascii() and len(error) <= 64 else "error",
                text=ERROR_TEXTS.get(error),
            )
        if request.args.get("iss") != self._settings.issuer:  # RFC 9207 (vhod always sends iss)
            return self._page("school_error.html", 400, error="invalid_iss", text=None)
        try:
            token = self._vhod.authorize_access_token()
        except (OAuthError, requests.RequestException, JoseError, ValueError, KeyError) as exc:
            log.warning("demo school: login failed (%s)", type(exc).__name__)
            return self._page("school_error.html", 400, error="login_failed", text=None)
        claims = dict(token.get("userinfo") or {})
        userinfo: dict[str, Any] | None
        try:
            userinfo = dict(self._vhod.userinfo(token=token))
        except (OAuthError, requests.RequestException, ValueError):
            userinfo = None
        expires_at = token.get("expires_at")
        login = SchoolLogin(
            claims=claims,
            id_token=str(token["id_token"]),
            access_token=str(token["access_token"]),
            refresh_token=token.get("refresh_token"),
            expires_at=float(expires_at) if isinstance(expires_at, int | float) else None,
            userinfo=userinfo,
        )
        old_key, _ = self._current()
        self._store.end(old_key)
        session[SESSION_KEY] = self._store.create(login)
        return _see_other(f"{self._settings.base_url}/")

    def refresh(self) -> Response:
        self._check_csrf()
        key, login = self._current()
        if key is None or login is None:
            return _see_other(f"{self._settings.base_url}/")
        if login.refresh_token is None:
            return _see_other(f"{self._settings.base_url}/?notice=no_refresh")
        try:
            token = self._vhod.fetch_access_token(
                grant_type="refresh_token", refresh_token=login.refresh_token
            )
        except (OAuthError, requests.RequestException, ValueError):
            self._store.end(key)
            session.pop(SESSION_KEY, None)
            return _see_other(f"{self._settings.base_url}/?notice=refresh_failed")
        expires_at = token.get("expires_at")
        self._store.update(
            key,
            replace(
                login,
                access_token=str(token["access_token"]),
                refresh_token=token.get("refresh_token") or login.refresh_token,
                expires_at=float(expires_at) if isinstance(expires_at, int | float) else None,
                refreshed=login.refreshed + 1,
            ),
        )
        return _see_other(f"{self._settings.base_url}/?notice=refreshed")

    def logout(self) -> Any:
        self._check_csrf()
        key, login = self._current()
        self._store.end(key)
        session.pop(SESSION_KEY, None)
        if login is None:
            return _see_other(f"{self._settings.base_url}/")
        return self._vhod.logout_redirect(
            post_logout_redirect_uri=self._settings.post_logout_redirect_uri,
            id_token_hint=login.id_token,
        )

    def signed_out(self) -> Response:
        try:
            self._vhod.validate_logout_response()
        except OAuthError:
            return _see_other(f"{self._settings.base_url}/?notice=logout_state")
        return _see_other(f"{self._settings.base_url}/?notice=signed_out")

    def backchannel_logout(self) -> Response:
        token = request.form.get("logout_token", "")
        try:
            claims = verify_logout_token(
                token,
                self._vhod.fetch_jwk_set(),
                self._settings.issuer,
                self._settings.client_id,
                time.time(),
            )
        except LogoutTokenError as exc:
            log.warning("demo school: logout token refused (%s)", exc)
            response = jsonify({"error": "invalid_request"})
            response.status_code = 400
            response.headers["Cache-Control"] = "no-store"
            return response
        sid = claims.get("sid")
        sub = claims.get("sub")
        ended = self._store.end_matching(
            sid if isinstance(sid, str) else None, sub if isinstance(sub, str) else None
        )
        log.info("demo school: back-channel logout ended %d session(s)", ended)
        response = Response(status=200)
        response.headers["Cache-Control"] = "no-store"
        return response


def _see_other(location: str) -> Response:
    response = Response(status=303)
    response.headers["Location"] = location
    return response
