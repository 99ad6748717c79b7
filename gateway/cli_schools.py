"""``vhod schools`` and ``vhod roster``: the school registry and rosters for admins.

* ``schools import FILE.csv`` — columns ``school_id, full_name, short_name, inn, ogrn,
  region_code, address, client_ids`` (client ids separated by spaces); insert or replace.
* ``schools bind SCHOOL CLIENT`` — bind a school system (client) to a school.
* ``schools search QUERY`` — as ``GET /schools?q=``.
* ``roster import SCHOOL FILE.csv [--upsert]`` — columns as ``gateway.core.rosters``
  describes; replaces the school's roster unless ``--upsert``.

CSV files are UTF-8 (a BOM is fine), comma- or semicolon-separated, with a header row.
Every bad row is reported with its line number, field and problem (never the value), and
nothing is written when any row is bad (exit 2).
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import click

from gateway.admin.schools import ImportResult
from gateway.admin.schools import RosterMode
from gateway.admin.schools import TooManyRows
from gateway.app import build_services
from gateway.cli_support import fail
from gateway.cli_support import handle_errors
from gateway.config.loader import ENV_CONFIG
from gateway.config.loader import load_config
from gateway.core.errors import ValidationFailed
from gateway.core.logs import configure_logging
from gateway.http.deps import Services

__all__ = ["roster", "schools"]


def _services() -> Services:
    config = load_config(os.environ.get(ENV_CONFIG))
    configure_logging("WARNING", "text")
    return build_services(config, prepare_stores=not config.is_production)


def read_csv(path: str) -> tuple[list[dict[str, Any]], list[int]]:
    """The rows of a CSV file as dicts and each row's line number."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed([f"{path}: cannot read ({type(exc).__name__})"]) from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    rows: list[dict[str, Any]] = []
    numbers: list[int] = []
    for row in reader:
        rows.append({(k or "").strip(): v for k, v in row.items()})
        numbers.append(reader.line_num)
    return rows, numbers


def _report(result: ImportResult, what: str) -> None:
    if not result.ok:
        fail([f"line {p.row}: {p.field}: {p.en} ({p.code})" for p in result.problems], 2)
    click.echo(f"{what}: {result.added} added, {result.updated} updated, {result.removed} removed")


@click.group("schools")
def schools() -> None:
    """The school registry: import, bind a school system, search."""


@schools.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@handle_errors
def schools_import(file: str) -> None:
    """Insert or replace the schools of FILE.csv (all or nothing)."""
    rows, numbers = read_csv(file)
    _report(_services().schools.import_schools(rows, numbers), "schools")


@schools.command("bind")
@click.argument("school_id")
@click.argument("client_id")
@handle_errors
def schools_bind(school_id: str, client_id: str) -> None:
    """Bind the school system CLIENT_ID to SCHOOL_ID (it may push the roster)."""
    _services().schools.bind_client(school_id, client_id)
    click.echo(f"{client_id} bound to {school_id}")


@schools.command("search")
@click.argument("query")
@handle_errors
def schools_search(query: str) -> None:
    """Find schools by name words or INN."""
    for school in _services().schools.search(query):
        click.echo(
            json.dumps({"id": school.school_id, "name": school.short_name}, ensure_ascii=False)
        )


@click.group("roster")
def roster() -> None:
    """Pupil rosters of schools."""


@roster.command("import")
@click.argument("school_id")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--upsert", is_flag=True, help="Add and update pupils; keep the others.")
@handle_errors
def roster_import(school_id: str, file: str, upsert: bool) -> None:
    """Replace SCHOOL_ID's roster with FILE.csv (all or nothing)."""
    rows, numbers = read_csv(file)
    mode = RosterMode.UPSERT if upsert else RosterMode.REPLACE
    try:
        result = _services().schools.import_roster(school_id, rows, numbers, mode)
    except TooManyRows as exc:
        fail([str(exc)], 2)
    _report(result, "roster")
