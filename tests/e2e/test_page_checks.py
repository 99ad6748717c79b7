"""The page checks themselves (``tests.helpers.page_checks``): axe-core is there (CI
fails without it), and the checks catch what they promise on a page made broken on
purpose — so a green run means the pages hold up, not that nothing was looked at."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.dev.runner import DevStack
from tests.helpers.browser import Person
from tests.helpers.page_checks import PageAudit
from tests.helpers.page_checks import require_axe

pytestmark = pytest.mark.browser


def test_axe_core_is_installed(audit: PageAudit) -> None:
    require_axe()
    assert audit.axe is not None


BROKEN = """<!doctype html><html lang="ru"><head><title>x</title>
<link rel="stylesheet" href="/static/vhod.css"></head><body><main>
<h1>Подтвердите вход</h1><h3>Allow</h3>
<form><input name="code"><button style="padding:0;min-height:0">ok</button></form>
<div style="width:900px">wide</div></main></body></html>"""


def test_the_checks_fail_a_broken_page(person: Person, stack: DevStack, tmp_path: Any) -> None:
    """A field without a label, a skipped heading level, a 900 px block, a tiny button
    and an English word on a Russian page: each is reported."""
    issuer = stack.config.server.issuer
    person.page.route(
        f"{issuer}/broken",
        lambda route: route.fulfill(status=200, content_type="text/html", body=BROKEN),
    )
    checks = PageAudit(tmp_path, person.audit.axe if person.audit else None, _messages)
    person.page.goto(f"{issuer}/broken")
    with pytest.raises(AssertionError) as failed:
        checks.visit(person.page)
    report = str(failed.value)
    assert "360px: horizontal scroll" in report
    assert "a field without a label: input[name=code]" in report
    assert "heading order h1 → h3" in report
    assert "tap target" in report
    assert "English on a ru page: «Allow»" in report
    if checks.axe is not None:
        assert "axe critical label" in report
    assert (tmp_path / "001-ru-broken-360x740.png").exists()


def _messages() -> dict[str, dict[str, str]]:
    return {"ru": {"consent_approve": "Разрешить"}, "en": {"consent_approve": "Allow"}}
