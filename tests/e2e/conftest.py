"""Browser tests: the dev stack (gateway + ESIA sandbox + demo school; default config, so
admins need the second factor) on free ports in this process, once per module, and one
headless Chromium for the session; each test gets fresh people (browser contexts with
their own cookies and language). Every vhod page they reach is checked once per session
(``tests.helpers.page_checks``: phone and desktop layout, axe-core, language); the
screenshots go to ``$VHOD_SCREENSHOTS`` or ``var/screenshots`` under pytest's temporary
directory (the path is printed at the end of the run)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config.loader import config_from_dict
from gateway.dev.runner import DevStack
from gateway.http.i18n import catalogue
from tests.helpers.browser import Person
from tests.helpers.browser import launch_chromium
from tests.helpers.browser import new_person
from tests.helpers.page_checks import PageAudit
from tests.helpers.page_checks import axe_source

SCREENSHOTS: list[Path] = []


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    playwright, chromium = launch_chromium()
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture(scope="session")
def audit(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageAudit]:
    explicit = os.environ.get("VHOD_SCREENSHOTS")
    default = tmp_path_factory.getbasetemp() / "var" / "screenshots"
    folder = Path(explicit) if explicit else default
    folder.mkdir(parents=True, exist_ok=True)
    checks = PageAudit(folder, axe_source(), catalogue)
    SCREENSHOTS.append(folder)
    yield checks
    checks.write_index()


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


@pytest.fixture
def person(browser: Any, audit: PageAudit) -> Iterator[Person]:
    someone = new_person(browser, audit=audit)
    yield someone
    someone.context.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for folder in SCREENSHOTS:
        terminalreporter.write_line(f"browser screenshots (360 px and 1280 px): {folder}")
