"""The README's walks in headless Chromium against the dev stack: what a parent, a pupil
and an admin see, with the browser's own ``Origin``, ``Sec-Fetch-*`` and cookie rules.

Before the referrer-policy fix (issue 16) every form POST on vhod's pages carried
``Origin: null`` in Chromium and the consent, logout and admin forms were refused; the
tests below failed at the first «Разрешить».
"""

from __future__ import annotations

import pytest

from gateway.admin.invites import create_invite
from gateway.dev.runner import LIBRARY_PREFIX
from gateway.dev.runner import DevStack
from tests.e2e.journeys import SIGNED_IN
from tests.e2e.journeys import sign_in_at_school
from tests.helpers.browser import Person
from tests.helpers.browser import claim_cell

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("persona", ["parent", "teen15", "single"])
def test_persona_signs_in_at_the_school(person: Person, stack: DevStack, persona: str) -> None:
    person.open(f"{stack.school.url}/")
    person.follow("Войти через Госуслуги")
    assert person.at(stack.sandbox.url)
    person.esia_login(persona)
    assert person.at(f"{stack.config.server.issuer}/login/"), person.page.url
    assert person.heading() == "Разрешить доступ к данным"
    assert "Школа № 1" in person.text()
    person.click("Разрешить")
    assert person.at(f"{stack.school.url}/"), person.page.url
    assert SIGNED_IN in person.text()
    assert claim_cell(person, "acr") == "urn:vhod:acr:esia"
    assert claim_cell(person, "amr") == "pwd"
    assert "Userinfo не получен" not in person.text()


def test_unconfirmed_account_reaches_the_page_about_confirming(
    person: Person, stack: DevStack
) -> None:
    person.open(f"{stack.school.url}/")
    person.follow("Войти через Госуслуги")
    person.esia_login("standard")
    assert person.at(stack.config.server.issuer)
    assert person.heading() == "Нужна подтверждённая учётная запись Госуслуг"
    assert "МФЦ" in person.text()
    person.click("Вернуться")
    assert person.at(f"{stack.school.url}/callback"), person.page.url
    assert "access_denied" in person.text()


def test_deny_on_consent_returns_access_denied_to_the_school(
    person: Person, stack: DevStack
) -> None:
    person.open(f"{stack.school.url}/")
    person.follow("Войти через Госуслуги")
    person.esia_login("parent_foreign")
    assert person.heading() == "Разрешить доступ к данным"
    person.click("Отказать")
    assert person.at(f"{stack.school.url}/callback"), person.page.url
    assert "Войти не удалось" in person.text()
    assert "access_denied" in person.text()


def test_single_sign_on_at_the_library(person: Person, stack: DevStack) -> None:
    sign_in_at_school(person, stack, "parent")
    assert SIGNED_IN in person.text()
    person.open(f"{stack.school.url}{LIBRARY_PREFIX}/")
    assert SIGNED_IN not in person.text()
    person.follow("Войти через Госуслуги")
    # no ESIA step: straight to vhod's consent page for the second client
    assert person.at(f"{stack.config.server.issuer}/login/"), person.page.url
    assert "Школьная библиотека" in person.text()
    person.click("Разрешить")
    assert person.at(f"{stack.school.url}{LIBRARY_PREFIX}/")
    assert SIGNED_IN in person.text()


def test_logout_from_the_school_ends_every_session(person: Person, stack: DevStack) -> None:
    sign_in_at_school(person, stack, "single")
    sign_in_at_school(person, stack, "single", LIBRARY_PREFIX)
    person.open(f"{stack.school.url}/")
    person.click("Выйти")
    assert person.at(f"{stack.school.url}/"), person.page.url
    assert "Вы вышли из школьной системы и из vhod" in person.text()
    # back-channel logout ended the library's session too
    person.open(f"{stack.school.url}{LIBRARY_PREFIX}/")
    assert SIGNED_IN not in person.text()
    # and vhod's: a new login goes through ESIA again
    person.open(f"{stack.school.url}/")
    person.follow("Войти через Госуслуги")
    assert person.at(stack.sandbox.url)


def test_logout_confirmation_form_in_vhod(person: Person, stack: DevStack) -> None:
    sign_in_at_school(person, stack, "single")
    assert SIGNED_IN in person.text()
    person.open(f"{stack.config.server.issuer}/logout")
    assert "Вы хотите выйти из vhod?" in person.text()
    person.click("Выйти")
    assert person.heading() == "Вы вышли из vhod"
    person.open(f"{stack.school.url}/")  # the school learnt it by back-channel
    assert SIGNED_IN not in person.text()


def test_sandbox_cancel_returns_to_the_school(person: Person, stack: DevStack) -> None:
    person.open(f"{stack.school.url}/")
    person.follow("Войти через Госуслуги")
    person.esia_cancel()
    assert person.at(f"{stack.school.url}/callback")
    assert "access_denied" in person.text()


def test_parent_signs_in_with_confirmation(person: Person, stack: DevStack) -> None:
    """«Войти с подтверждением»: ESIA, «Код в SMS» with the code from /dev/outbox, consent;
    the school shows acr esia-mfa and amr with sms (consent: when not given earlier)."""
    issuer = stack.config.server.issuer
    person.open(f"{stack.school.url}/")
    person.follow("Войти с подтверждением")
    assert person.at(stack.sandbox.url)
    person.esia_login("parent")
    assert person.at(f"{issuer}/login/"), person.page.url
    assert person.heading() == "Подтвердите вход"
    person.pass_code_factor(issuer)
    if person.at(issuer):  # consent is asked once per person and school
        assert person.heading() == "Разрешить доступ к данным"
        person.click("Разрешить")
    assert person.at(f"{stack.school.url}/"), person.page.url
    assert claim_cell(person, "acr") == "urn:vhod:acr:esia-mfa"
    assert claim_cell(person, "amr") == "pwd, sms, mfa"


def test_admin_walk_and_policy_dry_run(person: Person, stack: DevStack) -> None:
    """With the default require_second_factor = true: invite → ESIA → SMS code → admin."""
    svc = stack.services
    issuer = stack.config.server.issuer
    token = create_invite(svc.uow, svc.clock, svc.pepper, 3600, "e2e")
    person.open(f"{issuer}/admin/invite?token={token}")
    person.follow("Войти через Госуслуги")
    person.esia_login("parent_foreign")
    assert person.heading() == "Подтвердите вход"
    person.pass_code_factor(issuer)
    assert person.at(f"{issuer}/admin/invite"), person.page.url
    person.click("Стать администратором")
    assert person.at(f"{issuer}/admin/"), person.page.url
    assert "Вход в администрирование выполнен" in person.text()
    assert "urn:vhod:acr:esia-mfa" not in person.text()  # never the refusal page
    person.open(f"{stack.config.server.issuer}/admin/policies")
    person.click("Пробный прогон")
    assert "Пробный прогон: проверено выдач" in person.text()
    assert "CSRF" not in person.text()


EVIL_ORIGIN = "http://evil.example"


def test_cross_site_form_post_is_refused(person: Person, stack: DevStack) -> None:
    """A page on another site posts the logout confirmation with a stolen-looking form:
    the browser marks it ``Sec-Fetch-Site: cross-site`` with a foreign ``Origin``."""
    sign_in_at_school(person, stack, "single")
    issuer = stack.config.server.issuer
    form = (
        f'<form method="post" action="{issuer}/logout/confirm">'
        '<input name="csrf_token" value="x"><button type="submit">Go</button></form>'
    )
    person.page.route(
        f"{EVIL_ORIGIN}/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=form),
    )
    person.open(f"{EVIL_ORIGIN}/page")
    person.click("Go")
    assert "Форма устарела или отправлена с другого сайта" in person.text()
    person.open(f"{stack.school.url}/")
    assert SIGNED_IN in person.text()  # still signed in: nothing changed


def test_account_page_revokes_a_consent(person: Person, stack: DevStack) -> None:
    sign_in_at_school(person, stack, "teen15")
    person.open(f"{stack.config.server.issuer}/account")
    assert person.heading() == "Личный кабинет vhod"
    row = person.page.locator("ul.consents li", has_text="Школа № 1")
    assert row.count() == 1
    with person.page.expect_navigation():
        row.get_by_role("button", name="Отозвать").click()
    assert person.heading() == "Личный кабинет vhod"
    assert person.page.locator("ul.consents li", has_text="Школа № 1").count() == 0
    # the next login at the school asks for consent again (vhod's SSO session stays)
    person.open(f"{stack.school.url}/login")
    assert person.heading() == "Разрешить доступ к данным"
