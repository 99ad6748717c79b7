"""Dry run: what a new rule document would change for real recent grants.

For each case (a client, a person, the scopes they were granted — taken from recent
grants), the engine's decision under the document in force is compared with the decision
under the candidate; only the rule-documents step differs between the two runs, so every
difference is the new document's doing. Nothing is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from policies.build import build_policy_engine
from policies.checks import Decision
from policies.checks import PolicyContext
from policies.documents.source import FixedRuleDocuments
from policies.documents.source import LoadedDocument
from policies.explain import decisions_differ
from policies.explain import summarize


@dataclass(frozen=True)
class DryRunCase:
    """One (client, person, scopes) to decide; ``label`` identifies it safely (a grant
    id and a subject digest — never personal data)."""

    label: dict[str, Any]
    ctx: PolicyContext


@dataclass(frozen=True)
class Change:
    label: dict[str, Any]
    before: Decision
    after: Decision

    def to_dict(self) -> dict[str, Any]:
        return {**self.label, "before": summarize(self.before), "after": summarize(self.after)}


@dataclass(frozen=True)
class DryRunReport:
    current_version: str
    candidate_version: str
    cases: int
    changes: tuple[Change, ...]

    @property
    def summary(self) -> dict[str, int]:
        """How many cases move from one action to another (``allow->deny``: 3)."""
        counts = Counter(f"{c.before.action}->{c.after.action}" for c in self.changes)
        return dict(sorted(counts.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "current_version": self.current_version,
            "candidate_version": self.candidate_version,
            "cases": self.cases,
            "changed": len(self.changes),
            "summary": self.summary,
            "changes": [c.to_dict() for c in self.changes],
        }

    def lines(self) -> list[str]:
        out = [
            f"compared {self.cases} recent grant(s): version {self.current_version} "
            f"-> {self.candidate_version}; {len(self.changes)} would change"
        ]
        for key, count in self.summary.items():
            out.append(f"  {key}: {count}")
        for change in self.changes:
            label = " ".join(f"{k}={v}" for k, v in change.label.items())
            out.append(
                f"  {label}: {change.before.action}/{change.before.reason} -> "
                f"{change.after.action}/{change.after.reason}"
            )
        return out


def dry_run(
    cases: Sequence[DryRunCase], current: LoadedDocument, candidate: LoadedDocument
) -> DryRunReport:
    before_engine = build_policy_engine(FixedRuleDocuments(current))
    after_engine = build_policy_engine(FixedRuleDocuments(candidate))
    changes: list[Change] = []
    for case in cases:
        before = before_engine.evaluate(case.ctx)
        after = after_engine.evaluate(case.ctx)
        if decisions_differ(before, after):
            changes.append(Change(case.label, before, after))
    return DryRunReport(current.version, candidate.version, len(cases), tuple(changes))
