"""The whole journey over HTTP for every persona class of the ESIA sandbox:
authorize → ESIA (sandbox) → callback → subject → policy → consent → code → ``/token``.

Real signatures both ways: the gateway signs ``client_secret`` with its GOST key (the
sandbox verifies it against the registered certificate), the sandbox signs its tokens
with GOST R 34.10-2012 (our ESIA client verifies them); the ID token we issue is checked
against our published JWKS.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import pytest
import requests

from tests.features.esia_journey.browser import Browser
from tests.features.esia_journey.stack import JourneyStack

SCOPE = "openid profile children"


def _age(birthdate: str) -> int:
    born = date.fromisoformat(birthdate)
    today = date.today()  # noqa: DTZ011 -- the sandbox makes ages from local dates
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _persona(stack: JourneyStack, persona_id: str) -> dict[str, object]:
    personas = requests.get(f"{stack.sandbox_url}/sandbox/personas", timeout=10).json()
    return next(p for p in personas if p["id"] == persona_id)


@pytest.mark.parametrize(
    ("persona", "family_name", "age"),
    [
        pytest.param("parent", "Тестова", 38, id="confirmed-parent-with-children"),
        pytest.param("teen15", "Тестов", 15, id="teenager-own-confirmed-15"),
        pytest.param("parent_foreign", None, None, id="parent-child-foreign-certificate"),
        pytest.param("single", None, None, id="adult-without-children"),
    ],
)
def test_accepted_personas_get_a_code_and_tokens(
    stack: JourneyStack,
    browser: Browser,
    persona: str,
    family_name: str | None,
    age: int | None,
) -> None:
    page = browser.authorize(stack.school, SCOPE)
    assert page.status == 200
    assert page.url.startswith(f"{stack.sandbox_url}/aas/oauth2/v2/ac")
    assert "client_certificate_hash=" in page.url
    assert "client_secret=" in page.url
    consent = browser.esia_login(page, persona)
    assert consent.status == 200, consent.url
    assert consent.url.endswith("/consent"), consent.url
    answer = browser.consent(consent)

    assert answer.status == 303
    assert answer.location is not None
    assert answer.location.startswith(stack.school.redirect_uri + "?")
    query = answer.query
    assert query["state"] == browser.request["state"]
    assert query["iss"] == stack.gateway_url

    tokens = browser.token(stack.school, answer)
    claims = stack.verify(tokens["id_token"])
    assert claims["iss"] == stack.gateway_url
    assert claims["aud"] in (stack.school.client_id, [stack.school.client_id])
    assert claims["nonce"] == browser.request["nonce"]
    assert claims["acr"] == "urn:vhod:acr:esia"
    assert claims["amr"] == ["pwd"]  # ESIA's PWD
    assert isinstance(claims["auth_time"], int)
    assert claims["sid"]
    userinfo = requests.get(
        f"{stack.gateway_url}/userinfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    ).json()
    assert userinfo["sub"] == claims["sub"]
    if family_name is not None:
        assert userinfo["family_name"] == family_name
    if age is not None:
        assert _age(userinfo["birthdate"]) == age

    # The ESIA oid is kept only as a keyed digest; SNILS is not kept at all.
    info = _persona(stack, persona)
    stored = stack.stored_bytes()
    assert str(info["oid"]).encode() not in stored
    assert str(info["snils"]).encode() not in stored


@pytest.mark.parametrize("persona", ["standard", "simplified"])
def test_unconfirmed_adults_are_refused_with_guidance(
    stack: JourneyStack, browser: Browser, persona: str
) -> None:
    page = browser.authorize(stack.library, SCOPE)
    refused = browser.esia_login(page, persona)
    assert refused.status == 403
    assert refused.url.startswith(f"{stack.gateway_url}/login/")
    assert refused.url.endswith("/denied")
    assert "Нужна подтверждённая учётная запись Госуслуг" in refused.text
    assert "МФЦ" in refused.text  # how to confirm it

    back = browser.submit(refused)  # "Вернуться": the school hears access_denied
    assert back.location is not None
    assert back.location.startswith(stack.library.redirect_uri)
    assert back.query["error"] == "access_denied"
    assert back.query["state"] == browser.request["state"]
    assert back.query["iss"] == stack.gateway_url
    assert "code" not in back.query

    # No session was made: a silent request needs a login.
    silent = browser.authorize(stack.library, "openid", prompt="none")
    assert silent.query["error"] == "login_required"


def _failures(caplog: pytest.LogCaptureFixture) -> list[Any]:
    return [
        getattr(r, "vhod_fields", {}).get("reason")
        for r in caplog.records
        if r.getMessage() == "journey.failed"
    ]


def test_child_account_passes_the_account_check_and_waits_for_a_guardian(
    stack: JourneyStack, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    """The 7-year-old's own child account (ESIA ``KD``) is an accepted account level; the
    default rules then want a guardian's consent for a pupil under 14, which only the
    parent-child linking can record. Until then the school hears ``access_denied``."""
    caplog.set_level(logging.INFO)
    page = browser.authorize(stack.school, SCOPE)
    answer = browser.esia_login(page, "kid7")
    assert answer.location is not None
    assert answer.location.startswith(stack.school.redirect_uri)
    assert answer.query["error"] == "access_denied"
    assert answer.query["state"] == browser.request["state"]
    assert answer.query["iss"] == stack.gateway_url
    reasons = _failures(caplog)
    assert reasons == ["guardian_consent_missing"]  # not account_level_* / account_not_confirmed


def test_consent_is_remembered_for_the_next_login(stack: JourneyStack) -> None:
    first, second = stack.browser(), stack.browser()
    try:
        answer = first.login(stack.library, "single", "openid")
        assert "code" in answer.query
        page = second.authorize(stack.library, "openid")
        answer = second.esia_login(page, "single")  # a new ESIA login, no consent page
        assert answer.status == 303
        assert "code" in answer.query
    finally:
        first.close()
        second.close()


def test_no_personal_data_or_oid_in_the_logs(
    stack: JourneyStack, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = browser.login(stack.school, "parent", SCOPE)
    browser.token(stack.school, answer)
    text = caplog.text + " ".join(str(getattr(r, "vhod_fields", "")) for r in caplog.records)
    for secret in ("Тестова", "Анна", "100-200-301 31", "1000100001", answer.query["code"]):
        assert secret not in text
