"""Fixtures for the second-factor journeys: an OAuth kit on the embedded default and on
PostgreSQL + Redis (SECURITY.md L, M: the factor step must hold on both)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.app import create_app
from gateway.core.clock import FixedClock
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient
from tests.helpers.oauth import real_backend_services

SCOPES = ("openid", "profile", "email", "diary", "payments")


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ]
)
def kit(
    request: pytest.FixtureRequest, services: Any, tmp_path: Path, clock: FixedClock
) -> Iterator[OAuthKit]:
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
def local(services: Any) -> OAuthKit:
    """An OAuth kit on the embedded default only."""
    app = create_app(services=services)
    app.testing = True
    return OAuthKit(app.test_client(), services)


@pytest.fixture
def school(kit: OAuthKit) -> RegisteredClient:
    return kit.register("school", scopes=SCOPES)


@pytest.fixture
def local_school(local: OAuthKit) -> RegisteredClient:
    return local.register("school", scopes=SCOPES)
