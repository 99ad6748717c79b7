"""Children over HTTP against the ESIA sandbox (issue 11 items 1–4; SECURITY.md O).

``parent`` has three kids: Пётр (7, own child account ``kid7``) and Иван (15, own account
``teen15``) are on ``demo-school-1``'s roster, Мария (12) is on no roster. The parent's
login to a school system asking for ``children`` links the two and explains the third on
``/account/children``; the pupils' own logins resolve to the same subjects; ``kid7`` gets
in only once the parent has consented for that school system.
"""

from __future__ import annotations

import html
import io
import re

import requests

from gateway.core.children import GuardianshipStatus
from tests.features.children.conftest import KIDS_SCHOOL
from tests.features.children.conftest import subject_of
from tests.features.esia_journey.browser import Answer
from tests.features.esia_journey.browser import Browser
from tests.features.esia_journey.stack import JourneyStack

SCOPE = "openid profile children diary"
KID_SNILS = {"kid7": "100-200-302 32", "maria": "100-200-303 33", "teen15": "100-200-304 34"}
_FORM = re.compile(r'<form method="post" action="(?P<action>[^"]+)">(?P<body>.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[^"]+)" value="(?P<value>[^"]*)">')


def _forms(page: Answer) -> list[tuple[str, dict[str, str]]]:
    return [
        (
            m.group("action"),
            {h["name"]: html.unescape(h["value"]) for h in _HIDDEN.finditer(m.group("body"))},
        )
        for m in _FORM.finditer(page.text)
    ]


def _parent_links(stack: JourneyStack, parent_id: str) -> dict[str, str]:
    """child subject id → status of the parent's links."""
    with stack.services.uow(read_only=True) as uow:
        return {g.child_id: str(g.status) for g in uow.guardianships.for_parent(parent_id)}


def _login(browser: Browser, persona: str, scope: str = SCOPE) -> Answer:
    return browser.login(KIDS_SCHOOL, persona, scope)


def _children_page(stack: JourneyStack, browser: Browser) -> Answer:
    page = browser.get(f"{stack.gateway_url}/account/children")
    assert page.status == 200, page.url
    return page


def test_parent_gets_the_two_rostered_kids_linked_and_the_third_explained(
    stack: JourneyStack, browser: Browser
) -> None:
    answer = _login(browser, "parent")
    assert answer.location is not None
    assert "code=" in answer.location, answer.location
    parent_id = subject_of(stack, 1000100001)
    links = _parent_links(stack, parent_id)
    assert sorted(links.values()) == ["verified", "verified"]

    page = _children_page(stack, browser)
    assert "Пётр" in page.text
    assert "Иван" in page.text
    assert "Школа № 1" in page.text
    assert "1А" in page.text
    assert "9А" in page.text
    assert "совпали со списком учеников школы" in page.text
    # Мария: on no roster — said plainly, with what to do.
    assert "Мария" in page.text
    assert "нет в списках учеников" in page.text
    # Signing in again links nothing twice.
    again = stack.browser()
    try:
        _login(again, "parent")
    finally:
        again.close()
    assert len(_parent_links(stack, parent_id)) == 2


def test_teen15_signs_in_as_the_same_pupil(stack: JourneyStack, browser: Browser) -> None:
    parent = stack.browser()
    try:
        _login(parent, "parent")
    finally:
        parent.close()
    parent_links = _parent_links(stack, subject_of(stack, 1000100001))
    answer = _login(browser, "teen15", "openid profile diary")
    assert answer.location is not None
    assert "code=" in answer.location, answer.location
    teen = subject_of(stack, 1000100013)
    assert teen in parent_links  # the parent's kid, not a new person


def test_kid7_refused_until_the_parent_consents_on_account(
    stack: JourneyStack, browser: Browser
) -> None:
    refused = _login(browser, "kid7", "openid profile diary")
    assert refused.location is not None
    assert "error=access_denied" in refused.location, refused.location

    parent = stack.browser()
    try:
        _login(parent, "parent")
        page = _children_page(stack, parent)
        assert "Разрешить школьной системе «Электронный дневник»" in page.text
        grants = [
            (action, fields)
            for action, fields in _forms(page)
            if action.endswith("/consent") and fields.get("action") == "grant"
        ]
        assert len(grants) == 1  # only Пётр is under 14
        action, fields = grants[0]
        answer = parent.post(f"{stack.gateway_url}{action}", fields)
        assert answer.status == 200  # 303 back to the page, followed
        assert "Отозвать разрешение" in answer.text
    finally:
        parent.close()

    kid7 = stack.browser()
    try:
        allowed = _login(kid7, "kid7", "openid profile diary")
    finally:
        kid7.close()
    assert allowed.location is not None
    assert "code=" in allowed.location, allowed.location
    kid_subject = subject_of(stack, 1000100011)
    assert kid_subject in _parent_links(stack, subject_of(stack, 1000100001))


def test_T94_another_parents_child_id_is_the_same_404(stack: JourneyStack) -> None:
    owner = stack.browser()
    try:
        _login(owner, "parent")
        forms = _forms(_children_page(stack, owner))
    finally:
        owner.close()
    unlink = next(f for a, f in forms if a.endswith("/unlink"))
    consent = next(f for a, f in forms if a.endswith("/consent"))

    other = stack.browser()
    try:
        _login(other, "parent_foreign")
        own_page = _children_page(stack, other)
        token = next(f["csrf_token"] for _, f in _forms(own_page))
        url = f"{stack.gateway_url}/account/children"
        foreign = other.post(
            f"{url}/unlink",
            {"csrf_token": token, "guardianship_id": unlink["guardianship_id"]},
        )
        missing = other.post(f"{url}/unlink", {"csrf_token": token, "guardianship_id": "0" * 32})
        foreign_consent = other.post(f"{url}/consent", {**consent, "csrf_token": token})
        missing_consent = other.post(
            f"{url}/consent", {**consent, "csrf_token": token, "guardianship_id": "1" * 32}
        )
    finally:
        other.close()
    assert foreign.status == missing.status == 404
    assert foreign_consent.status == missing_consent.status == 404
    request_id = re.compile(r"[0-9a-f]{16,}")
    assert request_id.sub("", foreign.text) == request_id.sub("", missing.text)
    # The owner's link is untouched.
    parent_links = _parent_links(stack, subject_of(stack, 1000100001))
    assert str(GuardianshipStatus.VERIFIED) in parent_links.values()


def test_unlink_ends_the_link(stack: JourneyStack, browser: Browser) -> None:
    _login(browser, "parent")
    parent_id = subject_of(stack, 1000100001)
    before = _parent_links(stack, parent_id)
    action, fields = next(
        (a, f) for a, f in _forms(_children_page(stack, browser)) if a.endswith("/unlink")
    )
    page = browser.post(f"{stack.gateway_url}{action}", fields)
    assert page.status == 200
    after = _parent_links(stack, parent_id)
    assert list(after.values()).count("ended") == list(before.values()).count("ended") + 1
    with stack.services.uow(read_only=True) as uow:
        events = [e.event for e in uow.audit.iter_all()]
    assert "guardianship.unlinked" in events
    assert "guardianship.linked" in events


def _push_token(stack: JourneyStack) -> str:
    response = requests.post(
        f"{stack.gateway_url}/token",
        data={"grant_type": "client_credentials", "scope": "roster"},
        auth=(KIDS_SCHOOL.client_id, KIDS_SCHOOL.secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_T95_roster_push_validates_identifiers_without_echoing(stack: JourneyStack) -> None:
    token = _push_token(stack)
    good = {
        "pupil_id": "X1",
        "class": "3В",
        "family_name": "Проверкин",
        "given_name": "Тест",
        "birthdate": "2016-05-04",
        "snils": "112-233-445 95",
    }
    rows = [
        good,
        {**good, "pupil_id": "X2", "snils": "112-233-445 96"},  # bad check number
        {
            **good,
            "pupil_id": "X3",
            "snils": "",
            "certificate_series": "12-МЮ",
            "certificate_number": "123456",
        },  # malformed series
        {**good, "pupil_id": "X4", "birthdate": "31.02.2016"},
    ]
    url = f"{stack.gateway_url}/roster/demo-school-1"
    headers = {"Authorization": f"Bearer {token}"}
    answer = requests.post(url, json={"pupils": rows}, headers=headers, timeout=10)
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert [(e["row"], e["field"], e["code"]) for e in errors] == [
        (1, "snils", "snils.checksum"),
        (2, "certificate_series", "birth_certificate.series_roman"),
        (3, "birthdate", "field.date"),
    ]
    assert "112-233-445 96" not in answer.text
    assert "12-МЮ" not in answer.text
    # Nothing was written: X1 is not on the roster.
    with stack.services.uow(read_only=True) as uow:
        pupils = {e.pupil_id for e in uow.rosters.list_for_school("demo-school-1")}
    assert "X1" not in pupils
    # A good upsert adds; a school not bound to the client is "not found".
    ok = requests.post(url, json={"pupils": [good]}, headers=headers, timeout=10)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"added": 1, "updated": 0, "removed": 0}
    other = requests.put(
        f"{stack.gateway_url}/roster/demo-gymnasium-2",
        json={"pupils": [good]},
        headers=headers,
        timeout=10,
    )
    unknown = requests.put(
        f"{stack.gateway_url}/roster/no-such-school",
        json={"pupils": [good]},
        headers=headers,
        timeout=10,
    )
    assert other.status_code == unknown.status_code == 404
    assert other.text == unknown.text
    anonymous = requests.post(url, json={"pupils": [good]}, timeout=10)
    assert anonymous.status_code == 401


def test_school_search_by_name_and_inn(stack: JourneyStack) -> None:
    def ids(query: str) -> list[str]:
        answer = requests.get(f"{stack.gateway_url}/schools", params={"q": query}, timeout=10)
        assert answer.status_code == 200
        return [s["id"] for s in answer.json()["schools"]]

    assert ids("школа елкина") == ["demo-school-1"]
    assert ids("ШКОЛ ЁЛКИН") == ["demo-school-1"]
    assert ids("гимназ") == ["demo-gymnasium-2"]
    assert ids("7712345671") == ["demo-school-1"]
    assert ids("нет такой") == []
    page = requests.get(f"{stack.gateway_url}/schools/search", params={"q": "гимн"}, timeout=10)
    assert page.status_code == 200
    assert "Гимназия № 2" in page.text


def test_T99_no_plain_snils_or_certificate_in_the_database_file(stack: JourneyStack) -> None:
    browser = stack.browser()
    try:
        _login(browser, "parent")
    finally:
        browser.close()
    stored = stack.stored_bytes()
    for snils in KID_SNILS.values():
        assert snils.encode() not in stored
        assert snils.replace("-", "").replace(" ", "").encode() not in stored
    for number in (b"000701", b"001201", b"001501"):
        assert number not in stored
    assert "IV-МЮ".encode() not in stored
    assert "Пётр".encode() not in stored


def test_T100_canary_snils_never_in_logs(stack: JourneyStack, log_stream: io.StringIO) -> None:
    canary = "112-233-445 96"  # a pushed bad SNILS
    token = _push_token(stack)
    requests.post(
        f"{stack.gateway_url}/roster/demo-school-1",
        json={
            "pupils": [
                {
                    "pupil_id": "C1",
                    "class": "1А",
                    "family_name": "Канарейкин",
                    "given_name": "Канар",
                    "birthdate": "2017-01-01",
                    "snils": canary,
                }
            ]
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    browser = stack.browser()
    try:
        _login(browser, "parent")
        _children_page(stack, browser)
    finally:
        browser.close()
    text = log_stream.getvalue()
    assert "guardianship" in text or "journey" in text  # the log did capture the flows
    for snils in (canary, *KID_SNILS.values()):
        assert snils not in text
        assert snils.replace("-", "").replace(" ", "") not in text
    assert "Канарейкин" not in text
