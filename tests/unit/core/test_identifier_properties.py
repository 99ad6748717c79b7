"""Property tests of ``gateway.core.identifiers`` (hypothesis): round trips, the checksum
rules (including S = 100 / 101 and the numbers up to 001-001-998 without a checksum),
look-alike normalisation, and problems that never echo the value (T95)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.core.identifiers import SNILS_NO_CHECKSUM_MAX
from gateway.core.identifiers import BirthCertificate
from gateway.core.identifiers import CertificateKind
from gateway.core.identifiers import IdentifierProblem
from gateway.core.identifiers import certificate_kind
from gateway.core.identifiers import check_birth_certificate
from gateway.core.identifiers import check_inn
from gateway.core.identifiers import check_ogrn
from gateway.core.identifiers import check_snils
from gateway.core.identifiers import format_snils
from gateway.core.identifiers import is_valid_inn
from gateway.core.identifiers import is_valid_ogrn
from gateway.core.identifiers import is_valid_snils
from gateway.core.identifiers import normalize_birth_certificate_series
from gateway.core.identifiers import normalize_snils
from gateway.core.identifiers import parse_birth_certificate
from gateway.core.identifiers import snils_check_digits

nine_digits = st.integers(min_value=0, max_value=999_999_999).map(lambda n: f"{n:09d}")
checked_nine = st.integers(min_value=SNILS_NO_CHECKSUM_MAX + 1, max_value=999_999_999).map(
    lambda n: f"{n:09d}"
)


def _snils(first_nine: str) -> str:
    return f"{first_nine}{snils_check_digits(first_nine):02d}"


def _reference_check(first_nine: str) -> int:
    """The rule of ESIA.md §8.1 written out step by step."""
    total = sum(int(d) * (9 - i) for i, d in enumerate(first_nine))
    if total < 100:
        return total
    if total in (100, 101):
        return 0
    total %= 101
    return 0 if total == 100 else total


@given(checked_nine)
def test_snils_checksum_matches_the_rule(first_nine: str) -> None:
    assert snils_check_digits(first_nine) == _reference_check(first_nine)
    assert is_valid_snils(_snils(first_nine))


@given(checked_nine, st.integers(min_value=1, max_value=99))
def test_snils_with_a_wrong_check_number_is_refused(first_nine: str, shift: int) -> None:
    wrong = (snils_check_digits(first_nine) + shift) % 100
    value = f"{first_nine}{wrong:02d}"
    assert not is_valid_snils(value)
    problem = check_snils(value)
    assert problem is not None
    assert problem.code == "snils.checksum"


@given(st.integers(min_value=0, max_value=SNILS_NO_CHECKSUM_MAX), st.integers(0, 99))
def test_snils_up_to_001_001_998_carries_no_checksum(number: int, control: int) -> None:
    assert is_valid_snils(f"{number:09d}{control:02d}")
    assert check_snils(f"{number:09d}{control:02d}") is None


def test_snils_boundary_and_100_101_cases() -> None:
    assert is_valid_snils("001-001-998 00")
    assert not is_valid_snils("001-001-999 00")
    assert is_valid_snils("001-019-989 00")  # S = 100
    assert is_valid_snils("001-029-985 00")  # S = 101
    assert is_valid_snils("003-998-986 00")  # S = 201 -> 100 -> 00


@given(nine_digits)
def test_snils_format_round_trip(first_nine: str) -> None:
    value = _snils(first_nine)
    formatted = format_snils(value)
    assert formatted is not None
    assert normalize_snils(formatted) == value
    assert format_snils(formatted) == formatted
    assert normalize_snils(formatted.replace("-", " ")) == value


@given(st.text(max_size=20))
def test_snils_check_is_total_and_never_echoes(value: str) -> None:
    problem = check_snils(value)
    assert (problem is None) == is_valid_snils(value)
    if problem is not None:
        _never_echoes(problem, value)


def _inn10(first_nine: str) -> str:
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    check = sum(int(d) * w for d, w in zip(first_nine, weights, strict=True)) % 11 % 10
    return f"{first_nine}{check}"


@given(nine_digits)
def test_inn10_checksum_and_one_digit_changed(first_nine: str) -> None:
    inn = _inn10(first_nine)
    assert is_valid_inn(inn)
    assert check_inn(inn) is None
    wrong = inn[:9] + str((int(inn[9]) + 1) % 10)
    assert check_inn(wrong) == check_inn("7712345670")
    assert not is_valid_inn(wrong)


@given(st.integers(min_value=10**11, max_value=10**12 - 1))
def test_ogrn_checksum(first_twelve: int) -> None:
    ogrn = f"{first_twelve}{first_twelve % 11 % 10}"
    assert is_valid_ogrn(ogrn)
    assert check_ogrn(ogrn) is None
    wrong = ogrn[:12] + str((int(ogrn[12]) + 1) % 10)
    problem = check_ogrn(wrong)
    assert problem is not None
    assert problem.code == "ogrn.checksum"


@pytest.mark.parametrize(
    ("check", "value", "code"),
    [
        (check_inn, "", "inn.empty"),
        (check_inn, "77123456x9", "inn.characters"),
        (check_inn, "12345", "inn.length"),
        (check_inn, "7712345670", "inn.checksum"),
        (check_ogrn, "102770013219", "ogrn.length"),
        (check_ogrn, "1027700132194", "ogrn.checksum"),
        (check_snils, "abc-def-ghi jk", "snils.characters"),
        (check_snils, "112-233-445 9", "snils.length"),
        (check_snils, "", "snils.empty"),
    ],
)
def test_problems_name_the_part(
    check: Callable[[str], IdentifierProblem | None], value: str, code: str
) -> None:
    problem = check(value)
    assert isinstance(problem, IdentifierProblem)
    assert problem.code == code
    assert problem.ru
    assert problem.en


roman = st.text(alphabet="IVXLC", min_size=1, max_size=6)
letters = st.text(alphabet="АБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЩЭЮЯ", min_size=2, max_size=2)
number = st.integers(min_value=0, max_value=999_999).map(lambda n: f"{n:06d}")
_TO_LOOKALIKE = str.maketrans({"I": "І", "X": "Х", "C": "С"})
_TO_LATIN = str.maketrans({"А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "О": "O", "Т": "T"})


@given(roman, letters, number, st.sampled_from(["-", " ", "", "–"]), st.booleans())
def test_certificate_look_alikes_normalise_to_one_form(
    numeral: str, pair: str, digits: str, separator: str, lower: bool
) -> None:
    canonical = f"{numeral}-{pair}"
    written = f"{numeral.translate(_TO_LOOKALIKE)}{separator}{pair.translate(_TO_LATIN)}"
    if lower:
        written = written.lower()
    assert normalize_birth_certificate_series(written) == canonical
    parsed = parse_birth_certificate(written, f"№ {digits}")
    assert parsed == BirthCertificate(CertificateKind.RF, canonical, digits)
    # Round trip: the canonical form parses to itself.
    assert parse_birth_certificate(canonical, digits) == parsed


@pytest.mark.parametrize(
    ("series", "number", "code"),
    [
        ("", "123456", "birth_certificate.series_empty"),
        ("12-МЮ", "123456", "birth_certificate.series_roman"),
        ("IV-М", "123456", "birth_certificate.series_letters"),
        ("IV-ZZ", "123456", "birth_certificate.series_letters"),
        ("IV-МЮ", "", "birth_certificate.number_empty"),
        ("IV-МЮ", "555-777", "birth_certificate.number_format"),
    ],
)
def test_certificate_problems_name_the_part(series: str, number: str, code: str) -> None:
    problem = check_birth_certificate(series, number)
    assert problem is not None
    assert problem.code == code
    _never_echoes(problem, number)


@pytest.mark.parametrize(
    ("kind", "doc_type"),
    [(CertificateKind.FOREIGN, "FID_BRTH_CERT"), (CertificateKind.USSR, "OLD_BRTH_CERT")],
)
def test_foreign_and_ussr_certificates_accepted_and_flagged(
    kind: CertificateKind, doc_type: str
) -> None:
    assert certificate_kind(doc_type) is kind
    parsed = parse_birth_certificate("ab", "1234567", kind)
    assert parsed == BirthCertificate(kind, "AB", "1234567")
    assert isinstance(parsed, BirthCertificate)
    assert parsed.canonical.startswith(f"{kind}:")
    assert check_birth_certificate("", "1234567", kind) is None
    assert check_birth_certificate("AB", " ", kind) is not None


@given(st.text(max_size=12), st.text(max_size=12))
def test_certificate_parse_is_total(series: str, digits: str) -> None:
    result = parse_birth_certificate(series, digits)
    assert isinstance(result, BirthCertificate | IdentifierProblem)
    if isinstance(result, IdentifierProblem):
        _never_echoes(result, digits)


def _never_echoes(problem: IdentifierProblem, value: str) -> None:
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) >= 3:
        assert digits not in problem.ru
        assert digits not in problem.en
