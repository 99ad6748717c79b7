"""Browser tests: the dev stack (gateway + ESIA sandbox + demo school; default config, so
admins need the second factor) on free ports in this process, and one headless Chromium
for the session; each test gets fresh people (browser contexts with their own cookies and
language)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gateway.config.loader import config_from_dict
from gateway.dev.runner import DevStack
from tests.helpers.browser import launch_chromium


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    playwright, chromium = launch_chromium()
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    data = tmp_path_factory.mktemp("e2e-stack") / "var"
    config = config_from_dict(
        {
            "server": {"data_dir": str(data)},
            "logging": {"level": "WARNING"},
        }
    )
    running = DevStack.start(config, "127.0.0.1", 0, 0, 0)
    yield running
    running.stop()
