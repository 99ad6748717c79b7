"""Languages and ESIA trouble in Chromium. Russian by default (also for a browser that
asks for neither language); English by ``Accept-Language`` and by the visible switch,
which keeps the page and is remembered; the page checks (``page_checks``) look for words
of the other language on each page. ESIA down (sandbox faults): the school hears
``temporarily_unavailable``; vhod's own sign-in (``/account``) shows its page about it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from gateway.dev.runner import DevStack
from tests.e2e.journeys import sign_in_at_school
from tests.helpers.browser import Person
from tests.helpers.browser import new_person
from tests.helpers.page_checks import PageAudit

pytestmark = pytest.mark.browser


@pytest.fixture
def people(browser: Any, audit: PageAudit) -> Iterator[Any]:
    made: list[Person] = []

    def make(locale: str) -> Person:
        made.append(new_person(browser, locale=locale, audit=audit))
        return made[-1]

    yield make
    for someone in made:
        someone.context.close()


def lang(person: Person) -> str:
    return str(person.page.evaluate("document.documentElement.lang"))


def to_consent(person: Person, stack: DevStack, persona: str) -> None:
    person.open(f"{stack.school.url}/")
    person.follow("Войти через Госуслуги")
    person.esia_login(persona)


@pytest.mark.parametrize("locale", ["ru-RU", "de-DE"])
def test_russian_by_default(people: Any, stack: DevStack, locale: str) -> None:
    person = people(locale)
    to_consent(person, stack, "parent" if locale == "ru-RU" else "parent_foreign")
    assert lang(person) == "ru"
    assert person.heading() == "Разрешить доступ к данным"
    switch = person.page.locator("header a.lang")
    assert switch.inner_text() == "English"
    assert switch.get_attribute("lang") == "en"


def test_english_by_accept_language(people: Any, stack: DevStack) -> None:
    person = people("en-US")
    to_consent(person, stack, "teen15")
    assert lang(person) == "en"
    assert person.heading() == "Allow access to your data"
    assert person.page.get_by_role("button", name="Allow", exact=True).is_visible()
    assert person.page.locator("header a.lang").inner_text() == "Русский"
    person.click("Allow")
    assert person.at(f"{stack.school.url}/")


def test_english_by_the_switch_keeps_the_page_and_is_remembered(
    people: Any, stack: DevStack
) -> None:
    person = people("ru-RU")
    to_consent(person, stack, "single")
    consent_url = person.page.url.split("?")[0]
    person.follow("English")
    assert person.page.url.split("?")[0] == consent_url
    assert lang(person) == "en"
    assert person.heading() == "Allow access to your data"
    person.click("Allow")  # the form's POST and the pages after it stay in English
    person.open(f"{stack.config.server.issuer}/account")
    assert person.heading() == "Your vhod account"
    person.follow("Русский")
    assert person.heading() == "Личный кабинет vhod"


def test_unconfirmed_account_page_in_english(people: Any, stack: DevStack) -> None:
    person = people("en-GB")
    to_consent(person, stack, "simplified")
    assert person.heading() == "A confirmed Gosuslugi account is needed"
    person.click("Go back")
    assert "access_denied" in person.text()


def set_faults(stack: DevStack, **faults: Any) -> None:
    answer = requests.post(f"{stack.sandbox.url}/sandbox/faults", json=faults, timeout=10)
    assert answer.status_code == 200, answer.text


def test_esia_down(people: Any, stack: DevStack) -> None:
    """Two failed token requests (under the circuit breaker's five)."""
    person = people("ru-RU")
    set_faults(stack, http_status=503, endpoints=["token"], remaining=1)
    try:
        to_consent(person, stack, "parent")
        assert person.at(f"{stack.school.url}/callback"), person.page.url
        assert "temporarily_unavailable" in person.text()
        set_faults(stack, http_status=503, endpoints=["token"], remaining=1)
        person.open(f"{stack.config.server.issuer}/account")
        person.esia_login("parent")
        assert person.at(stack.config.server.issuer), person.page.url
        assert person.heading() == "Госуслуги временно недоступны"
        assert "Повторите попытку через несколько минут" in person.text()
        assert "Чтобы вернуться в школьную систему" in person.page.locator("footer").inner_text()
    finally:
        requests.delete(f"{stack.sandbox.url}/sandbox/faults", timeout=10)
    sign_in_at_school(person, stack, "parent")  # and back to normal
    assert "Вы вошли" in person.text()


def test_pages_outside_a_journey(people: Any, stack: DevStack) -> None:
    """vhod's home, a missing page, a school's broken request, a login link opened in
    another browser and the admin area for a non-admin: each says what happened."""
    issuer = stack.config.server.issuer
    person = people("ru-RU")
    person.open(f"{issuer}/")
    assert "Госуслуги" in person.text()
    person.open(f"{issuer}/no-such-page")
    assert "Страница не найдена." in person.text()
    person.open(f"{issuer}/authorize?client_id=nobody&response_type=code")
    assert person.heading() == "Не удалось войти"
    assert "Школьная система отправила неправильный запрос на вход" in person.text()
    switch = person.page.locator("header a.lang")
    assert switch.get_attribute("href") == "/?lang=en"  # error pages echo nothing asked

    to_consent(person, stack, "parent_foreign")
    elsewhere = people("ru-RU")
    elsewhere.open(person.page.url)  # the consent link in another browser
    assert elsewhere.heading() == "Вход не удалось продолжить"
    assert "Вернитесь в школьную систему" in elsewhere.text()

    person.click("Разрешить")
    person.open(f"{issuer}/admin/")
    assert person.heading() == "Доступ запрещён"
