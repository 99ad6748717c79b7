"""Real-browser helpers: Debian's Chromium driven by Playwright for Python.

HTTP clients send no ``Origin``, no ``Sec-Fetch-*`` and keep no ``SameSite`` rules, so
they pass where people fail; these helpers put a real browser in front of the dev stack.
Chromium comes from the system (``/usr/bin/chromium``, or ``VHOD_CHROMIUM``), never from
Playwright's own download. Locally a missing browser skips with a clear message; under
``CI=true`` it fails (:func:`tests.helpers.backends.require`).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from typing import Any

from tests.helpers.backends import require
from tests.helpers.page_checks import PageAudit

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
TIMEOUT_MS = 15_000
DESKTOP = {"width": 1280, "height": 800}


def chromium_path() -> str | None:
    """The system Chromium, or ``None``."""
    explicit = os.environ.get("VHOD_CHROMIUM")
    if explicit:
        return explicit if os.path.exists(explicit) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium() -> tuple[Any, Any]:
    """Start Playwright and a headless Chromium: ``(playwright, browser)``.

    Skips (locally) or fails (CI) the calling test when either is missing.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - dev dependency
        require("browser", False, "the playwright package is not installed")
        raise
    path = chromium_path()
    require("browser", path is not None, "Debian's chromium is missing (apt install chromium)")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=path, headless=True, args=list(CHROMIUM_ARGS)
        )
    except Exception:
        playwright.stop()
        raise
    return playwright, browser


@dataclass
class Person:
    """One person at one browser (a fresh context: own cookies, own language). With an
    ``audit``, every vhod page this person reaches is checked (:mod:`page_checks`)."""

    context: Any
    page: Any
    audit: PageAudit | None = None
    scripts: bool = True

    def arrived(self) -> None:
        """Check the page just reached (called after every navigation of these helpers;
        call it after a navigation the page made by itself)."""
        if self.audit is not None:
            self.audit.visit(self.page, self.scripts)

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.arrived()

    def click(self, name: str, role: str = "button") -> None:
        """Press the visible control called ``name`` and wait for the next page."""
        with self.page.expect_navigation():
            self.page.get_by_role(role, name=name, exact=True).click()
        self.arrived()

    def follow(self, name: str) -> None:
        self.click(name, role="link")

    def text(self) -> str:
        return str(self.page.inner_text("body"))

    def heading(self) -> str:
        return str(self.page.locator("h1").first.inner_text())

    def esia_login(self, persona: str) -> None:
        """On the ESIA sandbox's page: pick ``persona`` and grant access."""
        self.page.check(f"input[name=persona][value={persona}]")
        self.click("Предоставить доступ и войти")

    def esia_cancel(self) -> None:
        self.click("Отмена")

    def at(self, url_prefix: str) -> bool:
        return str(self.page.url).startswith(url_prefix)

    def pass_code_factor(self, issuer: str, option: str = "Код в SMS", kind: str = "sms") -> str:
        """On vhod's factor page: pick ``option``, read the code from the dev outbox
        (``/dev/outbox`` as JSON, newest last) and confirm it; the code."""
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=re.compile(f"^{re.escape(option)}")).click()
        self.arrived()
        answer = self.context.request.get(
            f"{issuer}/dev/outbox?kind={kind}", headers={"Accept": "application/json"}
        )
        found = re.search(r"\b(\d{6})\b", answer.json()["messages"][-1]["text"])
        assert found is not None, "no code in the dev outbox"
        self.page.fill("input[name=code]", found.group(1))
        self.click("Подтвердить")
        return found.group(1)


def new_person(
    browser: Any,
    locale: str = "ru-RU",
    javascript: bool = True,
    audit: PageAudit | None = None,
) -> Person:
    context = browser.new_context(locale=locale, java_script_enabled=javascript, viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return Person(context, context.new_page(), audit, javascript)


def claim_cell(person: Person, name: str) -> str:
    """The value the demo school shows for ID-token claim ``name`` (first table)."""
    row = person.page.locator("tr", has=person.page.locator(f"th:text-is('{name}')")).first
    return re.sub(r"\s+", " ", str(row.locator("td").inner_text())).strip()
