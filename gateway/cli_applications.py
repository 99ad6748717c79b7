"""``vhod applications``: the review queue of link applications on the command line.

* ``applications list`` — open applications, oldest first (id, waiting days, child's age,
  school, failed checks); ``--json`` for the API's shape;
* ``applications show ID`` — one application as JSON (the child's data: personal data);
* ``applications approve ID`` — a verified guardianship (evidence ``application``);
* ``applications reject ID --reason R [--note TEXT]`` — R one of ``document_unreadable``,
  ``document_mismatch``, ``not_on_roster``, ``not_guardian``, ``duplicate``, ``other``
  (a note is required with ``other``).

Decisions are audited with the actor ``cli`` and announced to the parent. Exit 2 for an
unknown id, a decided application or a bad reason.
"""

from __future__ import annotations

import json
import os

import click

from gateway.admin.applications import NotOpen
from gateway.app import build_services
from gateway.cli_support import fail
from gateway.cli_support import handle_errors
from gateway.config.loader import ENV_CONFIG
from gateway.config.loader import load_config
from gateway.core.applications import RejectReason
from gateway.core.logs import configure_logging
from gateway.http.deps import Services

__all__ = ["applications"]


def _services() -> Services:
    config = load_config(os.environ.get(ENV_CONFIG))
    configure_logging("WARNING", "text")
    return build_services(config, prepare_stores=not config.is_production)


@click.group()
def applications() -> None:
    """Review link applications (parents' applications to link a child)."""


@applications.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON lines as the admin API gives them.")
@handle_errors
def applications_list(as_json: bool) -> None:
    for row in _services().reviews.queue():
        if as_json:
            click.echo(json.dumps(row.as_json(), ensure_ascii=False))
            continue
        checks = ",".join(row.checks) or "-"
        age = "?" if row.child_age is None else str(row.child_age)
        click.echo(
            f"{row.application_id}  {row.status:<14} {row.age_days:>3}d  age {age:>2}  "
            f"{row.school_id}  {checks}"
        )


@applications.command("show")
@click.argument("application_id")
@handle_errors
def applications_show(application_id: str) -> None:
    click.echo(
        json.dumps(_services().reviews.show(application_id).as_json(), ensure_ascii=False, indent=2)
    )


@applications.command("approve")
@click.argument("application_id")
@handle_errors
def applications_approve(application_id: str) -> None:
    reviews = _services().reviews
    try:
        app = reviews.approve(application_id, reviews.reviewer(None))
    except NotOpen as exc:
        fail([str(exc)])
    click.echo(f"{app.application_id} {app.status}")


@applications.command("reject")
@click.argument("application_id")
@click.option(
    "--reason", required=True, type=click.Choice([r.value for r in RejectReason]), help="Why."
)
@click.option("--note", default="", help="Free text for the parent (required with 'other').")
@handle_errors
def applications_reject(application_id: str, reason: str, note: str) -> None:
    reviews = _services().reviews
    try:
        app = reviews.reject(application_id, reviews.reviewer(None), reason, note)
    except NotOpen as exc:
        fail([str(exc)])
    click.echo(f"{app.application_id} {app.status}")
