"""Evaluate a rule document against a :class:`~policies.checks.PolicyContext`.

For each requested scope (in the order of the request) the rules are read top to bottom:

* **Deciding effects** — ``allow``, ``deny``, ``require_consent``: the *first* rule that
  covers the scope and whose every match field holds decides the scope; later deciding
  rules are not reached. With none, the document's ``default`` (allow or deny) decides.
* **Adding effects** — ``require_factor``, ``notify_guardian``: *every* matching rule
  adds its requirement wherever it stands (the strongest acr counts; each notification
  once). So "payments need a second factor" holds whoever decides who consents.

The scope verdicts then combine into one engine decision:

1. a scope decided ``deny`` → deny, with that rule's reason (the first such scope);
2. a ``require_consent`` by a party who has not consented → deny
   (``guardian_consent_missing`` / ``child_consent_missing``);
3. a factor above the current acr, and above what the built-in assurance check demands
   anyway (the catalogue's ``min_acr``, the client's ``acr_values``: that check then
   reports ``acr_not_met`` itself) → require a factor (the strongest acr asked);
4. otherwise nothing fires, and the built-in checks that follow (assurance, consent)
   decide. Rules add requirements; they never waive a built-in check.

``require_consent`` by the person signing in is met by the built-in consent checks that
run after this step (the consent page); by the other party — the guardian of a child who
signs in themselves, or the child whom a guardian acts for — only by that party's
recorded consent.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from policies.authn import acr_rank
from policies.authn import required_acr
from policies.checks import Action
from policies.checks import Decision
from policies.checks import PolicyContext
from policies.documents.model import Delegation
from policies.documents.model import Effect
from policies.documents.model import Rule
from policies.documents.model import RuleDocument

GUARDIAN_CONSENT_MISSING = "guardian_consent_missing"
CHILD_CONSENT_MISSING = "child_consent_missing"
FACTOR_REQUIRED = "factor_required"
ADULT_AGE = 18
TEEN_AGE = 14


@dataclass(frozen=True)
class RuleTrace:
    """One rule as read for one scope. ``outcome``: ``skipped`` (``detail`` names the
    match field that did not hold), ``decided``, ``added`` (a matching adding effect), or
    ``not_reached`` (a deciding rule after the one that decided)."""

    rule_id: str
    line: int
    outcome: str
    detail: str


@dataclass(frozen=True)
class ScopeVerdict:
    """What the document says about one requested scope, and why."""

    scope: str
    effect: Effect
    """The deciding effect (allow, deny, require_consent)."""
    rule_id: str | None
    """The deciding rule; ``None`` when the document's default applied."""
    line: int
    satisfied: bool
    """The deciding effect is met: allow; consent by the person (the consent checks
    follow); or the other party's recorded consent."""
    reason: str | None
    """Why not, as a reason code (a deny's reason, or the missing consent)."""
    details: dict[str, Any] = field(default_factory=dict)
    acr: str | None = None
    """The strongest acr that matching ``require_factor`` rules ask for."""
    acr_rule: str | None = None
    factor_met: bool = True
    notify: tuple[str, ...] = ()
    trace: tuple[RuleTrace, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.satisfied and self.factor_met


@dataclass(frozen=True)
class DocumentOutcome:
    verdicts: tuple[ScopeVerdict, ...]
    decision: Decision | None
    """The engine decision (``None``: nothing fires)."""

    @property
    def notifications(self) -> tuple[str, ...]:
        """Ids of the ``notify_guardian`` rules that matched (any scope), once each."""
        seen: dict[str, None] = {}
        for verdict in self.verdicts:
            for rule_id in verdict.notify:
                seen.setdefault(rule_id)
        return tuple(seen)


def age_band(age: int | None) -> str:
    if age is None:
        return "unknown"
    if age < TEEN_AGE:
        return "under_14"
    if age < ADULT_AGE:
        return "14_to_17"
    return "adult"


def subject_age(ctx: PolicyContext) -> int | None:
    """The age the rules look at: the data subject's — the child when acting for one."""
    return ctx.acting_for_age if ctx.acting_for is not None else ctx.age


def mismatch(rule: Rule, ctx: PolicyContext) -> str | None:
    """The first match field of ``rule`` that does not hold for ``ctx`` (``None``: all
    hold). Unknown facts never match a specific value (age, school, region)."""
    client_id = ctx.client.client_id if ctx.client is not None else None
    if rule.clients is not None and client_id not in rule.clients:
        return "clients"
    if rule.delegation is Delegation.YES and ctx.acting_for is None:
        return "delegation"
    if rule.delegation is Delegation.NO and ctx.acting_for is not None:
        return "delegation"
    if rule.roles is not None and not set(rule.roles) & set(ctx.roles):
        return "roles"
    if rule.account_levels is not None and ctx.account_level not in rule.account_levels:
        return "account_levels"
    age = subject_age(ctx)
    if rule.age_bands is not None and age_band(age) not in rule.age_bands:
        return "age"
    if rule.min_age is not None and (age is None or age < rule.min_age):
        return "min_age"
    if rule.max_age is not None and (age is None or age > rule.max_age):
        return "max_age"
    if rule.schools is not None and not set(rule.schools) & set(ctx.school_ids):
        return "schools"
    if rule.regions is not None and not set(rule.regions) & set(ctx.region_ids):
        return "regions"
    return None


def verdict_for(document: RuleDocument, scope: str, ctx: PolicyContext) -> ScopeVerdict:
    """Read the rules for one scope (see the module docstring)."""
    trace: list[RuleTrace] = []
    notify: list[str] = []
    deciding: Rule | None = None
    acr: str | None = None
    acr_rule: str | None = None
    for rule in document.rules:
        if not rule.covers_scope(scope):
            continue
        if rule.effect.decides and deciding is not None:
            trace.append(RuleTrace(rule.rule_id, rule.line, "not_reached", ""))
            continue
        failed = mismatch(rule, ctx)
        if failed is not None:
            trace.append(RuleTrace(rule.rule_id, rule.line, "skipped", failed))
            continue
        if rule.effect.decides:
            deciding = rule
            trace.append(RuleTrace(rule.rule_id, rule.line, "decided", rule.describe_effect()))
            continue
        trace.append(RuleTrace(rule.rule_id, rule.line, "added", rule.describe_effect()))
        if rule.effect is Effect.NOTIFY_GUARDIAN:
            notify.append(rule.rule_id)
        elif rule.acr is not None and (acr is None or acr_rank(rule.acr) > acr_rank(acr)):
            acr, acr_rule = rule.acr, rule.rule_id
    factor_met = acr is None or acr_rank(ctx.auth.acr) >= acr_rank(acr)
    return _decided(deciding, document, scope, ctx)._with(
        acr=acr,
        acr_rule=acr_rule,
        factor_met=factor_met,
        notify=tuple(notify),
        trace=tuple(trace),
    )


@dataclass(frozen=True)
class _Decided:
    effect: Effect
    rule: Rule | None
    satisfied: bool
    reason: str | None
    details: dict[str, Any]
    scope: str

    def _with(self, **extra: Any) -> ScopeVerdict:
        return ScopeVerdict(
            scope=self.scope,
            effect=self.effect,
            rule_id=self.rule.rule_id if self.rule else None,
            line=self.rule.line if self.rule else 0,
            satisfied=self.satisfied,
            reason=self.reason,
            details=self.details,
            **extra,
        )


def _decided(rule: Rule | None, document: RuleDocument, scope: str, ctx: PolicyContext) -> _Decided:
    base: dict[str, Any] = {"scope": scope, "rule": rule.rule_id if rule else None}
    if rule is None:
        allowed = document.default is Effect.ALLOW
        reason = None if allowed else document.default_reason
        return _Decided(document.default, None, allowed, reason, base, scope)
    if rule.effect is Effect.ALLOW:
        return _Decided(rule.effect, rule, True, None, base, scope)
    if rule.effect is Effect.DENY:
        return _Decided(rule.effect, rule, False, rule.reason, base, scope)
    # require_consent: by the person signing in, or by the other party.
    by = rule.by or "self"
    details = {**base, "by": by}
    if ctx.acting_for is None:
        other_party = by == "guardian"
        consented, missing = ctx.guardian_consented_scopes, GUARDIAN_CONSENT_MISSING
    else:
        other_party = by == "self"
        consented, missing = ctx.child_consented_scopes, CHILD_CONSENT_MISSING
    if not other_party:
        details["consenting"] = "person"
        return _Decided(rule.effect, rule, True, None, details, scope)
    details["consenting"] = "guardian" if ctx.acting_for is None else "child"
    met = consented is not None and scope in consented
    return _Decided(rule.effect, rule, met, None if met else missing, details, scope)


def evaluate_document(document: RuleDocument, ctx: PolicyContext, version: str) -> DocumentOutcome:
    """Every scope's verdict and the one decision for the engine."""
    verdicts = tuple(verdict_for(document, scope, ctx) for scope in dict.fromkeys(ctx.scopes))
    return DocumentOutcome(verdicts, _combine(verdicts, ctx, version))


def _combine(
    verdicts: tuple[ScopeVerdict, ...], ctx: PolicyContext, version: str
) -> Decision | None:
    for verdict in verdicts:
        if verdict.effect is Effect.DENY and not verdict.satisfied:
            return _decision(Action.DENY, verdict, verdict.details, version, "access_denied")
    for verdict in verdicts:
        if verdict.effect is Effect.REQUIRE_CONSENT and not verdict.satisfied:
            return _decision(Action.DENY, verdict, verdict.details, version, "access_denied")
    # A factor the built-in assurance check demands anyway (the catalogue's min_acr,
    # acr_values) is left to it, so its reason (acr_not_met) stays the one reported.
    builtin = acr_rank(required_acr(ctx) or "")
    unmet = [v for v in verdicts if not v.factor_met and acr_rank(v.acr or "") > builtin]
    if unmet:
        strongest = max(unmet, key=lambda v: acr_rank(v.acr or ""))
        details = {
            "scope": strongest.scope,
            "rule": strongest.acr_rule,
            "acr": strongest.acr,
            "current": ctx.auth.acr,
        }
        return Decision(
            Action.REQUIRE_FACTOR,
            FACTOR_REQUIRED,
            {**details, "version": version},
            "interaction_required",
        )
    return None


def _decision(
    action: Action, verdict: ScopeVerdict, details: dict[str, Any], version: str, error: str
) -> Decision:
    body = {**details, "version": version}
    if verdict.rule_id is not None:
        body["line"] = verdict.line
    return Decision(action, verdict.reason or "rule_denied", body, error)
