"""The dev stack's school registry and roster (made-up data only).

Two schools (``demo-school-1``, bound to the demo school client, and a gymnasium for the
search page) and a roster of ``demo-school-1`` built from the ESIA sandbox personas'
children: every kid of every persona is on it except ``parent``'s 12-year-old Мария
(:data:`LEFT_OFF`), left off deliberately so that «Мои дети» shows a kid that did not
match and what to do. ``kid7`` and ``teen15`` (the parent's other two kids, with their
own accounts) are on it, so their own logins resolve to the same pupils.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from datetime import date
from typing import Any

from gateway.admin.schools import RosterMode
from gateway.core.profiles import age_on
from gateway.http.deps import Services
from providers.upstream.esia_sandbox.personas import Persona

DEMO_SCHOOL_ID = "demo-school-1"
LEFT_OFF = frozenset({7000002})
"""Kid record ids deliberately on no roster."""
CLASSES = {7: "1А", 10: "4Б", 12: "6В", 15: "9А"}

SCHOOLS: tuple[dict[str, str], ...] = (
    {
        "school_id": DEMO_SCHOOL_ID,
        "full_name": "Муниципальное бюджетное общеобразовательное учреждение "
        "«Средняя общеобразовательная школа № 1 имени Ёлкина» г. Тестовска",
        "short_name": "Школа № 1",
        "inn": "7712345671",
        "ogrn": "1027700132195",
        "region_code": "77",
        "address": "г. Тестовск, ул. Учебная, д. 1",
    },
    {
        "school_id": "demo-gymnasium-2",
        "full_name": "Государственное бюджетное общеобразовательное учреждение «Гимназия № 2»",
        "short_name": "Гимназия № 2",
        "inn": "1234567894",
        "ogrn": "",
        "region_code": "50",
        "address": "г. Тестовск, пр. Знаний, д. 2",
    },
)


def _iso(dotted: Any) -> str:
    day, month, year = str(dotted).split(".")
    return f"{year}-{month}-{day}"


def roster_rows(personas: Iterable[Persona]) -> list[dict[str, str]]:
    """Roster rows for the personas' kids (all but :data:`LEFT_OFF`)."""
    rows: list[dict[str, str]] = []
    for persona in personas:
        for kid in persona.kids:
            record = kid.record
            if record["id"] in LEFT_OFF:
                continue
            birthdate = _iso(record["birthDate"])
            age = age_on(birthdate, date.today())  # noqa: DTZ011 -- as the sandbox's dates
            row = {
                "pupil_id": f"P{record['id']}",
                "class": CLASSES.get(age or 0, "5А"),
                "family_name": str(record.get("lastName", "")),
                "given_name": str(record.get("firstName", "")),
                "middle_name": str(record.get("middleName", "")),
                "birthdate": birthdate,
                "snils": str(record.get("snils", "")),
            }
            cert = next((d for d in kid.documents if d.get("type") == "RF_BRTH_CERT"), None)
            if cert is not None:
                row["certificate_series"] = str(cert.get("series", ""))
                row["certificate_number"] = str(cert.get("number", ""))
            rows.append(row)
    return rows


def seed_school_registry(
    services: Services,
    personas: Mapping[str, Persona],
    client_ids: tuple[str, ...] = ("demo-school",),
) -> None:
    """Write the registry and the roster (idempotent: the same rows at every start)."""
    schools = [dict(s) for s in SCHOOLS]
    schools[0]["client_ids"] = " ".join(client_ids)
    result = services.schools.import_schools(schools, list(range(2, 2 + len(schools))))
    if not result.ok:
        raise RuntimeError(f"demo schools invalid: {[p.code for p in result.problems]}")
    rows = roster_rows(personas.values())
    roster = services.schools.import_roster(DEMO_SCHOOL_ID, rows, None, RosterMode.REPLACE)
    if not roster.ok:
        raise RuntimeError(f"demo roster invalid: {[(p.row, p.code) for p in roster.problems]}")
