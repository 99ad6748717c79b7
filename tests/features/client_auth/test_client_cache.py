"""Clients are cached per process (``gateway.oauth.client_cache``); a change made anywhere —
another node, the CLI, the admin API — counts at once everywhere (SECURITY.md T97).

Two nodes here are two service containers over the same stores (their own client caches),
on the embedded default and on PostgreSQL + Redis.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.app import build_services
from gateway.app import create_app
from gateway.core.clock import FixedClock
from gateway.core.types import TokenFormat
from gateway.oauth.client_cache import ClientCache
from gateway.oauth.records import NS_ACCESS_TOKEN
from gateway.store.sql.uow import SqlUnitOfWorkFactory
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import basic
from tests.helpers.store_calls import count_store_calls

CC = {"grant_type": "client_credentials", "scope": "diary"}


@pytest.fixture
def nodes(race_kit: OAuthKit, clock: FixedClock) -> Iterator[tuple[OAuthKit, OAuthKit]]:
    """Node A (where changes are made; ``race_kit``, on both backends) and node B (which
    serves the tokens): services of their own over the same stores."""
    other = build_services(race_kit.services.config, clock)
    app = create_app(services=other)
    app.testing = True
    try:
        yield race_kit, OAuthKit(app.test_client(), other)
    finally:
        other.engine.dispose()


def token_status(kit: OAuthKit, client_id: str, secret: str) -> int:
    response = kit.client.post("/token", data=CC, headers=basic(client_id, secret))
    return int(response.status_code)


FORMATS = pytest.mark.parametrize("token_format", list(TokenFormat))
"""Opaque tokens: B authenticates against its cache and checks the version with the
token's write (``gateway.oauth.deferred``); JWTs: B reads the version first."""


@FORMATS
def test_a_change_on_one_node_counts_on_the_other_at_once(
    nodes: tuple[OAuthKit, OAuthKit], token_format: TokenFormat
) -> None:
    a, b = nodes
    # B looks the id up before it exists: "no such client" must not be remembered past
    # the registration.
    assert token_status(b, "school", "x" * 43) == 401
    school = a.register("school", token_format=token_format)
    assert token_status(b, "school", school.secret) == 200
    assert token_status(b, "school", school.secret) == 200  # now from B's cache

    disabled = a.update(school, disabled=True)
    assert token_status(b, "school", school.secret) == 401

    a.update(disabled, disabled=False, scopes=("openid",))
    response = b.client.post("/token", data=CC, headers=school.auth())
    b.assert_json_error(response, "invalid_scope")


@FORMATS
def test_a_rotated_secret_counts_on_the_other_node_at_once(
    nodes: tuple[OAuthKit, OAuthKit], token_format: TokenFormat
) -> None:
    a, b = nodes
    school = a.register("school", token_format=token_format)
    assert token_status(b, "school", school.secret) == 200
    new = a.register("other")  # a second secret, moved onto the first client below
    a.update(school, secret_digest=new.client.secret_digest)
    assert token_status(b, "school", school.secret) == 401
    assert token_status(b, "school", new.secret) == 200


def test_a_change_whose_version_was_not_moved_lives_at_most_max_age(
    services: Any, clock: FixedClock
) -> None:
    """The bound when the ephemeral store could not take the version increment: a write
    without the hook (as if the increment had failed) shows after ``max_age``."""
    kit = OAuthKit(create_app(services=services).test_client(), services)
    school = kit.register("school")
    now = [1000.0]
    cache = ClientCache(services.oauth.ctx, max_age=30, monotonic=lambda: now[0])
    version = cache.version()
    seen = cache.get("school", version)
    assert seen is not None
    assert not seen.disabled
    no_hook = SqlUnitOfWorkFactory(services.engine)
    with no_hook() as uow:
        uow.clients.update(dataclasses.replace(school.client, disabled=True))
        uow.commit()
    assert cache.version() == version
    now[0] += 29
    cached = cache.get("school", version)
    assert cached is not None
    assert not cached.disabled
    now[0] += 2
    fresh = cache.get("school", version)
    assert fresh is not None
    assert fresh.disabled


def test_an_opaque_token_for_a_cached_client_is_one_round_trip(
    kit: OAuthKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token's record is written and the throttle counter and client-table version
    read in one call; the token works."""
    school = kit.register("school", token_format=TokenFormat.OPAQUE, introspection_allowed=True)
    assert token_status(kit, "school", school.secret) == 200  # the client now cached
    calls = count_store_calls(kit.services.ephemeral, monkeypatch)
    response = kit.client.post("/token", data=CC, headers=school.auth())
    assert response.status_code == 200
    assert calls == ["put_and_get_many"]
    monkeypatch.undo()
    token = response.get_json()["access_token"]
    assert kit.introspect(school, token).get_json()["active"] is True


def test_a_stale_assumption_leaves_no_token_behind(
    nodes: tuple[OAuthKit, OAuthKit], monkeypatch: pytest.MonkeyPatch
) -> None:
    """B's cached client is disabled on A: B's attempt writes a record, sees the new
    version in the same round trip, deletes the record and answers from fresh reads."""
    a, b = nodes
    school = a.register("school", token_format=TokenFormat.OPAQUE)
    assert token_status(b, "school", school.secret) == 200
    a.update(school, disabled=True)
    written: list[str] = []
    deleted: list[str] = []
    store = b.services.ephemeral
    put_and_get_many, delete = store.put_and_get_many, store.delete

    def spy_write(item: Any, keys: Any) -> Any:
        written.append(item[1])
        return put_and_get_many(item, keys)

    def spy_delete(namespace: str, key: str) -> bool:
        if namespace == NS_ACCESS_TOKEN:
            deleted.append(key)
        return bool(delete(namespace, key))

    monkeypatch.setattr(store, "put_and_get_many", spy_write)
    monkeypatch.setattr(store, "delete", spy_delete)
    assert token_status(b, "school", school.secret) == 401
    assert len(written) == 1
    assert deleted == written
    assert store.get(NS_ACCESS_TOKEN, written[0]) is None


def test_a_throttled_opaque_client_counts_each_failure_once(kit: OAuthKit, services: Any) -> None:
    """The throttle (T32) as for any client, with the client cached: each wrong secret
    counts once, the attacker's address is refused even with the right secret, the real
    client keeps working from elsewhere."""
    school = kit.register("school", token_format=TokenFormat.OPAQUE)
    assert token_status(kit, "school", school.secret) == 200  # the client now cached
    limit = services.config.oauth.client_auth_failures_per_minute
    attacker = {"REMOTE_ADDR": "203.0.113.7"}
    wrong = basic("school", "wrong-" + "x" * 40)
    statuses = [
        kit.client.post("/token", data=CC, headers=wrong, environ_base=attacker).status_code
        for _ in range(limit + 2)
    ]
    assert statuses == [401] * limit + [429] * 2
    blocked = kit.client.post("/token", data=CC, headers=school.auth(), environ_base=attacker)
    assert blocked.status_code == 429
    real = kit.client.post(
        "/token", data=CC, headers=school.auth(), environ_base={"REMOTE_ADDR": "198.51.100.1"}
    )
    assert real.status_code == 200


def test_a_client_that_failed_lately_is_checked_before_its_secret(
    kit: OAuthKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a failure the throttle counter is read before the secret is evaluated, for
    the rest of the window (no deferral)."""
    school = kit.register("school", token_format=TokenFormat.OPAQUE)
    assert token_status(kit, "school", school.secret) == 200
    assert token_status(kit, "school", "wrong-" + "x" * 40) == 401
    calls = count_store_calls(kit.services.ephemeral, monkeypatch)
    assert token_status(kit, "school", school.secret) == 200
    assert calls == ["get_many", "put"]
