"""One ESIA sandbox for the whole ESIA feature suite; faults cleared after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.esia import EsiaSandbox
from tests.helpers.esia import start_sandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EsiaSandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("esia"))
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _no_faults(sandbox: EsiaSandbox) -> Iterator[None]:
    sandbox.clear_faults()
    yield
    sandbox.clear_faults()
