"""The policy port: one step of a policy engine (``policies.engine`` binds it)."""

from __future__ import annotations

from typing import Protocol
from typing import TypeVar

ContextT = TypeVar("ContextT", contravariant=True)


DecisionT = TypeVar("DecisionT", covariant=True)


class PolicyStep(Protocol[ContextT, DecisionT]):
    """One step of a policy engine (``policies.engine``: ``PolicyStep[PolicyContext,
    Decision]``): a built-in named check, or the step applying the admin rule documents."""

    @property
    def reason(self) -> str:
        """The stable reason code (distinct among an engine's steps)."""
        ...

    @property
    def description(self) -> str:
        """What the step is for (English, for admins and ``explain``)."""
        ...

    @property
    def version(self) -> str | None:
        """The version of the rules the step applies (recorded with consents), ``None``
        for a built-in check."""
        ...

    def evaluate(self, ctx: ContextT) -> DecisionT | None:
        """The decision when the step fires, else ``None``."""
        ...
