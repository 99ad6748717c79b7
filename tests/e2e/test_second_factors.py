"""Every second factor there is, in Chromium against the dev stack: e-mail and SMS codes
(read from ``/dev/outbox``), TOTP enrolled on ``/account/factors`` with a code from
``pyotp``, recovery codes, and push approved by the reference device
(``providers.factors.device.Device`` over HTTP) — the push page continues by itself
(``static/factor-wait.js``) once the device approves. Each persona is used by one test."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from gateway.dev.runner import DevStack
from providers.factors.device import Device
from providers.factors.device import HttpDeviceTransport
from tests.e2e.journeys import RUSSIAN_DATE
from tests.e2e.journeys import approve_consent_if_asked
from tests.e2e.journeys import focused
from tests.e2e.journeys import notice
from tests.e2e.journeys import sign_in_at_school
from tests.helpers.browser import Person
from tests.helpers.browser import claim_cell

pytestmark = pytest.mark.browser

FACTOR_TITLE = "Подтвердите вход"


def start_confirmed_login(person: Person, stack: DevStack, persona: str | None = None) -> None:
    """«Войти с подтверждением» (signed in at the school already: its step-up link, the
    same ``/login?mfa=1``), through the sandbox for a ``persona``, to vhod's factor page."""
    if persona is None:
        person.open(f"{stack.school.url}/login?mfa=1")
    else:
        person.open(f"{stack.school.url}/")
        person.follow("Войти с подтверждением")
        assert person.at(stack.sandbox.url)
        person.esia_login(persona)
    assert person.heading() == FACTOR_TITLE, person.text()


def choose(person: Person, option: str) -> None:
    with person.page.expect_navigation():
        person.page.get_by_role("button", name=re.compile(f"^{re.escape(option)}")).click()
    person.arrived()


def outbox_code(person: Person, stack: DevStack, kind: str) -> str:
    answer = person.context.request.get(
        f"{stack.config.server.issuer}/dev/outbox?kind={kind}",
        headers={"Accept": "application/json"},
    )
    found = re.search(r"\b(\d{6})\b", answer.json()["messages"][-1]["text"])
    assert found is not None
    return found.group(1)


def test_email_code_wrong_then_right(person: Person, stack: DevStack) -> None:
    """``single`` has no verified mobile: only the e-mail code is on offer."""
    start_confirmed_login(person, stack, "single")
    options = person.page.locator("form.factor-options button")
    assert options.all_inner_texts() == ["Код на электронную почту (e…@example.test)"]
    assert person.page.get_by_role("button", name="Отменить вход и вернуться в школьную систему")
    choose(person, "Код на электронную почту")
    assert notice(person) == "Код отправлен. Он действует 5 минут."
    assert "Мы отправили код на адрес" in person.text()
    assert focused(person) == "input#code"  # the field to type into, ready
    person.page.fill("#code", "000000")
    person.click("Подтвердить")
    assert notice(person) == "Код не подошёл. Проверьте его или запросите новый."
    person.page.fill("#code", outbox_code(person, stack, "email"))
    person.click("Подтвердить")
    approve_consent_if_asked(person, stack)
    assert person.at(f"{stack.school.url}/"), person.page.url
    assert claim_cell(person, "amr") == "pwd, email, mfa"


def test_cancel_on_the_factor_page_goes_back_to_the_school(person: Person, stack: DevStack) -> None:
    start_confirmed_login(person, stack, "single")
    person.click("Отменить вход и вернуться в школьную систему")
    assert person.at(f"{stack.school.url}/callback"), person.page.url
    assert "access_denied" in person.text()


def test_totp_enrolment_recovery_codes_and_both_at_login(person: Person, stack: DevStack) -> None:
    issuer = stack.config.server.issuer
    sign_in_at_school(person, stack, "teen15")
    person.open(f"{issuer}/account/factors")
    assert person.heading() == "Способы подтверждения входа"
    assert "Пока ничего не подключено" in person.text()
    person.click("Приложение-аутентификатор")
    assert person.heading() == "Подключение приложения-аутентификатора"
    assert person.page.locator(".qr svg").count() == 1
    secret = person.page.locator("code.secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    assert focused(person) == "input#code"
    person.page.fill("#code", totp.now())
    person.click("Подтвердить")
    assert notice(person) == "Приложение-аутентификатор подключено."
    listed = person.page.locator("ul.factors li").first.inner_text()
    assert "Приложение-аутентификатор" in listed
    assert RUSSIAN_DATE.search(listed), listed  # «подключено 12 марта 2025 г., 10:30 МСК»

    # new recovery codes: a change, so vhod asks for the factor first (the app's next code)
    person.click("Создать новые резервные коды")
    assert person.heading() == FACTOR_TITLE
    choose(person, "Код из приложения-аутентификатора")
    person.page.fill("#code", totp.at(time.time() + 30))
    person.click("Подтвердить")
    if person.heading() != "Новые резервные коды":  # back on the list: press again
        person.click("Создать новые резервные коды")
    assert person.heading() == "Новые резервные коды"
    codes = person.page.locator("ol.codes code").all_inner_texts()
    assert len(codes) >= 5
    person.follow("Я сохранил коды")
    assert person.heading() == "Способы подтверждения входа"

    # sign out everywhere, then in again with a recovery code
    person.open(f"{stack.school.url}/")
    person.click("Выйти")
    start_confirmed_login(person, stack, "teen15")
    labels = person.page.locator("form.factor-options button").all_inner_texts()
    assert labels[0].startswith("Код из приложения-аутентификатора"), labels
    choose(person, "Резервный код")
    person.page.fill("#code", codes[0])
    person.click("Подтвердить")
    approve_consent_if_asked(person, stack)
    assert claim_cell(person, "amr") == "pwd, otp, mfa"  # RFC 8176 has no "recovery"


def test_push_page_continues_by_itself(person: Person, stack: DevStack) -> None:
    """Enrol the reference device on /account/factors, then approve a login on it: the
    page (polling with factor-wait.js) goes on to the school without a press."""
    issuer = stack.config.server.issuer
    sign_in_at_school(person, stack, "parent_foreign")
    device = enrol_device(person, issuer)
    start_confirmed_login(person, stack)  # signed in already: only the factor (step-up)
    choose(person, "Подтверждение в приложении на телефоне")
    number = int(person.page.locator(".number").inner_text())
    assert "Откройте приложение на телефоне и выберите там это число" in person.text()
    assert person.page.get_by_role("button", name="Я подтвердил — продолжить").is_visible()
    pending = device.pending()
    assert len(pending) == 1
    with person.page.expect_navigation(url=re.compile(f"^{re.escape(stack.school.url)}/")):
        assert device.approve(number) == "approved"  # (before connect-src 'self' in the
        # CSP, the page's status requests were blocked and it never went on)
    assert claim_cell(person, "amr") == "pwd, swk, mfa"  # RFC 8176: software-secured key


def enrol_device(person: Person, issuer: str) -> Device:
    person.open(f"{issuer}/account/factors")
    person.click("Телефон с приложением vhod")
    assert person.heading() == "Подключение телефона"
    token = person.page.locator("code.secret").inner_text().strip()
    device = Device(HttpDeviceTransport(issuer))
    device.enrol(token, label="Тестовый телефон")
    person.follow("Готово — к списку способов")
    assert "Тестовый телефон" in person.text()
    return device
