"""``explain``: what a client would get for a person, and why — step by step.

Every step of the engine is evaluated on its own (pure functions, no I/O), so the answer
lists each built-in check with whether it fires, and for the rule-documents step each
scope's verdict with the rules read for it (skipped by which field, which rule decided,
which added a requirement). The engine's own decision — the first step that fires — is
the answer; the other lines say what else would stand in the way. Reason codes are the
same the audit log and the journey use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policies.authn import client_min_acr
from policies.authn import required_acr
from policies.build import default_steps
from policies.checks import Action
from policies.checks import Decision
from policies.checks import PolicyContext
from policies.documents.evaluate import ScopeVerdict
from policies.documents.source import FixedRuleDocuments
from policies.documents.source import LoadedDocument
from policies.engine import PolicyEngine


@dataclass(frozen=True)
class StepLine:
    """One engine step: its reason code, what it is for, and whether it fires."""

    step: str
    description: str
    fired: bool
    action: str | None = None
    reason: str | None = None
    details: dict[str, Any] | None = None


@dataclass(frozen=True)
class Explanation:
    decision: Decision
    steps: tuple[StepLine, ...]
    version: str
    verdicts: tuple[ScopeVerdict, ...]
    notifications: tuple[str, ...]
    scopes: tuple[str, ...]
    required_acr: str | None = None
    """The acr the built-in assurance check asks for (request, scopes and client)."""
    client_min_acr: str | None = None
    """The client's own minimum acr, when it has one."""
    child_access: Mapping[str, Any] | None = None
    """Acting for a child: the facts behind the answer (guardianships, delegable scopes,
    consents), given by the caller, which knows the stores (``gateway.admin.policies``)."""

    @property
    def outcome(self) -> str:
        """One line: what the client gets."""
        action = self.decision.action
        if action is Action.ALLOW:
            return f"allowed: tokens for {' '.join(self.scopes)}"
        if action is Action.REQUIRE_CONSENT:
            scopes = self.decision.details.get("scopes") or list(self.scopes)
            return f"consent page: the person is asked to consent to {' '.join(scopes)}"
        if action is Action.REQUIRE_FACTOR:
            return (
                f"second factor needed ({self.decision.details.get('acr')}); "
                "refused while no factor can raise the acr"
            )
        return f"refused: {self.decision.reason}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (admin API, ``vhod policy explain --json``)."""
        return {
            "outcome": self.outcome,
            "decision": {
                "action": str(self.decision.action),
                "reason": self.decision.reason,
                "error": self.decision.error,
                "details": self.decision.details,
            },
            "policy_version": self.version,
            "steps": [
                {
                    "step": s.step,
                    "description": s.description,
                    "fired": s.fired,
                    "action": s.action,
                    "reason": s.reason,
                    "details": s.details or {},
                }
                for s in self.steps
            ],
            "scopes": [verdict_dict(v) for v in self.verdicts],
            "notify_guardian": list(self.notifications),
            "required_acr": self.required_acr,
            "client_min_acr": self.client_min_acr,
            "child_access": None if self.child_access is None else dict(self.child_access),
        }

    def lines(self) -> list[str]:
        """A plain-text form for the CLI."""
        out = [f"outcome: {self.outcome}", f"rule document version: {self.version}"]
        if self.required_acr is not None:
            out.append(f"required acr: {self.required_acr}")
        if self.client_min_acr is not None:
            out.append(f"client minimum acr: {self.client_min_acr}")
        out.append("steps:")
        for s in self.steps:
            mark = "FIRES" if s.fired else "ok   "
            extra = f" -> {s.action} {s.reason} {s.details}" if s.fired else ""
            out.append(f"  {mark} {s.step}: {s.description}{extra}")
        out.append("rules, per scope:")
        for v in self.verdicts:
            decided = f"rule '{v.rule_id}' (line {v.line})" if v.rule_id else "document default"
            state = "met" if v.allowed else f"NOT met: {v.reason or 'factor_required'}"
            out.append(f"  {v.scope}: {v.effect} by {decided}; {state}")
            if v.acr:
                out.append(f"    requires acr {v.acr} (rule '{v.acr_rule}')")
            for t in v.trace:
                out.append(f"    line {t.line} {t.rule_id}: {t.outcome} {t.detail}".rstrip())
        if self.notifications:
            out.append(f"notify guardian: {', '.join(self.notifications)}")
        if self.child_access is not None:
            out.append("acting for the child:")
            for name, value in self.child_access.items():
                out.append(f"  {name}: {value}")
        return out


def verdict_dict(v: ScopeVerdict) -> dict[str, Any]:
    return {
        "scope": v.scope,
        "effect": str(v.effect),
        "rule": v.rule_id,
        "line": v.line,
        "met": v.allowed,
        "reason": v.reason if not v.satisfied else (None if v.factor_met else "factor_required"),
        "acr": v.acr,
        "acr_rule": v.acr_rule,
        "notify_guardian": list(v.notify),
        "trace": [
            {"rule": t.rule_id, "line": t.line, "outcome": t.outcome, "detail": t.detail}
            for t in v.trace
        ],
    }


def explain(ctx: PolicyContext, document: LoadedDocument) -> Explanation:
    """Explain the decision for ``ctx`` under ``document`` (see the module docstring)."""
    documents = FixedRuleDocuments(document)
    steps = default_steps(documents)
    lines: list[StepLine] = []
    for step in steps:
        decision = step.evaluate(ctx)
        fired = decision is not None and decision.action is not Action.ALLOW
        lines.append(
            StepLine(
                step=step.reason,
                description=step.description,
                fired=fired,
                action=str(decision.action) if fired and decision else None,
                reason=decision.reason if fired and decision else None,
                details=dict(decision.details) if fired and decision else None,
            )
        )
    outcome = document.evaluate(ctx)
    return Explanation(
        decision=PolicyEngine(steps).evaluate(ctx),
        steps=tuple(lines),
        version=document.version,
        verdicts=outcome.verdicts,
        notifications=outcome.notifications,
        scopes=ctx.scopes,
        required_acr=required_acr(ctx),
        client_min_acr=client_min_acr(ctx),
    )


def decisions_differ(a: Decision, b: Decision) -> bool:
    return (a.action, a.reason) != (b.action, b.reason)


def summarize(decision: Decision) -> dict[str, Any]:
    return {"action": str(decision.action), "reason": decision.reason}
