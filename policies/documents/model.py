"""The parsed form of a rule document: plain frozen data (see the package docstring)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

ANY = "*"

AGE_BANDS = ("under_14", "14_to_17", "adult", "unknown")
"""Age bands a rule may name; ``unknown`` matches only when no birth date is known."""
ROLES = ("parent", "student", "staff", "admin")
ACCOUNT_LEVELS = ("confirmed", "child", "standard", "simplified")
CONSENT_PARTIES = ("self", "guardian")


class Effect(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    REQUIRE_FACTOR = "require_factor"
    REQUIRE_CONSENT = "require_consent"
    NOTIFY_GUARDIAN = "notify_guardian"

    @property
    def decides(self) -> bool:
        """Deciding effects (allow, deny, require_consent): the first matching rule wins.
        Adding effects (require_factor, notify_guardian): every matching rule counts."""
        return self not in (Effect.REQUIRE_FACTOR, Effect.NOTIFY_GUARDIAN)


class Delegation(enum.StrEnum):
    """Whether the rule is about a person acting for a child (``child`` scope)."""

    YES = "true"
    NO = "false"
    ANY = "any"


@dataclass(frozen=True)
class Rule:
    """One ``[[rule]]`` table. ``None`` for a match field means "any value"."""

    rule_id: str
    line: int
    scopes: tuple[str, ...]
    effect: Effect
    description: str = ""
    clients: tuple[str, ...] | None = None
    roles: tuple[str, ...] | None = None
    age_bands: tuple[str, ...] | None = None
    min_age: int | None = None
    max_age: int | None = None
    account_levels: tuple[str, ...] | None = None
    schools: tuple[str, ...] | None = None
    regions: tuple[str, ...] | None = None
    delegation: Delegation = Delegation.ANY
    reason: str | None = None
    acr: str | None = None
    by: str | None = None

    def covers_scope(self, scope: str) -> bool:
        return ANY in self.scopes or scope in self.scopes

    def describe_effect(self) -> str:
        """``deny(reason)``, ``require_factor(acr)``, ``require_consent(by)``..."""
        if self.effect is Effect.DENY:
            return f"deny({self.reason})"
        if self.effect is Effect.REQUIRE_FACTOR:
            return f"require_factor({self.acr})"
        if self.effect is Effect.REQUIRE_CONSENT:
            return f"require_consent(by={self.by})"
        return str(self.effect)


@dataclass(frozen=True)
class RuleDocument:
    """A validated document: its rules in order and what applies when none matches."""

    rules: tuple[Rule, ...]
    name: str = ""
    default: Effect = Effect.ALLOW
    default_reason: str = "no_rule_allows"
