"""``build_policy_engine``: the engine with the built-in checks in their fixed order."""

from __future__ import annotations

from policies.authn import ACCOUNT_CHECKS
from policies.authn import AUTHN_CHECKS
from policies.authn import HINT_SUBJECT_MISMATCH
from policies.clients import CLIENT_CHECKS
from policies.consent import CONSENT_CHECKS
from policies.delegation import CHILD_CHOICE_CHECKS
from policies.delegation import DELEGATION_CHECKS
from policies.engine import PolicyEngine
from policies.engine import PolicyStep
from policies.rules import NoRuleDocuments
from policies.rules import RuleDocuments
from policies.rules import RuleDocumentsCheck


def default_steps(documents: RuleDocuments | None = None) -> list[PolicyStep]:
    """The built-in checks and the rule-documents step, in evaluation order."""
    return [
        *CLIENT_CHECKS,
        HINT_SUBJECT_MISMATCH,
        *ACCOUNT_CHECKS,
        *DELEGATION_CHECKS,
        RuleDocumentsCheck(documents or NoRuleDocuments()),
        *AUTHN_CHECKS,
        *CHILD_CHOICE_CHECKS,
        *CONSENT_CHECKS,
    ]


def build_policy_engine(documents: RuleDocuments | None = None) -> PolicyEngine:
    """The policy engine of the gateway.

    :param documents: the admin rule documents in force (none yet: nothing matches).
    """
    return PolicyEngine(default_steps(documents))
