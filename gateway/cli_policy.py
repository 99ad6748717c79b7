"""``vhod policy``: the admin rule documents from the command line.

* ``validate FILE`` — every problem with its line (exit 2 when there is one);
* ``dry-run FILE`` — what FILE would change for recent grants, before applying it;
* ``apply FILE --comment …`` — make FILE the active version (audited, author ``cli``);
* ``history`` / ``show [VERSION]`` — the versions; one version's text (default: active);
* ``rollback VERSION`` — apply an old version's text again, as a new version;
* ``explain --client C --subject S --scope "…" [--acting-for CHILD]`` — what the client
  would get for that person and why, rule by rule. ``S`` is an internal subject id or a
  subject digest (as shown in audit events and on /admin/consents) — never an ESIA id or
  SNILS.

Exit codes follow ``vhod``: 0 success; 1 the operation failed; 2 bad input.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from gateway.admin.policies import ExplainQuery
from gateway.admin.policies import age_reader
from gateway.admin.policies import apply_document
from gateway.admin.policies import dry_run_text
from gateway.admin.policies import explain_query
from gateway.admin.policies import policy_history
from gateway.admin.policies import rollback_document
from gateway.admin.policies import show_document
from gateway.admin.policies import validate_document
from gateway.app import build_services
from gateway.cli_support import fail
from gateway.cli_support import handle_errors
from gateway.config.loader import ENV_CONFIG
from gateway.config.loader import load_config
from gateway.config.schema import ACR_ESIA
from gateway.config.schema import ACR_VALUES
from gateway.core.errors import ValidationFailed
from gateway.core.logs import configure_logging
from gateway.http.deps import Services

__all__ = ["policy"]

AUTHOR = "cli"


def _services() -> Services:
    config = load_config(os.environ.get(ENV_CONFIG))
    configure_logging("WARNING", "text")
    return build_services(config, prepare_stores=not config.is_production)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed([f"{path}: cannot read ({type(exc).__name__})"]) from None


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group("policy")
def policy() -> None:
    """Admin rule documents: validate, dry-run, apply, history, rollback, explain."""


@policy.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@handle_errors
def policy_validate(file: str) -> None:
    """Check FILE against the scope catalogue; list every problem with its line."""
    svc = _services()
    report = validate_document(svc.uow, svc.config.scopes, _read(file))
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not report.ok:
        fail([f"{file}: {p}" for p in report.problems], 2)
    click.echo(f"ok: {report.rules} rules")


@policy.command("dry-run")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 3650))
@click.option("--limit", default=500, show_default=True, type=click.IntRange(1, 5000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def policy_dry_run(file: str, days: int, limit: int, as_json: bool) -> None:
    """What FILE would change for the live grants of the last DAYS days."""
    svc = _services()
    report = dry_run_text(
        svc.uow,
        svc.clock,
        svc.pepper,
        svc.config.scopes,
        svc.policy_documents,
        _read(file),
        age_reader(svc.sealer, svc.clock),
        days=days,
        limit=limit,
    )
    if as_json:
        _echo_json(report.to_dict())
        return
    for line in report.lines():
        click.echo(line)


@policy.command("apply")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--comment", required=True, help="Why (shown in the history).")
@handle_errors
def policy_apply(file: str, comment: str) -> None:
    """Validate FILE and make it the active version (one transaction, audited)."""
    svc = _services()
    record = apply_document(
        svc.uow, svc.clock, svc.config.scopes, _read(file), AUTHOR, comment, svc.policy_documents
    )
    click.echo(f"applied version {record.version} (sha256 {record.sha256[:16]})")


@policy.command("history")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@handle_errors
def policy_history_cmd(limit: int) -> None:
    """The versions, newest first: version, state, applied at, author, comment."""
    svc = _services()
    records = policy_history(svc.uow, limit)
    if not records:
        click.echo("no version applied yet: the shipped default (policies/default.toml) is active")
        return
    for r in records:
        state = "active" if r.active else "-"
        click.echo(f"{r.version}\t{state}\t{r.created_at:.0f}\t{r.author}\t{r.comment}")


@policy.command("show")
@click.argument("version", required=False, type=click.IntRange(1))
@handle_errors
def policy_show(version: int | None) -> None:
    """Print a version's text (default: the active one)."""
    svc = _services()
    shown = show_document(svc.uow, version)
    click.echo(shown.text, nl=False)


@policy.command("rollback")
@click.argument("version", type=click.IntRange(1))
@click.option("--comment", default="", help="Why (default: 'rollback to version N').")
@handle_errors
def policy_rollback(version: int, comment: str) -> None:
    """Apply VERSION's text again, as a new version (history keeps everything)."""
    svc = _services()
    record = rollback_document(
        svc.uow, svc.clock, svc.config.scopes, version, AUTHOR, comment, svc.policy_documents
    )
    click.echo(f"applied version {record.version} (the text of version {version})")


@policy.command("explain")
@click.option("--client", "client_id", required=True, help="Client id.")
@click.option("--subject", required=True, help="Internal subject id or subject digest.")
@click.option("--scope", required=True, help='Space-separated, e.g. "openid diary".')
@click.option("--acting-for", default=None, help="The child (subject id or digest).")
@click.option(
    "--acr",
    default=ACR_ESIA,
    show_default=True,
    type=click.Choice(ACR_VALUES),
    help="Assume this sign-in assurance.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def policy_explain(
    client_id: str, subject: str, scope: str, acting_for: str | None, acr: str, as_json: bool
) -> None:
    """What CLIENT would get for SUBJECT asking for SCOPE, and why, rule by rule."""
    svc = _services()
    query = ExplainQuery(
        client_id=client_id,
        subject=subject,
        scopes=tuple(dict.fromkeys(scope.split())),
        acting_for=acting_for,
        acr=acr,
    )
    explanation = explain_query(
        svc.uow,
        svc.clock,
        svc.pepper,
        svc.config.scopes,
        svc.policy_documents,
        query,
        age_reader(svc.sealer, svc.clock),
    )
    if as_json:
        _echo_json(explanation.to_dict())
        return
    for line in explanation.lines():
        click.echo(line)
