"""Fixtures shared by several feature folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.app import create_app
from gateway.core.clock import FixedClock
from tests.helpers.journey import JourneyActions
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import real_backend_services


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ]
)
def race_kit(
    request: pytest.FixtureRequest, services: Any, tmp_path: Path, clock: FixedClock
) -> Iterator[OAuthKit]:
    """An OAuth test kit on the embedded default and on PostgreSQL + Redis, for the
    concurrency tests (T28 code redemption, T38 refresh)."""
    if request.param == "sqlite":
        app = create_app(services=services)
        app.testing = True
        yield OAuthKit(app.test_client(), services)
        return
    with real_backend_services(tmp_path / "pg", clock) as svc:
        app = create_app(services=svc)
        app.testing = True
        yield OAuthKit(app.test_client(), svc)


@pytest.fixture
def actions(client: Any, services: Any) -> JourneyActions:
    """A browser driving the journey, with the clients ``school`` and ``meals`` registered."""
    journey_actions = JourneyActions(client, services)
    journey_actions.register_client("school")
    journey_actions.register_client("meals")
    return journey_actions
