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
from gateway.oauth.client_cache import ClientCache
from gateway.store.sql.uow import SqlUnitOfWorkFactory
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import basic

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


def test_a_change_on_one_node_counts_on_the_other_at_once(
    nodes: tuple[OAuthKit, OAuthKit],
) -> None:
    a, b = nodes
    # B looks the id up before it exists: "no such client" must not be remembered past
    # the registration.
    assert token_status(b, "school", "x" * 43) == 401
    school = a.register("school")
    assert token_status(b, "school", school.secret) == 200
    assert token_status(b, "school", school.secret) == 200  # now from B's cache

    disabled = a.update(school, disabled=True)
    assert token_status(b, "school", school.secret) == 401

    a.update(disabled, disabled=False, scopes=("openid",))
    response = b.client.post("/token", data=CC, headers=school.auth())
    b.assert_json_error(response, "invalid_scope")


def test_a_rotated_secret_counts_on_the_other_node_at_once(
    nodes: tuple[OAuthKit, OAuthKit],
) -> None:
    a, b = nodes
    school = a.register("school")
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
