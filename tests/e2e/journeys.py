"""Steps the browser tests share: a sign-in at the demo school, what the page says."""

from __future__ import annotations

import re

from gateway.dev.runner import DevStack
from tests.helpers.browser import Person

SIGNED_IN = "Вы вошли"
RUSSIAN_DATE = re.compile(
    r"\b\d{1,2} (января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября"
    r"|ноября|декабря) \d{4} г\."
)


def sign_in_at_school(person: Person, stack: DevStack, persona: str, prefix: str = "") -> None:
    """School → «Войти через Госуслуги» → sandbox persona → (consent, if asked)."""
    person.open(f"{stack.school.url}{prefix}/")
    person.follow("Войти через Госуслуги")
    if person.at(stack.sandbox.url):
        person.esia_login(persona)
    if person.at(stack.config.server.issuer) and "/consent" in person.page.url:
        assert person.heading() == "Разрешить доступ к данным"
        person.click("Разрешить")


def approve_consent_if_asked(person: Person, stack: DevStack) -> None:
    if person.at(stack.config.server.issuer) and "/consent" in person.page.url:
        person.click("Разрешить")


def focused(person: Person) -> str:
    """The focused element: ``tag#id`` or ``tag «text»``."""
    return str(
        person.page.evaluate(
            "() => { const e = document.activeElement; return e.tagName.toLowerCase()"
            " + (e.id ? '#' + e.id : ' «' + (e.innerText || '').trim() + '»'); }"
        )
    )


def notice(person: Person) -> str:
    return str(person.page.locator(".notice").first.inner_text()).strip()
