"""The seam for the admin-managed rule documents (DESIGN.md "Policies").

Rule documents (TOML, versioned in the database, a default shipped in ``policies/``) will
match client, scope, role, age band, account level, school/region and delegation, with
effects allow / deny(reason) / require_factor(acr) / require_consent(by) /
notify_guardian. They enter the engine through exactly one step,
:class:`RuleDocumentsCheck`, placed after the built-in account checks; it asks a
:class:`RuleDocuments` source for the effect of the first matching rule.

The source in a running gateway is :class:`policies.documents.source.ActiveRuleDocuments`
(the active version from the database, or the shipped ``policies/default.toml``); the
semantics are in ``policies/documents/__init__.py``. :class:`NoRuleDocuments` — no rule
ever matches — is the source when none is given (unit tests of the built-in checks).
"""

from __future__ import annotations

from typing import Protocol

from policies.checks import Decision
from policies.checks import PolicyContext


class RuleDocuments(Protocol):
    """The admin rules in force."""

    def evaluate(self, ctx: PolicyContext) -> Decision | None:
        """The effect of the first matching rule that is not ``allow``, or ``None``.

        Example: ``return Decision(Action.DENY, "rule:school-only", error="access_denied")``.
        """
        ...

    @property
    def version(self) -> str | None:
        """The version of the documents in force (recorded with decisions)."""
        ...


class NoRuleDocuments:
    """No admin rules: nothing matches."""

    def evaluate(self, ctx: PolicyContext) -> Decision | None:
        return None

    @property
    def version(self) -> str | None:
        return None


class RuleDocumentsCheck:
    """The one engine step that applies the admin rule documents."""

    reason = "admin_rules"
    description = "The admin-managed rule documents must not deny or demand more."

    def __init__(self, documents: RuleDocuments) -> None:
        self._documents = documents

    def evaluate(self, ctx: PolicyContext) -> Decision | None:
        return self._documents.evaluate(ctx)

    @property
    def version(self) -> str | None:
        """The version of the documents in force (``PolicyEngine.rules_version``)."""
        return self._documents.version


_: type[RuleDocuments] = NoRuleDocuments
