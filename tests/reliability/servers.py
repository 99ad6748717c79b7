"""Stores and clients for the tests that run real gateway processes: a migrated data
directory (SQLite) or a PostgreSQL schema of its own on the shared server (dropped after)
with the shared Redis under a random key prefix (deleted after); a client registered
with a secret; what is live in the database."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy

from gateway.admin.clients import register_client
from gateway.app import build_services
from gateway.config.loader import load_config
from gateway.core.factors import ACR_ESIA_MFA
from gateway.core.types import Client
from providers.factors.senders.outbox import DevOutbox
from tests.contract import databases
from tests.helpers.backends import require
from tests.helpers.gateway_process import base_config
from tests.helpers.gateway_process import code_in_text
from tests.helpers.gateway_process import write_config

SCOPES = ("openid", "profile", "email", "offline_access", "diary")


@dataclass
class Registered:
    client_id: str
    secret: str
    redirect_uri: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.client_id, self.secret)


@contextlib.contextmanager
def shared_backends() -> Iterator[dict[str, Any]]:
    """``[store]`` options for a PostgreSQL schema of our own and the shared Redis under
    a prefix of our own; both are cleaned after (skip locally, fail under CI=true)."""
    import redis

    from gateway.store.sql.engine import create_engine

    problem = databases.postgres_problem() or databases.redis_problem()
    require("postgresql+redis", problem is None, problem or "")
    schema = databases.new_name("rel")
    prefix = databases.new_name("rel")
    admin = create_engine(databases.postgres_url(), pool_size=1)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in databases.postgres_url() else "?"
    url = f"{databases.postgres_url()}{separator}options=-csearch_path%3D{schema}"
    try:
        yield {
            "database_url": url,
            "ephemeral_url": databases.redis_url(),
            "redis_prefix": prefix,
            "pool_size": 5,
        }
    finally:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
        client = redis.Redis.from_url(databases.redis_url())
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


def prepared_config(
    tmp_path: Path, port: int, store: dict[str, Any] | None = None, **sections: dict[str, Any]
) -> Path:
    """A config file for a served gateway, its stores migrated and keyed."""
    path = write_config(tmp_path / "vhod.toml", base_config(tmp_path, port, store, **sections))
    services = build_services(load_config(str(path)), prepare_stores=True)
    services.engine.dispose()
    return path


@contextlib.contextmanager
def services_of(config: Path) -> Iterator[Any]:
    """The services of ``config`` in this process (same stores as the server)."""
    services = build_services(load_config(str(config)))
    try:
        yield services
    finally:
        services.engine.dispose()


def register(config: Path, client_id: str = "school") -> Registered:
    redirect_uri = f"https://{client_id}.example/cb"
    with services_of(config) as svc:
        client = Client(
            client_id=client_id,
            redirect_uris=(redirect_uri,),
            scopes=SCOPES,
            grant_types=("authorization_code", "refresh_token"),
        )
        _, secret = register_client(svc.uow, svc.clock, svc.pepper, svc.config.scopes, client, None)
    assert secret is not None
    return Registered(client_id, secret, redirect_uri)


def code_grant(browser: Any, rc: Registered, code: str) -> dict[str, str]:
    """The token request redeeming ``code`` (``browser``: a ``HttpBrowser`` after login)."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rc.redirect_uri,
        "code_verifier": browser.verifier,
    }


def live_families(config: Path, client_id: str) -> list[tuple[str, int]]:
    """Grants of ``client_id`` not revoked, with their unused refresh tokens: each is a
    token set someone could still use."""
    with services_of(config) as svc, svc.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            sqlalchemy.text(
                "SELECT g.grant_id, COUNT(r.digest) FROM grants g"
                " LEFT JOIN refresh_tokens r ON r.grant_id = g.grant_id AND r.used_at IS NULL"
                " WHERE g.client_id = :c AND g.revoked_at IS NULL GROUP BY g.grant_id"
            ),
            {"c": client_id},
        ).all()
    return [(str(grant), int(count)) for grant, count in rows]


def sms_started(browser: Any, rc: Registered) -> Any:
    """A login asking for esia-mfa, through the fake upstream, with the SMS factor picked
    (``browser``: a ``HttpBrowser``); the page after the send."""
    page = browser.follow(browser.authorize(rc.client_id, rc.redirect_uri, acr_values=ACR_ESIA_MFA))
    factor = browser.fake_login(page)
    assert factor.url.endswith("/factor"), factor.url
    sent = browser.pick_factor(factor, "sms")
    assert sent.status_code == 200, sent.text[:300]
    return sent


def sms_codes(config: Path) -> list[str]:
    """The codes of the dev outbox's SMS messages, newest first."""
    with services_of(config) as svc:
        messages = DevOutbox(svc.ephemeral, svc.clock).messages("sms")
    return [code_in_text(m.text) for m in messages]
