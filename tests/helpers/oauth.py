"""OAuth test kit: register clients, build authorization requests, run the login through
the journey (``JourneyActions`` with the fake upstream), exchange codes, and assert the
shapes of answers — like node-oidc-provider's ``AuthorizationRequest`` and
``validateError`` helpers.

Usage::

    kit = OAuthKit(client, services)
    school = kit.register("school")
    tokens = kit.login_tokens(school)        # code flow end to end, returns the JSON
    kit.assert_json_error(response, "invalid_grant")
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import secrets
import shutil
import threading
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from gateway.admin.clients import register_client
from gateway.core.clock import FixedClock
from gateway.core.types import Client
from tests.helpers.journey import JourneyActions

ISSUER = "http://127.0.0.1:8080"
ALL_GRANTS = ("authorization_code", "refresh_token", "client_credentials")
ASCII_DESCRIPTION = frozenset(chr(c) for c in (0x20, 0x21, *range(0x23, 0x5C), *range(0x5D, 0x7F)))


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def redirect_uri_for(client_id: str) -> str:
    return f"https://{client_id}.example/cb"


def query_of(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query, keep_blank_values=True)


def unverified_claims(token: str) -> dict[str, Any]:
    segment = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return data


def unverified_header(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return data


@dataclass
class RegisteredClient:
    client: Client
    secret: str | None

    @property
    def client_id(self) -> str:
        return self.client.client_id

    @property
    def redirect_uri(self) -> str:
        return self.client.redirect_uris[0]

    def auth(self) -> dict[str, str]:
        """``client_secret_basic`` header."""
        assert self.secret is not None
        return basic(self.client_id, self.secret)


@dataclass
class Authorized:
    """A code obtained through the journey, with what the token request needs."""

    code: str
    verifier: str
    state: str
    nonce: str
    location: str


class OAuthKit:
    def __init__(self, client: Any, services: Any) -> None:
        self.client = client
        self.services = services
        self.journey = JourneyActions(client, services)

    # ------------------------------------------------------------ clients

    def register(
        self,
        client_id: str = "school",
        *,
        scopes: tuple[str, ...] = ("openid", "profile", "email", "offline_access", "diary"),
        grant_types: tuple[str, ...] = (
            "authorization_code",
            "refresh_token",
            "client_credentials",
        ),
        secret: str | None = None,
        **fields: Any,
    ) -> RegisteredClient:
        fields.setdefault("redirect_uris", (redirect_uri_for(client_id),))
        client = Client(client_id=client_id, scopes=scopes, grant_types=grant_types, **fields)
        stored, plain = register_client(
            self.services.uow,
            self.services.clock,
            self.services.pepper,
            self.services.config.scopes,
            client,
            secret,
        )
        return RegisteredClient(stored, plain)

    def update(self, registered: RegisteredClient, **changes: Any) -> RegisteredClient:
        updated = dataclasses.replace(registered.client, **changes)
        with self.services.uow() as uow:
            uow.clients.update(updated)
            uow.commit()
        return RegisteredClient(updated, registered.secret)

    # ------------------------------------------------------------ authorization

    def authorize_params(self, rc: RegisteredClient, **overrides: str | None) -> dict[str, str]:
        verifier, challenge = pkce_pair()
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": rc.client_id,
            "redirect_uri": rc.redirect_uri,
            "scope": "openid profile",
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        self.verifier = verifier
        return {k: v for k, v in params.items() if v is not None}

    def get_authorize(self, rc: RegisteredClient, **overrides: str | None) -> Any:
        return self.client.get("/authorize?" + urlencode(self.authorize_params(rc, **overrides)))

    def login(
        self,
        rc: RegisteredClient,
        persona: str = "parent",
        *,
        factor: str = "sms",
        **overrides: str | None,
    ) -> Authorized:
        """Run the whole login (fake upstream, the second factor ``factor`` when the
        factor page shows up — codes from the dev outbox —, consent) and return the code."""
        params = self.authorize_params(rc, **overrides)
        verifier = self.verifier
        first = self.client.get("/authorize?" + urlencode(params))
        response = self.journey.login_via_fake(persona, response=first)
        if response.status_code == 200 and response.request.path.endswith("/factor"):
            response = self.journey.pass_factor(response, factor)
        if response.status_code == 200 and response.request.path.endswith("/consent"):
            response = self.journey.give_consent(response)
        assert response.status_code == 303, response.status_code
        location = response.headers["Location"]
        query = query_of(location)
        assert "code" in query, location
        return Authorized(
            code=query["code"][0],
            verifier=verifier,
            state=params.get("state", ""),
            nonce=params.get("nonce", ""),
            location=location,
        )

    # ------------------------------------------------------------ token endpoint

    def exchange(
        self,
        rc: RegisteredClient,
        authorized: Authorized,
        *,
        headers: dict[str, str] | None = None,
        **overrides: str | None,
    ) -> Any:
        data: dict[str, str | None] = {
            "grant_type": "authorization_code",
            "code": authorized.code,
            "redirect_uri": rc.redirect_uri,
            "code_verifier": authorized.verifier,
        }
        data.update(overrides)
        body = {k: v for k, v in data.items() if v is not None}
        return self.client.post(
            "/token", data=body, headers=rc.auth() if headers is None else headers
        )

    def login_tokens(self, rc: RegisteredClient, **overrides: str | None) -> dict[str, Any]:
        response = self.exchange(rc, self.login(rc, **overrides))
        assert response.status_code == 200, response.get_data(as_text=True)
        body: dict[str, Any] = response.get_json()
        return body

    def refresh(self, rc: RegisteredClient, refresh_token: str, **extra: str) -> Any:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
        return self.client.post("/token", data=data, headers=rc.auth())

    def introspect(self, rc: RegisteredClient, token: str, **extra: str) -> Any:
        return self.client.post("/introspect", data={"token": token, **extra}, headers=rc.auth())

    def userinfo(self, access_token: str) -> Any:
        return self.client.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})

    # ------------------------------------------------------------ JWTs

    def jwks(self) -> KeySet:
        return KeySet.import_key_set(self.services.keys.public_jwks())

    def verify(self, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Header and claims of a JWT verified against the published JWKS."""
        header = unverified_header(token)
        decoded = jwt.decode(token, self.jwks(), algorithms=[header["alg"]])
        return dict(decoded.header), dict(decoded.claims)

    # ------------------------------------------------------------ assertions

    @staticmethod
    def assert_json_error(response: Any, error: str, status: int = 400) -> dict[str, Any]:
        assert response.status_code == status, (response.status_code, response.get_data())
        assert response.mimetype == "application/json"
        assert response.headers["Cache-Control"] == "no-store"
        body: dict[str, Any] = response.get_json()
        assert body["error"] == error, body
        assert set(body.get("error_description", "")) <= ASCII_DESCRIPTION
        return body

    @staticmethod
    def assert_error_redirect(
        response: Any, redirect_uri: str, error: str, state: str | None
    ) -> dict[str, list[str]]:
        """An error redirect (RFC 6749 §4.1.2.1): to the registered URI, ``error``,
        ASCII ``error_description``, exactly one ``iss`` and the exact ``state``."""
        assert response.status_code in (302, 303), (response.status_code, response.get_data())
        location = response.headers["Location"]
        assert location.startswith(redirect_uri + "?"), location
        query = query_of(location)
        assert query["error"] == [error], query
        assert "code" not in query
        assert query["iss"] == [ISSUER]
        assert set(query["error_description"][0]) <= ASCII_DESCRIPTION
        if state is None:
            assert "state" not in query
        else:
            assert query["state"] == [state]
        return query

    @staticmethod
    def assert_error_page(response: Any, status: int = 400) -> None:
        """vhod's own error page: no redirect at all (T5, T6)."""
        assert response.status_code == status, (response.status_code, response.get_data())
        assert "Location" not in response.headers
        assert response.mimetype == "text/html"


# ---------------------------------------------------------------- fixtures
# Feature folders re-export these from their conftest (``from tests.helpers.oauth import
# kit as kit``).


@pytest.fixture
def kit(client: Any, services: Any) -> OAuthKit:
    return OAuthKit(client, services)


@pytest.fixture
def school(kit: OAuthKit) -> RegisteredClient:
    return kit.register("school")


@pytest.fixture
def other(kit: OAuthKit) -> RegisteredClient:
    return kit.register("other")


_TEMPLATE: list[Path] = []
"""The template directory, shared by every feature folder that imports the fixture."""


@pytest.fixture(scope="session")
def oauth_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated data directory with signing keys and dev secrets, made once per session:
    copying it is much faster than generating RSA keys for every test."""
    from gateway.app import build_services
    from tests.conftest import make_config

    if _TEMPLATE:
        return _TEMPLATE[0]
    base = tmp_path_factory.mktemp("oauth-template")
    svc = build_services(make_config(base), FixedClock(), prepare_stores=True)
    svc.engine.dispose()
    _TEMPLATE.append(base / "var")
    return base / "var"


@pytest.fixture
def services(config: Any, clock: FixedClock, oauth_template: Path) -> Iterator[Any]:
    """The shared ``services`` fixture, started from :func:`oauth_template`."""
    from gateway.app import build_services
    from gateway.config.loader import data_dir

    shutil.copytree(oauth_template, data_dir(config), dirs_exist_ok=True)
    svc = build_services(config, clock, prepare_stores=True)
    yield svc
    svc.engine.dispose()


# ---------------------------------------------------------------- real backends


@contextmanager
def real_backend_services(tmp_path: Path, clock: FixedClock) -> Iterator[Any]:
    """Services over PostgreSQL (a fresh schema, dropped after) and Redis (a random key
    prefix, deleted after), for the race tests; skips locally (fails under CI=true)
    when either is unreachable."""
    import redis
    import sqlalchemy

    from gateway.app import build_services
    from gateway.store.sql.engine import create_engine
    from tests.conftest import make_config
    from tests.contract import databases
    from tests.helpers.backends import require

    problem = databases.postgres_problem()
    require("postgresql", problem is None, problem or "")
    problem = databases.redis_problem()
    require("redis", problem is None, problem or "")
    schema = databases.new_name("oauth")
    prefix = databases.new_name("oauth")
    admin = create_engine(databases.postgres_url(), pool_size=1)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in databases.postgres_url() else "?"
    url = f"{databases.postgres_url()}{separator}options=-csearch_path%3D{schema}"
    config = make_config(
        tmp_path,
        store={
            "database_url": url,
            "ephemeral_url": databases.redis_url(),
            "redis_prefix": prefix,
            "pool_size": 30,
        },
    )
    svc = build_services(config, clock, prepare_stores=True)
    try:
        yield svc
    finally:
        svc.engine.dispose()
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
        client = redis.Redis.from_url(databases.redis_url())
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


def race(app: Any, count: int, request: Callable[[Any], Any]) -> list[Any]:
    """Run ``request(test_client)`` in ``count`` threads released together by a barrier."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        client = app.test_client()
        barrier.wait()
        try:
            results[index] = request(client)
        except BaseException as error:  # surfaced by the caller's assertions
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results
