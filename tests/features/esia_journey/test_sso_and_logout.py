"""Single sign-on after an ESIA login, and logout that also ends the ESIA session.

* a second school system gets a code without a second ESIA login (same ``sid``);
* RP-initiated logout (``id_token_hint`` + ``post_logout_redirect_uri`` + ``state``) ends
  the SSO session, passes through ESIA's ``/idp/ext/Logout`` (``redirect_url`` back to
  ``/logout/upstream``) and lands on the school's post-logout URI with its ``state``;
* a logout confirmed on vhod's page goes through ESIA as well and ends on vhod's page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from tests.features.esia_journey.browser import Browser
from tests.features.esia_journey.stack import JourneyStack

SCOPE = "openid profile"


def test_second_client_gets_a_code_without_a_second_esia_login(
    stack: JourneyStack, browser: Browser
) -> None:
    first = browser.login(stack.school, "parent", SCOPE)
    assert first.visited(stack.sandbox_url)
    school_claims = stack.verify(browser.token(stack.school, first)["id_token"])

    page = browser.authorize(stack.library, SCOPE)
    assert not page.visited(stack.sandbox_url)  # no ESIA at all this time
    assert page.url.endswith("/consent")  # a new client: consent first
    second = browser.consent(page)
    assert second.location is not None
    assert second.location.startswith(stack.library.redirect_uri)
    library_claims = stack.verify(browser.token(stack.library, second)["id_token"])
    assert library_claims["sid"] == school_claims["sid"]
    assert library_claims["auth_time"] == school_claims["auth_time"]
    assert library_claims["acr"] == "urn:vhod:acr:esia"
    assert library_claims["sub"] != school_claims["sub"]  # pairwise per client

    again = browser.authorize(stack.school, SCOPE)  # consented before: straight back
    assert not again.visited(stack.sandbox_url)
    assert "code" in again.query


def test_rp_initiated_logout_also_ends_the_esia_session(
    stack: JourneyStack, browser: Browser
) -> None:
    answer = browser.login(stack.school, "single", SCOPE)
    id_token = browser.token(stack.school, answer)["id_token"]
    query = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": stack.school.post_logout_redirect_uri,
        "state": "after-logout-42",
    }
    done = browser.get(f"{stack.gateway_url}/logout?{urlencode(query)}")
    assert done.visited(f"{stack.sandbox_url}/idp/ext/Logout")
    assert done.visited(f"{stack.gateway_url}/logout/upstream")
    assert done.location == f"{stack.school.post_logout_redirect_uri}?state=after-logout-42"

    silent = browser.authorize(stack.school, "openid", prompt="none")
    assert silent.query["error"] == "login_required"

    # The way back from ESIA works once; a replayed reference redirects nowhere.
    back = next(url for url in done.trail if url.startswith(f"{stack.gateway_url}/logout/upstream"))
    replay = browser.get(back)
    assert replay.status == 200
    assert replay.location is None
    assert "Вы вышли из vhod" in replay.text


def test_confirmed_logout_goes_through_esia_to_vhods_page(
    stack: JourneyStack, browser: Browser
) -> None:
    browser.login(stack.school, "single", SCOPE)
    confirm = browser.get(f"{stack.gateway_url}/logout")  # no hint: vhod asks first
    assert confirm.status == 200
    done = browser.submit(confirm)
    assert done.visited(f"{stack.sandbox_url}/idp/ext/Logout")
    assert done.status == 200
    assert "Вы вышли из vhod" in done.text
    silent = browser.authorize(stack.school, "openid", prompt="none")
    assert silent.query["error"] == "login_required"
