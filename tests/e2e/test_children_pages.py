"""The children's pages in Chromium: «Мои дети» after the parent's sign-in at the demo school,
the school search, the link application with a scanned certificate, «Мои заявки», a help
page, and the admin's review of the application (queue, detail, approve) — each page
checked at both sizes with axe like every page the browser tests reach."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from gateway.dev.runner import DevStack
from providers.upstream.esia_sandbox.personas import load_personas
from tests.e2e.journeys import sign_in_at_school
from tests.e2e.test_admin_pages import become_admin
from tests.helpers.browser import Person
from tests.helpers.browser import new_person
from tests.helpers.page_checks import PageAudit

pytestmark = pytest.mark.browser

LEV_SNILS = "100-200-306 36"


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 80), (240, 240, 230)).save(out, "JPEG")
    return out.getvalue()


def test_my_children_after_the_parents_sign_in(person: Person, stack: DevStack) -> None:
    sign_in_at_school(person, stack, "parent")
    person.open(f"{stack.config.server.issuer}/account/children")
    assert person.heading() == "Мои дети"
    text = person.text()
    assert "Пётр" in text
    assert "Иван" in text
    person.open(f"{stack.config.server.issuer}/schools/search?q=школа")
    assert person.heading() == "Поиск школы"
    assert "Школа № 1" in person.text()


def test_application_from_form_to_approval(
    person: Person, stack: DevStack, browser: Any, audit: PageAudit
) -> None:
    issuer = stack.config.server.issuer
    apply = f"{issuer}/account/children/apply?q=Школа ёлкина"
    person.open(apply)
    if person.at(stack.sandbox.url):
        person.esia_login("parent_foreign")
        person.open(apply)  # the search again, now signed in
    assert person.heading() == "Заявление о связи с ребёнком"
    lev = load_personas()["parent_foreign"].kids[0].record
    page = person.page
    page.get_by_role("radio").first.check()
    for field, value in (
        ("class_name", "4Б"),
        ("family_name", str(lev["lastName"])),
        ("given_name", str(lev["firstName"])),
        ("birthdate", str(lev["birthDate"])),
        ("snils", LEV_SNILS),
        ("snils_issued", str(lev["birthDate"])),
        ("certificate_series", "AB"),
        ("certificate_number", "1234567"),
        ("certificate_issued", str(lev["birthDate"])),
    ):
        page.fill(f"#{field}", value)
    page.select_option("#certificate_kind", "foreign")
    page.set_input_files(
        "#scan", {"name": "certificate.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}
    )
    person.click("Подать заявление")
    assert person.heading() == "Мои заявки"
    assert "в рассмотрении" in person.text()
    assert str(lev["firstName"]) in person.text()

    person.open(f"{issuer}/help/school_not_found")
    assert "8 800" in person.text()  # the region's support contacts

    admin = new_person(browser, audit=audit)
    try:
        become_admin(admin, stack, "parent")
        admin.open(f"{issuer}/admin/applications")
        assert admin.heading() == "Заявки"
        with admin.page.expect_navigation():
            admin.page.locator("table a").first.click()
        admin.arrived()
        admin.click("Одобрить")
        assert "Заявка одобрена, связь подтверждена." in admin.text()
    finally:
        admin.context.close()

    person.open(f"{issuer}/account/applications")
    assert "одобрено" in person.text()
    person.open(f"{issuer}/account/children")
    assert str(lev["firstName"]) in person.text()
