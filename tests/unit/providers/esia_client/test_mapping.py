"""ESIA JSON → UpstreamIdentity: the allow-list and the account level (ESIA.md §5, §6)."""

from __future__ import annotations

from typing import Any

import pytest

from providers.upstream.esia.mapping import KidRecord
from providers.upstream.esia.mapping import account_level
from providers.upstream.esia.mapping import map_identity

ALL = frozenset(
    {
        "openid",
        "fullname",
        "birthdate",
        "snils",
        "mobile",
        "kid_fullname",
        "kid_birthdate",
        "kid_snils",
        "kid_birth_cert_doc",
    }
)
PERSON: dict[str, Any] = {
    "stateFacts": ["EntityRoot"],
    "eTag": "61F2A6BF9D17B97E6B56F8B10EB28A7C814FF0B4",
    "firstName": "Иван",
    "lastName": "Петров",
    "middleName": "Сергеевич",
    "birthDate": "14.03.1986",
    "birthPlace": "г. Тверь",
    "gender": "M",
    "trusted": True,
    "citizenship": "RUS",
    "snils": "112-233-445 95",
    "inn": "771234567859",
    "updatedOn": 1735722000,
    "status": "REGISTERED",
    "verifying": False,
    "rIdDoc": 3571,
    "containsUpCfmCode": False,
}
ID_CLAIMS = {
    "amr": "PWD",
    "urn:esia:sbj": {
        "urn:esia:sbj:typ": "P",
        "urn:esia:sbj:is_tru": True,
        "urn:esia:sbj:lvl": "PR",
    },
}


def test_allow_list_drops_everything_else() -> None:
    contacts = [
        {"type": "MBT", "vrfStu": "VERIFIED", "value": "+7(912)3456789", "id": 1},
        {"type": "EML", "vrfStu": "VERIFIED", "value": "ivan@example.ru", "id": 2},
    ]
    identity = map_identity(
        oid="1000299681", person=PERSON, granted=ALL, id_claims=ID_CLAIMS, contacts=contacts
    )
    assert identity.provider == "esia"
    assert identity.subject == "1000299681"
    assert identity.account_level == "confirmed"
    assert identity.amr == ("pwd",)
    assert identity.attributes == {
        "family_name": "Петров",
        "given_name": "Иван",
        "middle_name": "Сергеевич",
        "birthdate": "1986-03-14",
        "snils": "112-233-445 95",
        "phone_number": "+79123456789",
        "phone_number_verified": True,
    }


def test_only_granted_scopes_are_mapped() -> None:
    identity = map_identity(oid="1", person=PERSON, granted=frozenset({"openid", "fullname"}))
    assert set(identity.attributes) == {"family_name", "given_name", "middle_name"}


def test_unverified_mobile_and_bad_values_are_dropped() -> None:
    person = dict(PERSON, snils="112-233-445 96", birthDate="1986-03-14", middleName="  ")
    contacts = [{"type": "MBT", "vrfStu": "NOT_VERIFIED", "value": "+7(912)3456789"}]
    identity = map_identity(oid="1", person=person, granted=ALL, contacts=contacts)
    assert set(identity.attributes) == {"family_name", "given_name"}


def test_children_with_birth_certificates() -> None:
    kids = [
        KidRecord(
            kid={
                "id": 1234567,
                "firstName": "Мария",
                "lastName": "Петрова",
                "gender": "F",
                "birthDate": "02.09.2015",
                "snils": "987-654-321 83",
                "inn": "500312345614",
            },
            documents=[
                {"type": "MDCL_PLCY", "number": "1234567890123456"},
                {
                    "type": "RF_BRTH_CERT",
                    "vrfStu": "VERIFIED",
                    "series": "iv мю",
                    "number": "123456",
                    "issueDate": "10.09.2015",
                    "issuedBy": "ЗАГС",
                    "actNo": "1234",
                },
            ],
        ),
        KidRecord(
            kid={"id": "77", "firstName": "Лев", "birthDate": "01.01.2016"},
            documents=[{"type": "FID_BRTH_CERT", "series": "AB", "number": "1234567"}],
        ),
        KidRecord(kid={"firstName": "без id"}),
    ]
    identity = map_identity(oid="1", person=PERSON, granted=ALL, kids=kids)
    assert identity.children == (
        {
            "upstream_id": "1234567",
            "family_name": "Петрова",
            "given_name": "Мария",
            "birthdate": "2015-09-02",
            "snils": "987-654-321 83",
            "birth_certificate": {
                "type": "RF_BRTH_CERT",
                "series": "IV-МЮ",
                "number": "123456",
                "issue_date": "2015-09-10",
                "verified": True,
            },
        },
        {
            "upstream_id": "77",
            "given_name": "Лев",
            "birthdate": "2016-01-01",
            "birth_certificate": {
                "type": "FID_BRTH_CERT",
                "series": "AB",
                "number": "1234567",
                "issue_date": None,
                "verified": False,
            },
        },
    )


def test_kid_fields_follow_kid_scopes() -> None:
    kids = [KidRecord(kid={"id": 1, "firstName": "А", "snils": "987-654-321 83"})]
    identity = map_identity(oid="1", person=PERSON, granted=frozenset({"kid_fullname"}), kids=kids)
    assert identity.children == ({"upstream_id": "1", "given_name": "А"},)


def _sbj(**values: Any) -> dict[str, Any]:
    return {"urn:esia:sbj": {f"urn:esia:sbj:{k}": v for k, v in values.items()}}


PASSPORT_OK = [{"type": "RF_PASSPORT", "vrfStu": "VERIFIED"}]
PASSPORT_PENDING = [{"type": "RF_PASSPORT", "vrfStu": "NOT_VERIFIED"}]


@pytest.mark.parametrize(
    ("person", "claims", "documents", "level"),
    [
        ({"trusted": True}, None, None, "confirmed"),
        ({}, _sbj(is_tru=True), None, "confirmed"),
        ({}, _sbj(lvl="PR"), None, "confirmed"),
        ({"trusted": True}, _sbj(lvl="KD"), None, "child"),
        ({"trusted": False}, _sbj(is_tru=True, lvl="PR"), None, "simplified"),  # REST wins
        (
            {"trusted": False, "snils": "112-233-445 95", "rIdDoc": 1},
            _sbj(lvl="P"),
            None,
            "standard",
        ),
        ({"trusted": False, "snils": "112-233-445 95"}, _sbj(lvl="P"), None, "simplified"),
        ({"trusted": False, "rIdDoc": 1}, _sbj(lvl="P"), None, "simplified"),
        ({"trusted": False, "snils": "112-233-445 95"}, None, PASSPORT_OK, "standard"),
        (
            {"trusted": False, "snils": "112-233-445 95", "rIdDoc": 1},
            None,
            PASSPORT_PENDING,
            "simplified",
        ),
        ({"trusted": False, "snils": "112-233-445 96", "rIdDoc": 1}, None, None, "simplified"),
    ],
)
def test_account_level(
    person: dict[str, Any],
    claims: dict[str, Any] | None,
    documents: list[dict[str, Any]] | None,
    level: str,
) -> None:
    assert account_level(person, claims, documents) == level


def test_amr_mapping() -> None:
    for raw, expected in (("PWD", ("pwd",)), (["DS", "PWD"], ("sc", "pwd")), ("SMS", ())):
        identity = map_identity(oid="1", person={}, granted=ALL, id_claims={"amr": raw})
        assert identity.amr == expected
    amd = map_identity(oid="1", person={}, granted=ALL, id_claims={"urn:esia:amd": "DS"})
    assert amd.amr == ("sc",)
