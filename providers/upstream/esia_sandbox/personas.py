"""The sandbox's test people: ``personas.json`` in this package plus an optional extra file.

Each persona is one ESIA account: the person resource (``/rs/prns/{oid}``), contacts,
documents, and the children a parent registered (``/kids``; ESIA.md §5, §9). Dates are
given relative to today so that ages stay right (a child "about 7" stays 7): the shapes are
described in the JSON file's ``_comment``. Document and contact ids are derived from the oid
(``oid * 100 + n``), so that URLs are stable across restarts.

Account levels (ESIA.md §6) become ESIA's flags:

==============  ================  =====================  ==========================
level           REST ``trusted``  id_token ``is_tru``    ``urn:esia:sbj:lvl``
==============  ================  =====================  ==========================
``confirmed``   ``true``          ``true``               ``PR``
``standard``    ``false``         absent                 ``P``
``simplified``  ``false``         absent                 ``P``
``child``       ``false``         absent                 ``KD``
==============  ================  =====================  ==========================
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta
from pathlib import Path
from typing import Any

__all__ = ["LEVELS", "Kid", "Persona", "etag", "load_personas"]

PACKAGED = Path(__file__).parent / "personas.json"
LEVELS = {
    "confirmed": (True, "PR"),
    "standard": (False, "P"),
    "simplified": (False, "P"),
    "child": (False, "KD"),
}
_ID = re.compile(r"^[a-z0-9_-]{1,40}$")
UPDATED_ON = 1_735_689_600  # a fixed "updatedOn" (2025-01-01), so eTags are stable


def etag(value: Any) -> str:
    """ESIA-style ``eTag``: 40 upper-case hex characters (a digest of the content)."""
    raw = json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest().upper()


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _date(spec: Any, today: date, birth: date | None, where: str) -> str:
    """Resolve a date spec to ESIA's ``DD.MM.YYYY``."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict) and isinstance(spec.get("ago"), dict):
        ago = spec["ago"]
        day = _years_before(today, int(ago.get("years", 0))) - timedelta(
            days=int(ago.get("days", 0))
        )
    elif isinstance(spec, dict) and "after_birth_days" in spec:
        if birth is None:
            raise ValueError(f"{where}: after_birth_days needs the owner's birthDate")
        day = birth + timedelta(days=int(spec["after_birth_days"]))
    else:
        raise ValueError(
            f"{where}: a date is 'DD.MM.YYYY', {{'ago': …}} or {{'after_birth_days': n}}"
        )
    return day.strftime("%d.%m.%Y")


def _parse(text: str) -> date:
    day, month, year = (int(p) for p in text.split("."))
    return date(year, month, day)


def _resolve(obj: dict[str, Any], today: date, birth: date | None, where: str) -> dict[str, Any]:
    out = dict(obj)
    for key in ("birthDate", "issueDate", "actDate", "expiryDate"):
        if key in out:
            out[key] = _date(out[key], today, birth, f"{where}.{key}")
    return out


@dataclass(frozen=True)
class Kid:
    """A child in a parent's ``/kids``: the record, its documents, and its own account."""

    record: dict[str, Any]
    documents: tuple[dict[str, Any], ...]
    account: str | None = None


@dataclass(frozen=True)
class Persona:
    """One ESIA account of the sandbox."""

    id: str
    label_ru: str
    label_en: str
    oid: int
    level: str
    person: dict[str, Any]
    contacts: tuple[dict[str, Any], ...] = ()
    documents: tuple[dict[str, Any], ...] = ()
    kids: tuple[Kid, ...] = field(default_factory=tuple)

    @property
    def trusted(self) -> bool:
        return LEVELS[self.level][0]

    @property
    def lvl(self) -> str:
        return LEVELS[self.level][1]

    def kid(self, kid_id: str) -> Kid | None:
        return next((k for k in self.kids if str(k.record["id"]) == kid_id), None)

    def public(self) -> dict[str, Any]:
        """What ``GET /sandbox/personas`` shows (test data, made up)."""
        return {
            "id": self.id,
            "label_ru": self.label_ru,
            "label_en": self.label_en,
            "oid": self.oid,
            "level": self.level,
            "lvl": self.lvl,
            "trusted": self.trusted,
            "birthDate": self.person.get("birthDate"),
            "snils": self.person.get("snils"),
            "kids": [
                {
                    "id": k.record["id"],
                    "birthDate": k.record.get("birthDate"),
                    "snils": k.record.get("snils"),
                    "account": k.account,
                    "documents": [d.get("type") for d in k.documents],
                }
                for k in self.kids
            ],
        }


def _items(
    raw: list[Any], base: int, today: date, birth: date | None, where: str
) -> tuple[dict[str, Any], ...]:
    items = []
    for n, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            raise ValueError(f"{where}[{n}]: an object expected")
        item = _resolve(entry, today, birth, f"{where}[{n}]")
        item.setdefault("id", base * 100 + n)
        item["stateFacts"] = ["Identifiable"]
        item["eTag"] = etag(item)
        items.append(item)
    return tuple(items)


def _persona(raw: dict[str, Any], today: date) -> Persona:
    pid = raw.get("id")
    if not isinstance(pid, str) or not _ID.match(pid):
        raise ValueError(f"persona id {pid!r}: use 1-40 of a-z 0-9 _ -")
    level = raw.get("level")
    if level not in LEVELS:
        raise ValueError(f"{pid}: level must be one of {', '.join(LEVELS)}")
    oid = raw.get("oid")
    if not isinstance(oid, int) or oid <= 0:
        raise ValueError(f"{pid}: oid must be a positive integer")
    person = _resolve(dict(raw.get("person") or {}), today, None, f"{pid}.person")
    birth = _parse(person["birthDate"]) if "birthDate" in person else None
    contacts = _items(list(raw.get("contacts") or []), oid, today, birth, f"{pid}.contacts")
    documents = _items(list(raw.get("documents") or []), oid, today, birth, f"{pid}.documents")
    kids = []
    for n, entry in enumerate(raw.get("kids") or [], start=1):
        record = _resolve(
            {k: v for k, v in entry.items() if k not in ("documents", "account")},
            today,
            None,
            f"{pid}.kids[{n}]",
        )
        if not isinstance(record.get("id"), int):
            raise ValueError(f"{pid}.kids[{n}]: an integer id is required")
        kid_birth = _parse(record["birthDate"]) if "birthDate" in record else None
        record["stateFacts"] = ["Identifiable"]
        record["eTag"] = etag(record)
        docs = _items(
            list(entry.get("documents") or []),
            int(record["id"]),
            today,
            kid_birth,
            f"{pid}.kids[{n}].documents",
        )
        kids.append(Kid(record=record, documents=docs, account=entry.get("account")))
    id_doc = next((d for d in documents if d.get("type") in ("RF_PASSPORT", "FID_DOC")), None)
    trusted = LEVELS[str(level)][0]
    person.update(
        {
            "stateFacts": ["EntityRoot"],
            "trusted": trusted,
            "status": "REGISTERED",
            "verifying": False,
            "updatedOn": UPDATED_ON,
        }
    )
    if id_doc is not None:
        person["rIdDoc"] = id_doc["id"]
    person["eTag"] = etag(person)
    return Persona(
        id=pid,
        label_ru=str(raw.get("label_ru", pid)),
        label_en=str(raw.get("label_en", pid)),
        oid=oid,
        level=str(level),
        person=person,
        contacts=contacts,
        documents=documents,
        kids=tuple(kids),
    )


def load_personas(extra: Path | None = None, today: date | None = None) -> dict[str, Persona]:
    """The packaged personas, then those of ``extra`` (same ids replace), in file order.

    :raises ValueError: naming the persona and field that is wrong.
    """
    today = today or date.today()  # noqa: DTZ011 -- ages are calendar dates, local is right
    raw: dict[str, dict[str, Any]] = {}
    for path in (PACKAGED, extra):
        if path is None or not path.exists():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        for entry in data.get("personas", []):
            raw[str(entry.get("id"))] = entry
    personas = {pid: _persona(entry, today) for pid, entry in raw.items()}
    oids = [p.oid for p in personas.values()]
    if len(oids) != len(set(oids)):
        raise ValueError("two personas share an oid")
    for persona in personas.values():
        for kid in persona.kids:
            if kid.account is not None and kid.account not in personas:
                raise ValueError(f"{persona.id}: kid account {kid.account!r} is not a persona")
    return personas
