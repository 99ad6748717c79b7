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
"""

from __future__ import annotations

import re

__all__ = [
    "format_snils",
    "is_valid_birth_certificate",
    "is_valid_inn",
    "is_valid_ogrn",
    "is_valid_snils",
    "normalize_birth_certificate_number",
    "normalize_birth_certificate_series",
    "normalize_snils",
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
