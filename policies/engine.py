"""``PolicyEngine``: an ordered list of named checks; the first that fires decides.

Per STYLE.md habit 13 (node-oidc-provider's interaction policy): each step has a stable
reason; :meth:`PolicyEngine.evaluate` runs the steps in order, records each in the
explanation trail, and returns the first :class:`Decision` that is not ``allow`` — or
``allow`` with the whole trail. Tests and the audit log assert on ``reason`` only.

Default order (:data:`DEFAULT_ORDER`, see ``build.py``):

1. client — ``client_unknown``, ``client_disabled``, ``scope_not_allowed``;
2. who — ``hint_subject_mismatch``;
3. account — ``account_level_unknown``, ``account_not_confirmed``, ``child_account_adult``,
   ``parent_as_pupil``, ``child_account_parent``;
4. delegation — ``scope_not_delegable``, ``child_not_linked`` (``policies.delegation``);
5. admin rules — the rule documents (``admin_rules`` step; reasons come from the rules);
6. assurance — ``max_age_exceeded``, ``acr_not_met``;
7. the child choice — ``no_children_linked``, ``child_not_chosen`` (``choose_child``);
8. consent — ``consent_missing``, ``consent_scopes_missing``, ``consent_prompted``.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.core.ports import PolicyStep as Step
from policies.checks import Action
from policies.checks import Decision
from policies.checks import PolicyContext
from policies.checks import TrailEntry

ALLOWED = "allowed"


PolicyStep = Step[PolicyContext, Decision]
"""A step of this engine: a :class:`policies.checks.Check`, or the rule documents."""


class PolicyEngine:
    """Evaluate ordered steps; the first non-allow decision wins."""

    def __init__(self, steps: Sequence[PolicyStep]) -> None:
        reasons = [step.reason for step in steps]
        if len(set(reasons)) != len(reasons):
            raise ValueError("policy steps must have distinct reasons")
        self._steps = tuple(steps)

    @property
    def rules_version(self) -> str | None:
        """The version of the admin rule documents in force (recorded with consents), from
        the step that has one (``RuleDocumentsCheck``); ``None`` without such a step."""
        for step in self._steps:
            if step.version is not None:
                return step.version
        return None

    @property
    def reasons(self) -> tuple[str, ...]:
        """The steps' reasons, in evaluation order."""
        return tuple(step.reason for step in self._steps)

    def evaluate(self, ctx: PolicyContext) -> Decision:
        """The first decision that is not ``allow``, with the trail up to it.

        :returns: ``Decision(ALLOW, "allowed", trail=...)`` when no step fires.
        """
        trail: list[TrailEntry] = []
        for step in self._steps:
            decision = step.evaluate(ctx)
            if decision is None or decision.action is Action.ALLOW:
                trail.append(TrailEntry(step.reason, fired=False))
                continue
            trail.append(TrailEntry(decision.reason, fired=True, details=decision.details))
            return Decision(
                decision.action,
                decision.reason,
                decision.details,
                decision.error or "access_denied",
                tuple(trail),
            )
        return Decision(Action.ALLOW, ALLOWED, trail=tuple(trail))
