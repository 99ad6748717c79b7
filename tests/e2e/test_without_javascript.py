"""The main journeys again with JavaScript off in the browser (its own dev stack): the
README's walks (``test_browser_journeys``) and the push factor, where the person presses
«Я подтвердил — продолжить» after approving on the device."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.dev.runner import DevStack
from providers.factors.device import Device
from providers.factors.device import HttpDeviceTransport
from tests.e2e import test_browser_journeys as journeys
from tests.e2e.journeys import notice
from tests.e2e.journeys import sign_in_at_school
from tests.helpers.browser import Person
from tests.helpers.browser import claim_cell
from tests.helpers.browser import new_person
from tests.helpers.page_checks import PageAudit

pytestmark = pytest.mark.browser

# the README's walks, in this order (the first sign-in of each persona asks for consent)
test_persona_signs_in_at_the_school = journeys.test_persona_signs_in_at_the_school
test_unconfirmed_account = journeys.test_unconfirmed_account_reaches_the_page_about_confirming
test_single_sign_on_at_the_library = journeys.test_single_sign_on_at_the_library
test_logout_from_the_school = journeys.test_logout_from_the_school_ends_every_session
test_logout_confirmation_form = journeys.test_logout_confirmation_form_in_vhod
test_parent_signs_in_with_confirmation = journeys.test_parent_signs_in_with_confirmation
test_admin_walk_and_policy_dry_run = journeys.test_admin_walk_and_policy_dry_run


@pytest.fixture
def person(browser: Any, audit: PageAudit) -> Iterator[Person]:
    someone = new_person(browser, javascript=False, audit=audit)
    yield someone
    someone.context.close()


def test_push_with_the_button(person: Person, stack: DevStack) -> None:
    issuer = stack.config.server.issuer
    sign_in_at_school(person, stack, "single")
    person.open(f"{issuer}/account/factors")
    person.click("Телефон с приложением vhod")
    device = Device(HttpDeviceTransport(issuer))
    device.enrol(person.page.locator("code.secret").inner_text().strip())
    person.open(f"{stack.school.url}/login?mfa=1")
    with person.page.expect_navigation():
        person.page.get_by_role("button", name=re.compile("^Подтверждение в приложении")).click()
    person.arrived()
    number = int(person.page.locator(".number").inner_text())
    person.click("Я подтвердил — продолжить")  # too early: the page says so, nothing breaks
    assert notice(person).startswith("Подтверждение ещё не пришло")
    number = int(person.page.locator(".number").inner_text())
    device.approve(number)
    person.click("Я подтвердил — продолжить")
    assert person.at(f"{stack.school.url}/"), person.page.url
    assert claim_cell(person, "amr") == "pwd, swk, mfa"
