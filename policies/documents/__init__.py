"""Admin-managed rule documents: TOML, ordered rules, versioned in the database.

A document (``policies/default.toml`` ships with vhod)::

    [policy]
    name = "district 7"
    default = "allow"            # or "deny": what applies when no deciding rule matches

    [[rule]]
    id = "payments-factor"       # optional; shown by explain and in decisions
    description = "..."
    scopes = ["payments"]        # required: scopes of the catalogue, or ["*"]
    clients = ["school-7"]       # match fields, each optional ("any" when left out):
    roles = ["parent"]           #   parent | student | staff | admin (any of)
    age = ["under_14"]           #   under_14 | 14_to_17 | adult | unknown (any of), or
    min_age = 14                 #   min_age / max_age in years (inclusive)
    account_levels = ["child"]   #   confirmed | child | standard | simplified
    schools = ["..."]            #   school / region ids: unknown never matches
    regions = ["..."]
    delegation = false           #   true: acting for a child; false: not; "any"
    effect = "require_factor"    # allow | deny (reason) | require_factor (acr) |
    acr = "urn:vhod:acr:esia-mfa"  # require_consent (by = self | guardian) | notify_guardian

**Semantics** (``evaluate.py``): for each requested scope, the first matching rule with a
*deciding* effect (allow, deny, require_consent) decides, the document default otherwise;
every matching rule with an *adding* effect (require_factor, notify_guardian) adds its
requirement wherever it stands. Any denied scope denies the request (no silent
downscoping: the client asks again with fewer scopes). Consent by the person signing in is
collected by the built-in consent checks; consent by the other party (a child's guardian;
the child a guardian acts for) must be on record. Age is the data subject's — the child's
when acting for one; roles and account level are the person's. Rules only add to the
built-in checks, never waive them.

The engine runs the document as one step (``policies.rules.RuleDocumentsCheck``) after
the built-in client, identity and account checks, before the assurance and consent checks.
Validation (``parse.py``) reports every problem at once with its line.
"""

from __future__ import annotations

from policies.documents.evaluate import DocumentOutcome
from policies.documents.evaluate import ScopeVerdict
from policies.documents.evaluate import evaluate_document
from policies.documents.model import Effect
from policies.documents.model import Rule
from policies.documents.model import RuleDocument
from policies.documents.parse import DocumentInvalid
from policies.documents.parse import Problem
from policies.documents.parse import parse_document

__all__ = [
    "DocumentInvalid",
    "DocumentOutcome",
    "Effect",
    "Problem",
    "Rule",
    "RuleDocument",
    "ScopeVerdict",
    "evaluate_document",
    "parse_document",
]
