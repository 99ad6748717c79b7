"""Link applications over HTTP against the ESIA sandbox (issue 12; SECURITY.md T94, T95).

The parents sign in on vhod's own pages (``/account``: no ``children`` scope, so nothing
is linked from ESIA) and apply on ``/account/children/apply``:

* ``parent_foreign``'s Лев (a foreign birth certificate; on ``demo-school-1``'s roster by
  SNILS, without a certificate) goes to review; the review approves it (the admin use case
  the admin pages and ``vhod applications approve`` call; the admin pages themselves are
  tested in ``tests/features/admin/test_admin_applications.py``) and the link is verified;
* ``parent``'s Пётр with every identifier right is verified at once;
* a wrong SNILS checksum / a malformed series is refused at the form, the field named,
  the value not echoed; a 6 MB upload is refused before it is read; a renamed executable
  is refused by content;
* "no such pupil" and "the data differ" are the same answer (T94); too many applications
  are refused (429);
* a rejected application shows its reason; the help pages show the region's support.
"""

from __future__ import annotations

import html
import io
import re
from typing import Any

import requests
from PIL import Image

from gateway.core.children import Evidence
from gateway.core.children import GuardianshipStatus
from gateway.core.identifiers import snils_check_digits
from gateway.core.ids import keyed_digest
from providers.upstream.esia_sandbox.personas import load_personas
from tests.features.children.conftest import KIDS_SCHOOL
from tests.features.esia_journey.browser import Answer
from tests.features.esia_journey.browser import Browser
from tests.features.esia_journey.stack import JourneyStack

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LEV_SNILS = "100-200-306 36"
PETR_SNILS = "100-200-302 32"
NOT_ON_ROSTER_SNILS = "112-233-445 95"


def _iso(dotted: str) -> str:
    day, month, year = dotted.split(".")
    return f"{year}-{month}-{day}"


def _kid(persona: str, index: int = 0) -> dict[str, Any]:
    record: dict[str, Any] = load_personas()[persona].kids[index].record
    return record


def _jpeg() -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    exif[0x0110] = "SecretPhoneModel"
    Image.new("RGB", (120, 80), (240, 240, 230)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def _subject_of(stack: JourneyStack, persona: str) -> str:
    oid = load_personas()[persona].oid
    digest = keyed_digest(stack.services.pepper, "upstream_subject", str(oid))
    with stack.services.uow(read_only=True) as uow:
        subject = uow.subjects.find_by_upstream("esia", digest)
    assert subject is not None
    return subject.subject_id


def _sign_in(stack: JourneyStack, browser: Browser, persona: str) -> Answer:
    page = browser.get(f"{stack.gateway_url}/account/children/apply?q=Школа ёлкина")
    if page.url.startswith(stack.sandbox_url):
        page = browser.esia_login(page, persona)
    return page


def _form(**overrides: str) -> dict[str, str]:
    lev = _kid("parent_foreign")
    fields = {
        "school_id": "demo-school-1",
        "class_name": "4Б",
        "family_name": str(lev["lastName"]),
        "given_name": str(lev["firstName"]),
        "middle_name": "",
        "birthdate": str(lev["birthDate"]),
        "snils": LEV_SNILS,
        "snils_issued": str(lev["birthDate"]),
        "certificate_kind": "foreign",
        "certificate_series": "AB",
        "certificate_number": "1234567",
        "certificate_issued": str(lev["birthDate"]),
    }
    fields.update(overrides)
    return fields


def _petr(**overrides: str) -> dict[str, str]:
    petr = _kid("parent")
    fields = _form(
        family_name=str(petr["lastName"]),
        given_name=str(petr["firstName"]),
        middle_name=str(petr["middleName"]),
        birthdate=str(petr["birthDate"]),
        snils=PETR_SNILS,
        snils_issued=str(petr["birthDate"]),
        certificate_kind="rf",
        certificate_series="IV-МЮ",
        certificate_number="000701",
        certificate_issued=str(petr["birthDate"]),
        class_name="1А",
    )
    fields.update(overrides)
    return fields


def _submit(
    stack: JourneyStack,
    browser: Browser,
    fields: dict[str, str],
    scan: bytes | None = None,
    filename: str = "certificate.jpg",
    mimetype: str = "image/jpeg",
    query: str = "",
) -> Answer:
    page = browser.get(f"{stack.gateway_url}/account/children/apply")
    assert page.status == 200, page.url
    match = _CSRF.search(page.text)
    assert match is not None
    data = {**fields, "csrf_token": match.group(1)}
    files = {"scan": (filename, _jpeg() if scan is None else scan, mimetype)}
    response = browser.session.post(
        f"{stack.gateway_url}/account/children/apply{query}",
        data=data,
        files=files,
        allow_redirects=False,
        timeout=30,
    )
    return browser.follow(response)


def _applications(stack: JourneyStack, parent_id: str) -> list[Any]:
    with stack.services.uow(read_only=True) as uow:
        return uow.applications.for_parent(parent_id)


def test_foreign_certificate_goes_to_review_and_an_approval_verifies_the_link(
    stack: JourneyStack, browser: Browser
) -> None:
    page = _sign_in(stack, browser, "parent_foreign")
    assert page.status == 200
    found = browser.get(f"{stack.gateway_url}/account/children/apply?q=школа ёлкина")
    assert 'value="demo-school-1"' in found.text  # the search's radio button
    assert "<script" not in found.text
    answer = _submit(stack, browser, _form())
    assert answer.status == 200, answer.text[:500]
    assert answer.url.startswith(f"{stack.gateway_url}/account/applications")
    assert "в рассмотрении" in answer.text
    assert "Лев" in answer.text
    parent_id = _subject_of(stack, "parent_foreign")
    (application,) = _applications(stack, parent_id)
    assert str(application.status) == "pending"
    assert "certificate_foreign" in application.checks
    with stack.services.uow(read_only=True) as uow:
        assert uow.guardianships.for_parent(parent_id) == []
        (document,) = uow.applications.documents(application.application_id)
        stored = uow.applications.document(application.application_id, document.document_id)
    assert document.media_type == "image/jpeg"
    assert stored is not None
    assert stored.sealed_content is not None
    assert b"SecretPhoneModel" not in stored.sealed_content
    media, content = stack.services.reviews.document(
        application.application_id, document.document_id
    )
    assert media == "image/jpeg"
    assert b"SecretPhoneModel" not in content  # EXIF removed
    assert Image.open(io.BytesIO(content)).size == (120, 80)

    reviews = stack.services.reviews
    assert [row.application_id for row in reviews.queue()] == [application.application_id]
    reviews.approve(application.application_id, reviews.reviewer(None))

    mine = browser.get(f"{stack.gateway_url}/account/applications")
    assert "одобрено" in mine.text
    with stack.services.uow(read_only=True) as uow:
        (link,) = uow.guardianships.for_parent(parent_id)
        events = [e.event for e in uow.audit.iter_all()]
    assert link.status is GuardianshipStatus.VERIFIED
    assert link.evidence is Evidence.APPLICATION
    assert link.school_id == "demo-school-1"
    assert link.usable(stack.services.clock.now())
    assert {"application.submitted", "application.approved", "guardianship.linked"} <= set(events)
    children = browser.get(f"{stack.gateway_url}/account/children")
    assert "Лев" in children.text
    # The same child by ESIA's SNILS: the kid's own subject is the application's child.
    with stack.services.uow(read_only=True) as uow:
        assert uow.person_index.find(application.snils_index) == link.child_id
    # The approved link lets the parent act for Лев at that school's school system.
    answer = browser.login(KIDS_SCHOOL, "parent_foreign", "openid child diary")
    tokens = browser.token(KIDS_SCHOOL, answer)
    access = stack.verify(tokens["access_token"])
    with stack.services.uow(read_only=True) as uow:
        client = uow.clients.get(KIDS_SCHOOL.client_id)
    assert client is not None
    pairwise = stack.services.oauth.ctx.tokens.subject
    assert access["sub"] == pairwise(client, link.child_id)
    assert access["act"] == {"sub": pairwise(client, parent_id)}


def test_full_match_with_the_roster_verifies_at_once(stack: JourneyStack, browser: Browser) -> None:
    _sign_in(stack, browser, "parent")
    answer = _submit(stack, browser, _petr())
    assert answer.status == 200
    assert "совпали со списком учеников школы" in answer.text
    assert "одобрено" in answer.text
    parent_id = _subject_of(stack, "parent")
    with stack.services.uow(read_only=True) as uow:
        links = uow.guardianships.for_parent(parent_id)
    assert [(str(g.evidence), str(g.status)) for g in links] == [("application", "verified")]


def test_T95_wrong_snils_checksum_is_refused_at_the_form_naming_the_field(
    stack: JourneyStack, browser: Browser
) -> None:
    _sign_in(stack, browser, "single")
    bad = "100-200-306 37"
    answer = _submit(stack, browser, _form(snils=bad))
    assert answer.status == 400
    assert "СНИЛС ребёнка: Контрольное число СНИЛС" in answer.text
    assert bad not in answer.text
    assert bad.replace("-", "").replace(" ", "") not in answer.text
    series = _submit(stack, browser, _form(certificate_kind="rf", certificate_series="12-МЮ"))
    assert series.status == 400
    assert "Серия свидетельства: Серия свидетельства начинается с римского числа" in series.text
    assert "12-МЮ" not in series.text
    again = _submit(stack, browser, _form(snils=bad), query="?lang=en")
    assert "Child's SNILS: The SNILS check number" in html.unescape(again.text)
    assert _applications(stack, _subject_of(stack, "single")) == []


def test_a_6mb_upload_and_a_renamed_executable_are_refused(
    stack: JourneyStack, browser: Browser
) -> None:
    _sign_in(stack, browser, "single")
    big = b"%PDF-1.4\n" + b"0" * (6 * 1024 * 1024)
    too_large = _submit(stack, browser, _form(), big, "scan.pdf", "application/pdf")
    assert too_large.status == 413
    assert "не должен быть больше 5 МБ" in too_large.text
    exe = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 4096 + b"This program cannot be run in DOS"
    renamed = _submit(stack, browser, _form(), exe, "scan.pdf", "application/pdf")
    assert renamed.status == 400
    assert "Скан свидетельства: Файл не похож на PDF, JPG или PNG" in renamed.text
    assert _applications(stack, _subject_of(stack, "single")) == []


def test_T94_no_such_pupil_and_mismatch_are_the_same_answer(
    stack: JourneyStack, browser: Browser
) -> None:
    _sign_in(stack, browser, "parent")
    petr = _kid("parent")
    mismatch = _submit(stack, browser, _petr(birthdate="01.01.2016", class_name="2А"))
    nobody = _submit(
        stack,
        browser,
        _petr(snils=NOT_ON_ROSTER_SNILS, given_name="Никто"),
    )
    assert mismatch.status == nobody.status == 200
    assert mismatch.trail[0].endswith("/account/children/apply")
    assert [t.split("?")[-1] for t in mismatch.trail] == [t.split("?")[-1] for t in nobody.trail]

    def status_block(answer: Answer, name: str) -> str:
        start = answer.text.index(name)
        return answer.text[start : answer.text.index("</section>", start)]

    assert "в рассмотрении" in status_block(mismatch, str(petr["firstName"]))
    assert "в рассмотрении" in status_block(nobody, "Никто")
    # Neither page says why: no check names, no roster values.
    for answer in (mismatch, nobody):
        assert "roster" not in answer.text
        assert "дата рождения" not in answer.text.lower()


def test_T94_applications_are_rate_limited(stack: JourneyStack, browser: Browser) -> None:
    _sign_in(stack, browser, "single")
    snils = f"123-456-789 {snils_check_digits('123456789'):02d}"  # on no roster, unused
    answers = [
        _submit(stack, browser, _form(snils=snils, certificate_number=f"12345{i}"))
        for i in range(4)
    ]
    assert [a.status for a in answers[:3]] == [200, 200, 200]
    assert answers[3].status == 429
    assert answers[3].response.headers["Retry-After"]
    assert "Слишком много заявлений" in answers[3].text


def test_a_rejected_application_shows_its_reason(stack: JourneyStack, browser: Browser) -> None:
    _sign_in(stack, browser, "parent_foreign")
    answer = _submit(stack, browser, _form(given_name="Лёва"))
    assert answer.status == 200
    parent_id = _subject_of(stack, "parent_foreign")
    pending = [a for a in _applications(stack, parent_id) if str(a.status) == "pending"]
    reviews = stack.services.reviews
    reviews.reject(
        pending[0].application_id,
        reviews.reviewer(None),
        "document_mismatch",
        "Имя в свидетельстве другое",
    )
    page = browser.get(f"{stack.gateway_url}/account/applications")
    assert "отклонено" in page.text
    assert "данные в документе не совпадают с заявлением" in page.text
    assert "Имя в свидетельстве другое" in page.text


def test_help_pages_say_what_to_do_with_the_regions_support(stack: JourneyStack) -> None:
    for topic, words in (
        ("account_not_confirmed", "Подтвердите учётную запись"),
        ("child_data_differs", "Значение из списка школы мы не показываем"),
        ("school_not_found", "по ИНН школы"),
        ("guardianship_expired", "Ребёнку исполнилось 18 лет"),
        ("system_not_allowed", "дайте разрешение школьной системе"),
    ):
        page = requests.get(f"{stack.gateway_url}/help/{topic}", timeout=10)
        assert page.status_code == 200, topic
        assert words in page.text, topic
        assert "Куда обратиться" in page.text
        assert "8 800 100-70-10" in page.text
        english = requests.get(f"{stack.gateway_url}/help/{topic}?lang=en", timeout=10)
        assert "Where to get help" in english.text
    differs = requests.get(
        f"{stack.gateway_url}/help/child_data_differs?field=birthdate", timeout=10
    )
    assert "Отличается: дата рождения" in differs.text
    assert requests.get(f"{stack.gateway_url}/help/nope", timeout=10).status_code == 404


def test_unconfirmed_account_page_shows_support(stack: JourneyStack, browser: Browser) -> None:
    page = browser.login(stack.school, "standard")
    assert page.status == 403 or page.status == 200, page.status
    assert "Нужна подтверждённая учётная запись Госуслуг" in page.text
    assert "Куда обратиться" in page.text
    assert "/help/account_not_confirmed" in page.text


def test_no_school_found_links_the_help_page(stack: JourneyStack, browser: Browser) -> None:
    _sign_in(stack, browser, "single")
    page = browser.get(f"{stack.gateway_url}/account/children/apply?q=нет такой школы")
    assert "Школа не найдена." in page.text
    assert "/help/school_not_found" in page.text
