"""Fixtures for the second-factor journeys: an OAuth kit on the embedded default and on
PostgreSQL + Redis (SECURITY.md L, M: the factor step must hold on both)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.app import create_app
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient

SCOPES = ("openid", "profile", "email", "diary", "payments")


@pytest.fixture
def kit(race_kit: OAuthKit) -> OAuthKit:
    """The OAuth kit on the embedded default and on PostgreSQL + Redis (``race_kit``)."""
    return race_kit


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
