"""One gateway + ESIA sandbox pair for the module's tests; faults cleared around each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.features.esia_journey.browser import Browser
from tests.features.esia_journey.stack import JourneyStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JourneyStack]:
    running = JourneyStack(tmp_path_factory.mktemp("esia-journey"))
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _no_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    if "stack" not in request.fixturenames:
        yield
        return
    stack: JourneyStack = request.getfixturevalue("stack")
    stack.clear_faults()
    yield
    stack.clear_faults()


@pytest.fixture
def browser(stack: JourneyStack) -> Iterator[Browser]:
    opened = stack.browser()
    yield opened
    opened.close()
