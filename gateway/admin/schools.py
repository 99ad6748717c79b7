"""Schools and rosters as use cases (framework-free): registry search, registry import,
roster import by an admin and roster pushes by school systems.

* :meth:`SchoolDirectory.search` — by name (Cyrillic, case- and ё/е-insensitive, partial
  words: every word of the query must occur in the name) or by INN (10 or 12 digits).
* :meth:`SchoolDirectory.import_schools` / :meth:`import_roster` — all or nothing: every bad
  row is reported (line number, field, problem — never the value) and nothing is written
  when any row is bad.
* :meth:`SchoolDirectory.push_roster` — a school system's push (``PUT`` replaces the whole
  roster, ``POST`` upserts): only for schools bound to the pushing client; an unknown
  school and a school bound to another client are the same "not found".

Every write is audited (``school.imported``, ``roster.replaced`` / ``roster.upserted``)
with counts only.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from typing import Any

from gateway.core.audit import audit
from gateway.core.children import School
from gateway.core.children import search_name
from gateway.core.errors import NotFound
from gateway.core.ports import Clock
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.rosters import RowProblem
from gateway.core.rosters import seal_roster_entry
from gateway.core.rosters import validate_roster
from gateway.core.rosters import validate_school

MAX_ROSTER_ROWS = 5000
"""Rows per push or import (a large school has about 2000 pupils)."""
MAX_QUERY = 100
SEARCH_LIMIT = 20


class RosterMode(enum.StrEnum):
    REPLACE = "replace"
    UPSERT = "upsert"


@dataclass(frozen=True)
class ImportResult:
    """What an import or push did, or why it did nothing (``problems``)."""

    problems: tuple[RowProblem, ...] = ()
    written: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        if self.problems:
            return {"errors": [p.as_json() for p in self.problems]}
        return {"added": self.added, "updated": self.updated, "removed": self.removed}


class TooManyRows(ValueError):
    """More rows than :data:`MAX_ROSTER_ROWS`."""


class SchoolDirectory:
    def __init__(self, uow: UnitOfWorkFactory, sealer: Sealer, clock: Clock) -> None:
        self._uow = uow
        self._sealer = sealer
        self._clock = clock

    def search(self, query: str) -> list[School]:
        """Schools matching ``query``: an INN when it is 10 or 12 digits, else name words."""
        text = query.strip()[:MAX_QUERY]
        digits = text.replace(" ", "")
        inn = digits if digits.isascii() and digits.isdigit() and len(digits) in (10, 12) else None
        words = tuple(w for w in search_name(text).split() if len(w) >= 2)[:5]
        if not words and inn is None:
            return []
        with self._uow(read_only=True) as uow:
            return uow.schools.search(() if inn else words, inn, SEARCH_LIMIT)

    def get(self, school_id: str) -> School | None:
        with self._uow(read_only=True) as uow:
            return uow.schools.get(school_id)

    def import_schools(
        self, rows: Sequence[Mapping[str, Any]], numbers: Sequence[int]
    ) -> ImportResult:
        """Insert or replace every school; nothing written when any row is bad."""
        schools: list[School] = []
        problems: list[RowProblem] = []
        seen: set[str] = set()
        for raw, number in zip(rows, numbers, strict=True):
            result = validate_school(raw, number)
            if isinstance(result, list):
                problems.extend(result)
            elif result.school_id in seen:
                problems.append(
                    RowProblem(
                        number,
                        "school_id",
                        "field.duplicate",
                        "Такой идентификатор уже встречался выше.",
                        "This id appeared above already.",
                    )
                )
            else:
                seen.add(result.school_id)
                schools.append(result)
        if problems:
            return ImportResult(problems=tuple(problems))
        now = self._clock.now()
        with self._uow() as uow:
            for school in schools:
                uow.schools.save(school)
            audit(uow, now, "school.imported", count=len(schools))
            uow.commit()
        return ImportResult(written=len(schools), added=len(schools))

    def bind_client(self, school_id: str, client_id: str) -> None:
        """Bind a school system to a school (it may push the roster, serve its pupils)."""
        now = self._clock.now()
        with self._uow() as uow:
            school = uow.schools.get(school_id)
            if school is None:
                raise NotFound("school not found")
            if client_id not in school.client_ids:
                clients = (*school.client_ids, client_id)
                uow.schools.save(replace(school, client_ids=clients))
                audit(uow, now, "school.client_bound", school_id=school_id, client_id=client_id)
            uow.commit()

    def import_roster(
        self,
        school_id: str,
        rows: Sequence[Any],
        numbers: Sequence[int] | None = None,
        mode: RosterMode = RosterMode.REPLACE,
    ) -> ImportResult:
        """An admin's roster import (CSV); raises ``NotFound`` for an unknown school."""
        return self._write(school_id, rows, numbers, mode, by_client=None)

    def push_roster(
        self, client_id: str, school_id: str, rows: Sequence[Any], mode: RosterMode
    ) -> ImportResult:
        """A school system's push; ``NotFound`` unless the school is bound to the client.

        :raises TooManyRows: more than :data:`MAX_ROSTER_ROWS` rows.
        """
        return self._write(school_id, rows, None, mode, by_client=client_id)

    def _write(
        self,
        school_id: str,
        rows: Sequence[Any],
        numbers: Sequence[int] | None,
        mode: RosterMode,
        by_client: str | None,
    ) -> ImportResult:
        if len(rows) > MAX_ROSTER_ROWS:
            raise TooManyRows(f"at most {MAX_ROSTER_ROWS} rows")
        with self._uow(read_only=True) as reader:
            school = reader.schools.get(school_id)
        if school is None or (by_client is not None and by_client not in school.client_ids):
            raise NotFound("school not found")
        now = self._clock.now()
        today = datetime.fromtimestamp(now, tz=UTC).date()
        good, problems = validate_roster(rows, today, numbers)
        if problems:
            return ImportResult(problems=tuple(problems))
        entries = [seal_roster_entry(self._sealer, school_id, row, now) for row in good]
        with self._uow() as uow:
            if mode is RosterMode.REPLACE:
                before = {e.pupil_id for e in uow.rosters.list_for_school(school_id)}
                removed = uow.rosters.replace(school_id, entries)
                updated = sum(1 for e in entries if e.pupil_id in before)
                added = len(entries) - updated
            else:
                added, updated = uow.rosters.upsert(school_id, entries)
                removed = 0
            fields = {"school_id": school_id, "added": added, "updated": updated}
            if by_client is not None:
                fields["client_id"] = by_client
            event = "roster.replaced" if mode is RosterMode.REPLACE else "roster.upserted"
            audit(uow, now, event, removed=removed, **fields)
            uow.commit()
        return ImportResult(written=len(entries), added=added, updated=updated, removed=removed)
