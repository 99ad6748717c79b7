"""«Войти за ребёнка» in headless Chromium without JavaScript (issue 11 item 5): the child
choice is a plain form, the consent names the child, the school shows ``act``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gateway.dev.runner import DevStack
from tests.helpers.browser import Person
from tests.helpers.browser import claim_cell
from tests.helpers.browser import new_person

pytestmark = pytest.mark.browser


@pytest.fixture
def person(browser: Any) -> Iterator[Person]:
    someone = new_person(browser, javascript=False)
    yield someone
    someone.context.close()


def test_parent_picks_a_child_without_javascript(person: Person, stack: DevStack) -> None:
    person.open(f"{stack.school.url}/")
    person.follow("Войти за ребёнка")
    person.esia_login("parent")
    assert person.at(f"{stack.config.server.issuer}/login/"), person.page.url
    assert person.heading() == "За кого вы входите?"
    text = person.text()
    assert "Пётр" in text
    assert "Иван" in text
    assert "Мария" not in text
    person.click("Пётр")
    assert person.heading() == "Разрешить доступ к данным ребёнка"
    assert "Пётр" in person.text()
    person.click("Разрешить")
    assert person.at(f"{stack.school.url}/"), person.page.url
    assert "Вы вошли" in person.text()
    assert '"sub"' in claim_cell(person, "act")
