"""Roster rows and school records: validation (per row, per field, never echoing a value),
and the sealing and blind indexes of a pupil's person data.

A roster row (CSV column / JSON key → meaning):

=======================  ================================================================
``pupil_id``             the school system's own id of the pupil (required, ≤ 64 chars)
``class``                the class, e.g. ``2А`` (required, ≤ 16 chars)
``family_name``          required; ``given_name`` required; ``middle_name`` optional
``birthdate``            ``YYYY-MM-DD`` or ``DD.MM.YYYY`` (required)
``snils``                ``XXX-XXX-XXX YY`` or 11 digits
``certificate_series``   birth certificate (RF: ``IV-МЮ``; look-alikes normalised)
``certificate_number``   six digits for RF certificates
``certificate_kind``     ``rf`` (default), ``foreign`` or ``ussr``
=======================  ================================================================

At least one of the SNILS and the birth certificate is required (matching uses them). The
person data is sealed as one JSON document under ``roster_context(entry_id)``; the SNILS and
the certificate reach the database only as blind indexes (:func:`snils_index`,
:func:`certificate_index`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.core.children import CERTIFICATE_INDEX
from gateway.core.children import SNILS_INDEX
from gateway.core.children import RosterEntry
from gateway.core.children import RosterPerson
from gateway.core.children import School
from gateway.core.children import roster_context
from gateway.core.children import roster_entry_id
from gateway.core.identifiers import BirthCertificate
from gateway.core.identifiers import CertificateKind
from gateway.core.identifiers import IdentifierProblem
from gateway.core.identifiers import check_inn
from gateway.core.identifiers import check_ogrn
from gateway.core.identifiers import check_snils
from gateway.core.identifiers import normalize_snils
from gateway.core.identifiers import parse_birth_certificate
from gateway.core.ports import Sealer

MAX_NAME = 100
MAX_PUPIL_ID = 64
MAX_CLASS = 16
_DOTTED = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")
_REGION = re.compile(r"^\d{2,3}$")
_SCHOOL_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@dataclass(frozen=True)
class RowProblem:
    """One bad field of one row: ``row`` is the JSON index or the CSV line number."""

    row: int
    field: str
    code: str
    ru: str
    en: str

    def as_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "field": self.field,
            "code": self.code,
            "ru": self.ru,
            "en": self.en,
        }


@dataclass(frozen=True)
class RosterRow:
    """A validated roster row."""

    pupil_id: str
    class_name: str
    person: RosterPerson


_TEXT_PROBLEMS = {
    "required": ("Поле не заполнено.", "The field is empty."),
    "too_long": ("Значение слишком длинное.", "The value is too long."),
    "date": (
        "Дата — в виде ГГГГ-ММ-ДД или ДД.ММ.ГГГГ, не позже сегодняшней.",
        "A date is YYYY-MM-DD or DD.MM.YYYY, not in the future.",
    ),
    "kind": (
        "Вид свидетельства: rf, foreign или ussr.",
        "The certificate kind is rf, foreign or ussr.",
    ),
    "identifiers": (
        "Нужен СНИЛС или свидетельство о рождении.",
        "A SNILS or a birth certificate is needed.",
    ),
    "region": ("Код региона — две или три цифры.", "A region code has two or three digits."),
    "school_id": (
        "Идентификатор школы: латинские буквы, цифры, точка, дефис, подчёркивание.",
        "A school id holds Latin letters, digits, dot, hyphen and underscore.",
    ),
    "duplicate": ("Такой идентификатор уже встречался выше.", "This id appeared above already."),
}


def _text_problem(row: int, field: str, code: str) -> RowProblem:
    ru, en = _TEXT_PROBLEMS[code]
    return RowProblem(row, field, f"field.{code}", ru, en)


def _id_problem(row: int, field: str, problem: IdentifierProblem) -> RowProblem:
    return RowProblem(row, field, problem.code, problem.ru, problem.en)


def _value(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return " ".join(value.split()) if isinstance(value, str) else ""


def iso_date(value: str, today: date) -> str | None:
    """``YYYY-MM-DD`` from either accepted form, not after ``today``; else ``None``."""
    dotted = _DOTTED.match(value)
    text = f"{dotted[3]}-{dotted[2]}-{dotted[1]}" if dotted else value
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        return None
    return parsed.isoformat() if len(text) == 10 and parsed <= today else None


def _required(
    raw: Mapping[str, Any], row: int, key: str, limit: int, problems: list[RowProblem]
) -> str:
    value = _value(raw, key)
    if not value:
        problems.append(_text_problem(row, key, "required"))
    elif len(value) > limit:
        problems.append(_text_problem(row, key, "too_long"))
    return value


def validate_roster_row(
    raw: Mapping[str, Any], row: int, today: date
) -> RosterRow | list[RowProblem]:
    """The row, or every problem in it (field and what is wrong, never the value)."""
    problems: list[RowProblem] = []
    pupil_id = _required(raw, row, "pupil_id", MAX_PUPIL_ID, problems)
    class_name = _required(raw, row, "class", MAX_CLASS, problems)
    family_name = _required(raw, row, "family_name", MAX_NAME, problems)
    given_name = _required(raw, row, "given_name", MAX_NAME, problems)
    middle_name = _value(raw, "middle_name")
    if len(middle_name) > MAX_NAME:
        problems.append(_text_problem(row, "middle_name", "too_long"))
    birth_text = _value(raw, "birthdate")
    birthdate = iso_date(birth_text, today) if birth_text else None
    if not birth_text:
        problems.append(_text_problem(row, "birthdate", "required"))
    elif birthdate is None:
        problems.append(_text_problem(row, "birthdate", "date"))
    snils_text = _value(raw, "snils")
    snils = ""
    if snils_text:
        snils_problem = check_snils(snils_text)
        if snils_problem is not None:
            problems.append(_id_problem(row, "snils", snils_problem))
        else:
            snils = normalize_snils(snils_text) or ""
    certificate = _certificate(raw, row, problems)
    if not snils_text and certificate is None and not _value(raw, "certificate_number"):
        problems.append(_text_problem(row, "snils", "identifiers"))
    if problems:
        return problems
    person = RosterPerson(
        family_name=family_name,
        given_name=given_name,
        middle_name=middle_name,
        birthdate=birthdate or "",
        snils=snils,
        certificate_kind="" if certificate is None else str(certificate.kind),
        certificate_series="" if certificate is None else certificate.series,
        certificate_number="" if certificate is None else certificate.number,
    )
    return RosterRow(pupil_id=pupil_id, class_name=class_name, person=person)


def _certificate(
    raw: Mapping[str, Any], row: int, problems: list[RowProblem]
) -> BirthCertificate | None:
    series, number = _value(raw, "certificate_series"), _value(raw, "certificate_number")
    if not series and not number:
        return None
    kind_text = _value(raw, "certificate_kind").lower() or str(CertificateKind.RF)
    if kind_text not in {str(k) for k in CertificateKind}:
        problems.append(_text_problem(row, "certificate_kind", "kind"))
        return None
    parsed = parse_birth_certificate(series, number, kind_text)
    if isinstance(parsed, IdentifierProblem):
        field = "certificate_series" if ".series" in parsed.code else "certificate_number"
        problems.append(_id_problem(row, field, parsed))
        return None
    return parsed


def validate_roster(
    rows: Sequence[Any], today: date, rows_numbers: Sequence[int] | None = None
) -> tuple[list[RosterRow], list[RowProblem]]:
    """Validate every row (never stopping at the first bad one) and duplicate pupil ids.

    :param rows_numbers: the number to report for each row (CSV line numbers); else the
        row's index.
    """
    good: list[RosterRow] = []
    problems: list[RowProblem] = []
    seen: set[str] = set()
    for index, raw in enumerate(rows):
        number = rows_numbers[index] if rows_numbers else index
        if not isinstance(raw, Mapping):
            problems.append(_text_problem(number, "row", "required"))
            continue
        result = validate_roster_row(raw, number, today)
        if isinstance(result, list):
            problems.extend(result)
            continue
        if result.pupil_id in seen:
            problems.append(_text_problem(number, "pupil_id", "duplicate"))
            continue
        seen.add(result.pupil_id)
        good.append(result)
    return good, problems


def validate_school(raw: Mapping[str, Any], row: int) -> School | list[RowProblem]:
    """A school record (registry import), or every problem in it."""
    problems: list[RowProblem] = []
    school_id = _required(raw, row, "school_id", 64, problems)
    if school_id and not _SCHOOL_ID.match(school_id):
        problems.append(_text_problem(row, "school_id", "school_id"))
    full_name = _required(raw, row, "full_name", 500, problems)
    short_name = _required(raw, row, "short_name", 255, problems)
    inn = _value(raw, "inn")
    if (inn_problem := check_inn(inn)) is not None:
        problems.append(_id_problem(row, "inn", inn_problem))
    ogrn = _value(raw, "ogrn")
    if ogrn and (ogrn_problem := check_ogrn(ogrn)) is not None:
        problems.append(_id_problem(row, "ogrn", ogrn_problem))
    region = _value(raw, "region_code")
    if region and not _REGION.match(region):
        problems.append(_text_problem(row, "region_code", "region"))
    address = _value(raw, "address")
    if len(address) > 500:
        problems.append(_text_problem(row, "address", "too_long"))
    if problems:
        return problems
    return School(
        school_id=school_id,
        full_name=full_name,
        short_name=short_name,
        inn=inn,
        ogrn=ogrn,
        region_code=region,
        address=address,
        client_ids=tuple(_value(raw, "client_ids").split()),
    )


# --------------------------------------------------------------------------- sealing


def snils_index(sealer: Sealer, snils: str) -> str | None:
    """The blind index of a SNILS (any accepted form), ``None`` when it is not 11 digits."""
    digits = normalize_snils(snils)
    return None if digits is None else sealer.blind_index(SNILS_INDEX, digits)


def certificate_index(sealer: Sealer, person: RosterPerson) -> str | None:
    if not person.certificate_number:
        return None
    canonical = BirthCertificate(
        CertificateKind(person.certificate_kind or CertificateKind.RF),
        person.certificate_series,
        person.certificate_number,
    ).canonical
    return sealer.blind_index(CERTIFICATE_INDEX, canonical)


def seal_roster_entry(sealer: Sealer, school_id: str, row: RosterRow, now: float) -> RosterEntry:
    """The stored form of a row: person data sealed, identifiers as blind indexes."""
    entry_id = roster_entry_id(school_id, row.pupil_id)
    raw = json.dumps(asdict(row.person), ensure_ascii=False, sort_keys=True).encode()
    return RosterEntry(
        entry_id=entry_id,
        school_id=school_id,
        pupil_id=row.pupil_id,
        class_name=row.class_name,
        sealed_person=sealer.seal(raw, roster_context(entry_id)),
        snils_index=snils_index(sealer, row.person.snils) if row.person.snils else None,
        certificate_index=certificate_index(sealer, row.person),
        updated_at=now,
    )


def open_roster_person(sealer: Sealer, entry: RosterEntry) -> RosterPerson:
    data = json.loads(sealer.open(entry.sealed_person, roster_context(entry.entry_id)))
    return RosterPerson(**{k: str(v) for k, v in data.items()})
