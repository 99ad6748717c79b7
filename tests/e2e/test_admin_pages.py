"""The admin side in Chromium: the invite, then every admin page a person can open from
the navigation — clients (register one with the form, open it), access rules (dry run,
apply a version), explain, consents, people, audit (dates in Russian), keys (rotate) — and
the same pages in English through the visible switch."""

from __future__ import annotations

import pytest

from gateway.admin.invites import create_invite
from gateway.dev.runner import DevStack
from tests.e2e.journeys import RUSSIAN_DATE
from tests.e2e.journeys import notice
from tests.e2e.journeys import sign_in_at_school
from tests.helpers.browser import Person

pytestmark = pytest.mark.browser

NAV_RU = (
    "Администрирование vhod",
    "Клиенты",
    "Правила доступа",
    "Объяснить решение",
    "Согласия",
    "Люди",
    "Заявки",
    "Журнал аудита",
    "Ключи подписи",
)
NAV_EN = (
    "vhod administration",
    "Clients",
    "Access rules",
    "Explain a decision",
    "Consents",
    "People",
    "Applications",
    "Audit log",
    "Signing keys",
)


def go(person: Person, name: str) -> None:
    """Follow the admin navigation's link ``name``."""
    with person.page.expect_navigation():
        person.page.locator("nav.admin-nav").get_by_role("link", name=name, exact=True).click()
    person.arrived()


def become_admin(person: Person, stack: DevStack, persona: str) -> None:
    svc = stack.services
    issuer = stack.config.server.issuer
    token = create_invite(svc.uow, svc.clock, svc.pepper, 3600, "e2e")
    person.open(f"{issuer}/admin/invite?token={token}")
    assert person.heading() == "Приглашение администратора"
    person.follow("Войти через Госуслуги")
    person.esia_login(persona)
    assert person.heading() == "Подтвердите вход"
    person.pass_code_factor(issuer)
    assert person.heading() == "Приглашение администратора"
    person.click("Стать администратором")
    assert person.heading() == "Вход в администрирование выполнен"


def test_every_admin_page(person: Person, stack: DevStack) -> None:
    sign_in_at_school(person, stack, "teen15")  # a consent and audit events to look at
    person.open(f"{stack.school.url}/")
    person.click("Выйти")
    become_admin(person, stack, "parent")
    person.follow("Продолжить")
    assert person.heading() == "Администрирование vhod"
    nav = person.page.locator("nav.admin-nav a")
    assert tuple(nav.all_inner_texts()) == NAV_RU

    go(person, "Клиенты")
    assert person.heading() == "Клиенты"
    assert person.page.get_by_role("link", name="demo-school").is_visible()
    person.page.get_by_label("Идентификатор клиента").fill("e2e-diary")
    person.page.get_by_label("Название").fill("Дневник для проверки")
    person.page.get_by_label("Адреса возврата (по одному в строке)").fill(
        "https://diary.example/cb"
    )
    person.click("Зарегистрировать клиента")
    assert "Секрет клиента (показывается один раз" in person.text()
    assert "Дневник для проверки" in person.heading()

    go(person, "Правила доступа")
    person.click("Пробный прогон")
    assert "Пробный прогон: проверено выдач" in notice(person)
    person.page.get_by_label("Комментарий").fill("проверка из браузера")
    person.click("Применить")
    history = person.page.locator("table").last.inner_text()
    assert "проверка из браузера" in history
    assert RUSSIAN_DATE.search(history), history

    go(person, "Объяснить решение")
    person.page.get_by_label("Идентификатор клиента").fill("demo-school")
    person.page.get_by_label("Субъект").fill("nobody")
    person.click("Объяснить решение")
    assert person.page.locator("h2, .problems").count() >= 1, person.text()

    go(person, "Согласия")
    row = person.page.locator("tr", has_text="demo-school").first
    assert RUSSIAN_DATE.search(row.inner_text())
    row.locator("a").first.click()
    person.page.wait_for_load_state()
    person.arrived()
    assert person.heading() == "Люди"
    assert person.page.locator("h2 code").count() == 1

    go(person, "Заявки")
    assert person.heading() == "Заявки"
    assert "Очередь пуста." in person.text()

    go(person, "Журнал аудита")
    events = person.page.locator("table").inner_text()
    assert "consent.granted" in events
    assert RUSSIAN_DATE.search(events), events[:300]
    person.follow("Проверить цепочку журнала")
    assert "Цепочка цела, событий" in person.text()

    go(person, "Ключи подписи")
    before = person.page.locator("tbody tr, table tr").count()
    person.click("Сменить ключи")
    assert person.page.locator("tbody tr, table tr").count() > before

    # the same pages in English, by the switch in the header
    person.follow("English")
    assert person.heading() == "Signing keys"
    assert person.page.evaluate("document.documentElement.lang") == "en"
    assert tuple(person.page.locator("nav.admin-nav a").all_inner_texts()) == NAV_EN
    for name in NAV_EN[1:8]:
        go(person, name)  # each page checked in English (language mixing included)
        assert person.heading() == name
    person.follow("Русский")
    assert person.heading() == "Журнал аудита"
