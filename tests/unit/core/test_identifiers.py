"""Identifier checksums and normalisation, with the test vectors of ESIA.md §8."""

from __future__ import annotations

import pytest

from gateway.core.identifiers import format_snils
from gateway.core.identifiers import is_valid_birth_certificate
from gateway.core.identifiers import is_valid_inn
from gateway.core.identifiers import is_valid_ogrn
from gateway.core.identifiers import is_valid_snils
from gateway.core.identifiers import normalize_birth_certificate_number
from gateway.core.identifiers import normalize_birth_certificate_series
from gateway.core.identifiers import normalize_snils
from gateway.core.identifiers import snils_check_digits


@pytest.mark.parametrize(
    "snils",
    [
        "112-233-445 95",
        "987-654-321 83",  # S = 285 -> 285 mod 101 = 83
        "001-019-989 00",  # S = 100
        "001-029-985 00",  # S = 101
        "003-998-986 00",  # S = 201 -> 100 -> 00
        "003-997-999 00",  # S = 202 -> 0
        "000-000-600 06",  # ESIA's test SNILS: no checksum defined
        "001-001-998 00",  # the boundary itself: no checksum defined
        "001-001-997 99",  # any control digits below the boundary
        "11223344595",
        "112 233 445 95",
    ],
)
def test_valid_snils(snils: str) -> None:
    assert is_valid_snils(snils)


@pytest.mark.parametrize(
    "snils",
    [
        "001-001-999 00",  # first number with a checksum; 00 is wrong
        "112-233-445 96",
        "987-654-321 84",
        "112-233-445 9",
        "112-233-445 955",
        "abc-def-ghi jk",
        "",
        "１１２-233-445 95",  # full-width digits are not ASCII digits
    ],
)
def test_invalid_snils(snils: str) -> None:
    assert not is_valid_snils(snils)


def test_snils_check_digits_and_format() -> None:
    assert snils_check_digits("112233445") == 95
    assert snils_check_digits("001019989") == 0
    assert format_snils("11223344595") == "112-233-445 95"
    assert format_snils("1122") is None
    assert normalize_snils("112-233-445 95") == "11223344595"
    with pytest.raises(ValueError, match="nine digits"):
        snils_check_digits("12")


@pytest.mark.parametrize(
    "inn",
    ["771234567859", "500312345614", "7712345671", "123456789047", "1234567894", "7710474375"],
)
def test_valid_inn(inn: str) -> None:
    assert is_valid_inn(inn)


@pytest.mark.parametrize("inn", ["771234567850", "7712345670", "12345", "77123456785x", ""])
def test_invalid_inn(inn: str) -> None:
    assert not is_valid_inn(inn)


def test_ogrn_and_ogrnip() -> None:
    # §8.2: OGRNIP remainder 11 -> control digit 1 (some libraries reject this).
    assert is_valid_ogrn("304500116000191")
    assert not is_valid_ogrn("304500116000190")
    assert is_valid_ogrn("1027700132195")
    assert not is_valid_ogrn("1027700132194")
    assert not is_valid_ogrn("30450011600019")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("IV-МЮ", "IV-МЮ"),
        ("IVМЮ", "IV-МЮ"),
        ("iv мю", "IV-МЮ"),
        ("II-АГ", "II-АГ"),
        ("ІІ-АГ", "II-АГ"),  # Cyrillic І
        ("XIV-MK", "XIV-МК"),  # Latin look-alike letters
        ("Х-ЕК", "X-ЕК"),  # Cyrillic Х as the Roman numeral
        ("LXX-ТБ", "LXX-ТБ"),
    ],
)
def test_birth_certificate_series_normalised(raw: str, expected: str) -> None:
    assert normalize_birth_certificate_series(raw) == expected


@pytest.mark.parametrize("raw", ["XO044", "IV-М", "IV-МЮЯ", "12-МЮ", "IVIVIVI-МЮ", "", "IV-ZZ"])
def test_birth_certificate_series_rejected(raw: str) -> None:
    assert normalize_birth_certificate_series(raw) is None


def test_birth_certificate_number() -> None:
    assert normalize_birth_certificate_number("123456") == "123456"
    assert normalize_birth_certificate_number("№ 123456") == "123456"
    assert normalize_birth_certificate_number("555-777") is None
    assert normalize_birth_certificate_number("12345") is None
    assert is_valid_birth_certificate("IV-МЮ", "123456")
    assert not is_valid_birth_certificate("XO044", "555-777")
