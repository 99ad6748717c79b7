"""Russian personal identifiers: normalisation and checksums (pure functions, no I/O).

Used to check what ESIA hands over (SNILS of parents and children, birth certificates) and
what people type when they link a child (SECURITY.md T95). Every function is total: bad
input gives ``None`` / ``False``, never an exception, and nothing here logs or echoes the
value (these are personal data under 152-FZ).

Rules (ESIA.md §8, the project's notes on the ESIA protocol):

* **SNILS** (§8.1): 11 digits shown as ``XXX-XXX-XXX YY``. The last two digits are a
  checksum of the first nine: ``S = Σ dᵢ·(9−i)``; ``S < 100`` → ``S``; ``100``/``101`` →
  ``00``; ``S > 101`` → ``S mod 101`` and the same two rules again. Numbers whose first
  nine digits are **≤ 001-001-998** have no defined checksum and are not checked (ESIA's own
  test SNILS ``000-000-600 06`` is one of them).
* **INN** (§8.2): 10 digits (organisations, one check digit) or 12 digits (persons, two).
* **OGRN / OGRNIP** (§8.2): 13 digits (mod 11) / 15 digits (mod 13), last digit ``mod 10``.
* **RF birth certificate** (§8.3): series = Roman numeral (``IVXLC``) + optional hyphen +
  two Cyrillic capitals, number = 6 digits. Real data mixes Latin and Cyrillic
  look-alikes, so the series is normalised first (Roman part to Latin, letters to
  Cyrillic). Foreign (``FID_BRTH_CERT``) and USSR (``OLD_BRTH_CERT``) certificates follow
  other formats and must not be forced into this pattern.

Checks that explain themselves (``check_snils``, ``check_inn``, ``check_ogrn``,
``check_birth_certificate``) return ``None`` for a good value, else an
:class:`IdentifierProblem`: a stable ``code`` naming the part that is wrong and a sentence in
Russian and in English — never the value itself (T95: errors do not echo what was typed).
:func:`parse_birth_certificate` accepts foreign and USSR certificates without the RF
pattern and flags them (:attr:`BirthCertificate.kind`).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = [
    "BirthCertificate",
    "CertificateKind",
    "IdentifierProblem",
    "certificate_kind",
    "check_birth_certificate",
    "check_inn",
    "check_ogrn",
    "check_snils",
    "format_snils",
    "is_valid_birth_certificate",
    "is_valid_inn",
    "is_valid_ogrn",
    "is_valid_snils",
    "normalize_birth_certificate_number",
    "normalize_birth_certificate_series",
    "normalize_snils",
    "parse_birth_certificate",
    "snils_check_digits",
]

_NON_DIGITS = re.compile(r"[\s\-]")
SNILS_NO_CHECKSUM_MAX = 1_001_998
"""First nine digits at or below this number carry no checksum (ESIA.md §8.1)."""


# --------------------------------------------------------------------------- SNILS


def normalize_snils(value: str) -> str | None:
    """The 11 digits of a SNILS written with any spaces and hyphens, else ``None``.

    >>> normalize_snils("112-233-445 95")
    '11223344595'
    """
    digits = _NON_DIGITS.sub("", value)
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit():
        return None
    return digits


def format_snils(value: str) -> str | None:
    """The canonical ESIA form ``XXX-XXX-XXX YY`` (§5.2), or ``None`` when not 11 digits."""
    digits = normalize_snils(value)
    if digits is None:
        return None
    return f"{digits[0:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:11]}"


def snils_check_digits(first_nine: str) -> int:
    """The checksum of the first nine digits of a SNILS (0–99), per §8.1.

    :raises ValueError: when ``first_nine`` is not nine ASCII digits.
    """
    if len(first_nine) != 9 or not first_nine.isascii() or not first_nine.isdigit():
        raise ValueError("nine digits expected")
    total = sum(int(d) * (9 - i) for i, d in enumerate(first_nine))
    while total > 101:
        total %= 101
    return 0 if total in (100, 101) else total


def is_valid_snils(value: str) -> bool:
    """``True`` for a well-formed SNILS whose checksum holds (or is not defined, §8.1)."""
    digits = normalize_snils(value)
    if digits is None:
        return False
    if int(digits[:9]) <= SNILS_NO_CHECKSUM_MAX:
        return True
    return snils_check_digits(digits[:9]) == int(digits[9:])


# --------------------------------------------------------------------------- INN, OGRN

_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def is_valid_inn(value: str) -> bool:
    """``True`` for a 10-digit (organisation) or 12-digit (person) INN with valid checks."""
    digits = value.strip()
    if not digits.isascii() or not digits.isdigit():
        return False
    if len(digits) == 10:
        return _weighted(digits, _INN10_WEIGHTS) == int(digits[9])
    if len(digits) == 12:
        return _weighted(digits, _INN12_WEIGHTS_11) == int(digits[10]) and _weighted(
            digits, _INN12_WEIGHTS_12
        ) == int(digits[11])
    return False


def is_valid_ogrn(value: str) -> bool:
    """``True`` for a 13-digit OGRN or a 15-digit OGRNIP with a valid control digit.

    Unlike some libraries, an OGRNIP whose remainder is 11 or 12 is accepted: the control
    digit is ``remainder mod 10`` (§8.2).
    """
    digits = value.strip()
    if not digits.isascii() or not digits.isdigit():
        return False
    if len(digits) == 13:
        return int(digits[:12]) % 11 % 10 == int(digits[12])
    if len(digits) == 15:
        return int(digits[:14]) % 13 % 10 == int(digits[14])
    return False


# --------------------------------------------------------------------------- birth certificate

# Cyrillic look-alikes of the Roman digits, and Latin look-alikes of Cyrillic letters.
_ROMAN_LOOKALIKES = str.maketrans({"І": "I", "Х": "X", "С": "C"})
_LATIN_TO_CYRILLIC = str.maketrans(
    {
        "A": "А",
        "B": "В",
        "C": "С",
        "E": "Е",
        "H": "Н",
        "K": "К",
        "M": "М",
        "O": "О",
        "P": "Р",
        "T": "Т",
        "X": "Х",
        "Y": "У",
    }
)
_SERIES_SPLIT = re.compile(r"^([IVXLCІХС]{1,6})[\s\-–]?([A-ZА-ЯЁ]{2})$")
_RF_SERIES = re.compile(r"^[IVXLC]{1,6}-[А-ЯЁ]{2}$")


def normalize_birth_certificate_series(series: str) -> str | None:
    """The canonical ``ROMAN-ЛЛ`` form of an RF birth-certificate series, else ``None``.

    The Roman part is mapped to Latin ``IVXLC`` (Cyrillic ``І``, ``Х``, ``С`` count as
    ``I``, ``X``, ``C``), the letter part to Cyrillic capitals, and the separator
    (none, a space, a hyphen or a dash) becomes one hyphen (§8.3).

    >>> normalize_birth_certificate_series("iv мю")
    'IV-МЮ'
    """
    text = series.strip().upper()
    match = _SERIES_SPLIT.match(text)
    if match is None:
        return None
    roman = match.group(1).translate(_ROMAN_LOOKALIKES)
    letters = match.group(2).translate(_LATIN_TO_CYRILLIC)
    result = f"{roman}-{letters}"
    return result if _RF_SERIES.match(result) else None


def normalize_birth_certificate_number(number: str) -> str | None:
    """The six digits of an RF birth-certificate number (``№``, spaces dropped), else ``None``."""
    digits = re.sub(r"[\s№N]", "", number.strip())
    if len(digits) != 6 or not digits.isascii() or not digits.isdigit():
        return None
    return digits


def is_valid_birth_certificate(series: str, number: str) -> bool:
    """``True`` when both parts of an RF birth certificate normalise (§8.3).

    Only for ``RF_BRTH_CERT``; foreign and USSR certificates have other formats.
    """
    return (
        normalize_birth_certificate_series(series) is not None
        and normalize_birth_certificate_number(number) is not None
    )


# --------------------------------------------------------------------------- explained checks


@dataclass(frozen=True)
class IdentifierProblem:
    """What is wrong with an identifier: a stable ``code`` (``snils.checksum``) and one
    sentence in Russian and English. Never carries the value (T95)."""

    code: str
    ru: str
    en: str


_PROBLEMS: dict[str, tuple[str, str]] = {
    "snils.empty": ("СНИЛС не указан.", "The SNILS is missing."),
    "snils.characters": (
        "В СНИЛС допустимы только цифры, пробел и дефис.",
        "A SNILS holds digits only (spaces and hyphens allowed).",
    ),
    "snils.length": (
        "В СНИЛС должно быть 11 цифр: XXX-XXX-XXX YY.",
        "A SNILS has 11 digits: XXX-XXX-XXX YY.",
    ),
    "snils.checksum": (
        "Контрольное число СНИЛС (две последние цифры) не сходится с первыми девятью.",
        "The SNILS check number (the last two digits) does not match the first nine.",
    ),
    "inn.empty": ("ИНН не указан.", "The INN is missing."),
    "inn.characters": ("В ИНН допустимы только цифры.", "An INN holds digits only."),
    "inn.length": (
        "В ИНН должно быть 10 цифр (организация) или 12 (человек).",
        "An INN has 10 digits (organisation) or 12 (person).",
    ),
    "inn.checksum": (
        "Контрольная цифра ИНН не сходится.",
        "The INN check digit does not match.",
    ),
    "ogrn.empty": ("ОГРН не указан.", "The OGRN is missing."),
    "ogrn.characters": ("В ОГРН допустимы только цифры.", "An OGRN holds digits only."),
    "ogrn.length": (
        "В ОГРН должно быть 13 цифр (ОГРНИП — 15).",
        "An OGRN has 13 digits (an OGRNIP 15).",
    ),
    "ogrn.checksum": (
        "Контрольная цифра ОГРН не сходится.",
        "The OGRN check digit does not match.",
    ),
    "birth_certificate.series_empty": (
        "Серия свидетельства о рождении не указана.",
        "The birth-certificate series is missing.",
    ),
    "birth_certificate.series_roman": (
        "Серия свидетельства начинается с римского числа (I, V, X, L, C), например IV-МЮ.",
        "The certificate series starts with a Roman numeral (I, V, X, L, C), e.g. IV-МЮ.",
    ),
    "birth_certificate.series_letters": (
        "После римского числа в серии свидетельства — две русские буквы, например IV-МЮ.",
        "The Roman numeral of the series is followed by two Cyrillic letters, e.g. IV-МЮ.",
    ),
    "birth_certificate.number_empty": (
        "Номер свидетельства о рождении не указан.",
        "The birth-certificate number is missing.",
    ),
    "birth_certificate.number_format": (
        "Номер свидетельства о рождении — шесть цифр.",
        "A birth-certificate number has six digits.",
    ),
}


def _problem(code: str) -> IdentifierProblem:
    ru, en = _PROBLEMS[code]
    return IdentifierProblem(code, ru, en)


def check_snils(value: str) -> IdentifierProblem | None:
    """``None`` for a valid SNILS, else which part is wrong (characters, length, checksum)."""
    text = _NON_DIGITS.sub("", value)
    if not text:
        return _problem("snils.empty")
    if not text.isascii() or not text.isdigit():
        return _problem("snils.characters")
    if len(text) != 11:
        return _problem("snils.length")
    return None if is_valid_snils(text) else _problem("snils.checksum")


def _digits_problem(kind: str, value: str, lengths: tuple[int, ...]) -> IdentifierProblem | None:
    text = value.strip()
    if not text:
        return _problem(f"{kind}.empty")
    if not text.isascii() or not text.isdigit():
        return _problem(f"{kind}.characters")
    if len(text) not in lengths:
        return _problem(f"{kind}.length")
    return None


def check_inn(value: str) -> IdentifierProblem | None:
    """``None`` for a valid 10- or 12-digit INN, else which part is wrong."""
    problem = _digits_problem("inn", value, (10, 12))
    if problem is not None:
        return problem
    return None if is_valid_inn(value) else _problem("inn.checksum")


def check_ogrn(value: str) -> IdentifierProblem | None:
    """``None`` for a valid OGRN (13) or OGRNIP (15), else which part is wrong."""
    problem = _digits_problem("ogrn", value, (13, 15))
    if problem is not None:
        return problem
    return None if is_valid_ogrn(value) else _problem("ogrn.checksum")


class CertificateKind(enum.StrEnum):
    """Where a birth certificate was issued: the RF pattern is checked only for ``rf``."""

    RF = "rf"
    FOREIGN = "foreign"
    USSR = "ussr"


_CERT_KINDS = {
    "RF_BRTH_CERT": CertificateKind.RF,
    "KID_RF_BRTH_CERT": CertificateKind.RF,
    "BRTH_CERT": CertificateKind.RF,
    "FID_BRTH_CERT": CertificateKind.FOREIGN,
    "OLD_BRTH_CERT": CertificateKind.USSR,
}
_FREE_TEXT_MAX = 40


@dataclass(frozen=True)
class BirthCertificate:
    """A birth certificate in canonical form. ``kind`` flags foreign and USSR certificates,
    whose series and number are kept as given (spaces collapsed, upper case)."""

    kind: CertificateKind
    series: str
    number: str

    @property
    def canonical(self) -> str:
        """One string for blind indexes: ``kind:SERIES:NUMBER``."""
        return f"{self.kind}:{self.series}:{self.number}"


def certificate_kind(doc_type: str | None) -> CertificateKind:
    """The kind of an ESIA document type (``RF_BRTH_CERT`` …); unknown types count as RF."""
    return _CERT_KINDS.get(doc_type or "", CertificateKind.RF)


def _series_problem(series: str) -> IdentifierProblem:
    text = series.strip().upper()
    if not text:
        return _problem("birth_certificate.series_empty")
    head = re.match(r"^[IVXLCІХС]{1,6}", text)
    if head is None:
        return _problem("birth_certificate.series_roman")
    return _problem("birth_certificate.series_letters")


def parse_birth_certificate(
    series: str, number: str, kind: CertificateKind | str = CertificateKind.RF
) -> BirthCertificate | IdentifierProblem:
    """The certificate normalised, or the first problem found (series before number).

    RF certificates follow §8.3 (look-alikes normalised); foreign and USSR ones need a
    non-empty number of at most 40 characters and keep their own format.
    """
    kind = CertificateKind(kind)
    if kind is not CertificateKind.RF:
        free_series = " ".join(series.split()).upper()
        free_number = " ".join(number.split()).upper()
        if not free_number:
            return _problem("birth_certificate.number_empty")
        if len(free_number) > _FREE_TEXT_MAX or len(free_series) > _FREE_TEXT_MAX:
            return _problem("birth_certificate.number_format")
        return BirthCertificate(kind, free_series, free_number)
    canonical_series = normalize_birth_certificate_series(series)
    if canonical_series is None:
        return _series_problem(series)
    if not number.strip():
        return _problem("birth_certificate.number_empty")
    canonical_number = normalize_birth_certificate_number(number)
    if canonical_number is None:
        return _problem("birth_certificate.number_format")
    return BirthCertificate(kind, canonical_series, canonical_number)


def check_birth_certificate(
    series: str, number: str, kind: CertificateKind | str = CertificateKind.RF
) -> IdentifierProblem | None:
    """``None`` for a well-formed certificate of ``kind``, else which part is wrong."""
    parsed = parse_birth_certificate(series, number, kind)
    return parsed if isinstance(parsed, IdentifierProblem) else None
