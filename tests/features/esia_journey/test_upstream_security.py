"""SECURITY.md section N over HTTP, with the real ESIA client against the sandbox:

* T90 — the ESIA callback with a missing, unknown, other-browser or replayed ``state``:
  one generic page, no session, no code for anyone, a ``journey.rejected`` warning;
* T91 — spoiled ESIA tokens (the sandbox's ``token_defect``): only valid ones pass;
* T92 — ESIA's ``access_denied`` / ``server_error``: the school system hears
  ``access_denied`` / ``temporarily_unavailable`` with its own ``state`` and ``iss``, and
  nothing of ESIA in ``error_description``.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any
from urllib.parse import urljoin

import pytest

from tests.features.esia_journey.browser import Answer
from tests.features.esia_journey.browser import Browser
from tests.features.esia_journey.stack import JourneyStack

SCOPE = "openid profile"
EXPIRED_PAGE = "Вход не удалось продолжить"


def _rejections(caplog: pytest.LogCaptureFixture) -> list[Any]:
    return [
        getattr(r, "vhod_fields", {}).get("reason")
        for r in caplog.records
        if r.getMessage() == "journey.rejected" and r.levelno == logging.WARNING
    ]


def _assert_rejected_page(answer: Answer) -> None:
    assert answer.status == 400
    assert answer.location is None
    assert EXPIRED_PAGE in answer.text
    assert "vhod" not in answer.response.cookies  # no SSO session cookie


def _assert_no_session(stack: JourneyStack, browser: Browser) -> None:
    silent = browser.authorize(stack.school, "openid", prompt="none")
    assert silent.query["error"] == "login_required"


def _assert_client_error(stack: JourneyStack, browser: Browser, answer: Answer, error: str) -> None:
    assert answer.status == 303
    assert answer.location is not None
    assert answer.location.startswith(stack.school.redirect_uri + "?")
    query = answer.query
    assert query["error"] == error
    assert query["state"] == browser.request["state"]  # the school's own state
    assert query["iss"] == stack.gateway_url  # RFC 9207
    assert "code" not in query
    description = query.get("error_description", "")
    assert "ESIA" not in description
    assert "0070" not in description
    assert description.isascii()


def _callback_url(browser: Browser, page: Answer, persona: str = "single") -> str:
    """Log in at the sandbox and return ESIA's redirect to our callback, unfollowed."""
    response = browser.esia_form(page, persona, "login")
    assert response.status_code == 302
    return urljoin(response.url, response.headers["Location"])


# ------------------------------------------------------------------------------ T90


def test_t90_callback_without_state(
    stack: JourneyStack, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    browser.authorize(stack.school, SCOPE)
    answer = browser.get(f"{stack.gateway_url}/login/callback/esia?code=abc")
    _assert_rejected_page(answer)
    assert "state_missing" in _rejections(caplog)
    _assert_no_session(stack, browser)


def test_t90_callback_with_an_unknown_state(
    stack: JourneyStack, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    browser.authorize(stack.school, SCOPE)
    answer = browser.get(f"{stack.gateway_url}/login/callback/esia?code=abc&state={uuid.uuid4()}")
    _assert_rejected_page(answer)
    assert "state_unknown" in _rejections(caplog)


def test_t90_callback_of_another_browser(
    stack: JourneyStack, caplog: pytest.LogCaptureFixture
) -> None:
    """The victim's browser is sent the attacker's (or another person's) ESIA answer."""
    caplog.set_level(logging.INFO)
    owner, victim = stack.browser(), stack.browser()
    try:
        victim.authorize(stack.school, SCOPE)  # the victim has a journey of their own
        callback = _callback_url(owner, owner.authorize(stack.school, SCOPE))
        answer = victim.get(callback)
        _assert_rejected_page(answer)
        assert "binding_mismatch" in _rejections(caplog)
        _assert_no_session(stack, victim)
    finally:
        owner.close()
        victim.close()


def test_t90_replayed_callback(
    stack: JourneyStack, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    callback = _callback_url(browser, browser.authorize(stack.library, SCOPE))
    first = browser.get(callback)
    assert first.status in (200, 303)  # consent page or the code: the login went on
    replay = browser.get(callback)
    _assert_rejected_page(replay)
    assert "state_replayed" in _rejections(caplog)


# ------------------------------------------------------------------------------ T91


@pytest.mark.parametrize(
    "defect", ["signature", "iss", "expired", "not_yet_valid", "aud", "client_id", "sbt", "state"]
)
def test_t91_spoiled_esia_tokens_are_refused(
    stack: JourneyStack, browser: Browser, defect: str
) -> None:
    stack.faults(token_defect=defect)
    page = browser.authorize(stack.school, SCOPE)
    answer = browser.esia_login(page, "single")
    _assert_client_error(stack, browser, answer, "access_denied")
    _assert_no_session(stack, browser)


def test_t91_valid_tokens_after_spoiled_ones(stack: JourneyStack, browser: Browser) -> None:
    stack.faults(token_defect="signature", remaining=1)
    refused = browser.esia_login(browser.authorize(stack.school, SCOPE), "single")
    _assert_client_error(stack, browser, refused, "access_denied")
    accepted = browser.login(stack.school, "single", SCOPE)
    assert "code" in accepted.query


# ------------------------------------------------------------------------------ T92


def test_t92_person_cancels_at_esia(stack: JourneyStack, browser: Browser) -> None:
    answer = browser.esia_cancel(browser.authorize(stack.school, SCOPE))
    _assert_client_error(stack, browser, answer, "access_denied")
    _assert_no_session(stack, browser)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("007004", "access_denied"),  # access_denied at ESIA's authorize endpoint
        ("007055", "access_denied"),  # ESIA refused an unconfirmed account
        ("007007", "temporarily_unavailable"),  # server_error
        ("007008", "temporarily_unavailable"),  # temporarily_unavailable
    ],
)
def test_t92_esia_authorize_errors(
    stack: JourneyStack, browser: Browser, code: str, error: str
) -> None:
    stack.faults(authorize_error=code)
    answer = browser.authorize(stack.school, SCOPE)  # ESIA answers at once, no persona page
    assert answer.visited(f"{stack.gateway_url}/login/callback/esia")
    _assert_client_error(stack, browser, answer, error)
    _assert_no_session(stack, browser)


@pytest.mark.parametrize(
    ("code", "error"),
    [("007007", "temporarily_unavailable"), ("007011", "access_denied")],
)
def test_t92_esia_token_errors(
    stack: JourneyStack, browser: Browser, code: str, error: str
) -> None:
    stack.faults(token_error=code)
    answer = browser.esia_login(browser.authorize(stack.school, SCOPE), "single")
    _assert_client_error(stack, browser, answer, error)
    _assert_no_session(stack, browser)


def test_t92_esia_5xx_is_temporarily_unavailable(stack: JourneyStack, browser: Browser) -> None:
    stack.faults(http_status=503, endpoints=["token"])
    answer = browser.esia_login(browser.authorize(stack.school, SCOPE), "single")
    _assert_client_error(stack, browser, answer, "temporarily_unavailable")


def test_cancel_while_signing_in_to_vhod_itself_shows_a_russian_page(
    stack: JourneyStack, browser: Browser
) -> None:
    """vhod's own pages (``/account``) have no school system: ESIA's reason is explained."""
    page = browser.get(f"{stack.gateway_url}/account")
    answer = browser.esia_cancel(page)
    assert answer.status == 403
    assert answer.location is None
    assert "Вход через Госуслуги отменён" in answer.text
