from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.journey import JourneyActions


@pytest.fixture
def actions(client: Any, services: Any) -> JourneyActions:
    journey_actions = JourneyActions(client, services)
    journey_actions.register_client("school")
    journey_actions.register_client("meals")
    return journey_actions
