"""What a policy check is, what it decides, and what it looks at.

A :class:`Check` is one named rule, as in node-oidc-provider's interaction policy
(``lib/helpers/interaction_policy/check.js``): a stable ``reason`` code (tests and audit
assert on it, never on prose), a description for admins, the OAuth error to answer with
when no interaction is possible (``prompt=none``) or when the check denies, a
``predicate`` that is *true when the check fires*, and a ``details`` function for the
explanation trail.

A :class:`Decision` is what the engine returns: ``allow``, or the first check that fired.
The :class:`PolicyContext` is plain data assembled by the journey; checks never do I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from gateway.config.schema import ScopeSettings
from gateway.core.types import AuthContext
from gateway.core.types import Client
from gateway.core.types import JourneyKind


class Action(enum.StrEnum):
    """What the journey must do next."""

    ALLOW = "allow"
    DENY = "deny"
    REQUIRE_FACTOR = "require_factor"
    REQUIRE_CONSENT = "require_consent"
    CHOOSE_CHILD = "choose_child"


@dataclass(frozen=True)
class PolicyContext:
    """Everything a check may look at, assembled by the journey (no personal data beyond
    the account level and the age in years).

    :param client: the registered client (``None`` when unknown, or for ``account``).
    :param scopes: the requested scopes.
    :param catalogue: the scope catalogue of the config.
    :param account_level: :class:`gateway.core.types.AccountLevel` value.
    :param age: age in whole years, when the upstream gave a birth date.
    :param auth: how and when the person authenticated (current acr, amr, auth_time).
    :param now: the clock's time (seconds since the epoch).
    :param acr_values: the acr values the client asked for, in its order of preference.
    :param max_age: the client's ``max_age``.
    :param prompt: the client's ``prompt`` values.
    :param hint_subject: internal subject id named by a valid ``id_token_hint``.
    :param subject_id: the internal subject id of the person signing in.
    :param consented_scopes: the scopes of the remembered consent, ``None`` without one.
    :param consent_given_now: consent was given on the consent page in this journey.
    """

    kind: JourneyKind
    client: Client | None
    scopes: tuple[str, ...]
    catalogue: Mapping[str, ScopeSettings]
    account_level: str
    auth: AuthContext
    now: float
    subject_id: str
    age: int | None = None
    roles: tuple[str, ...] = ()
    acr_values: tuple[str, ...] = ()
    max_age: int | None = None
    prompt: tuple[str, ...] = ()
    hint_subject: str | None = None
    consented_scopes: tuple[str, ...] | None = None
    consent_given_now: bool = False
    # Facts for the admin rule documents (``policies.documents``); unknown until the
    # journey knows them (guardianship and rosters land later: unknown never matches a
    # specific school or region, and a missing consent of another party is missing).
    acting_for: str | None = None
    """Internal id of the child the person acts for (``child`` scope), else ``None``."""
    acting_for_age: int | None = None
    """Age in whole years of that child, when known."""
    acting_for_linked: bool = False
    """``acting_for`` is still a usable link of this person at the client's school."""
    child_links: int = 0
    """How many children the person may act for at this client (``child`` scope)."""
    school_ids: tuple[str, ...] = ()
    region_ids: tuple[str, ...] = ()
    guardian_consented_scopes: tuple[str, ...] | None = None
    """Scopes a verified guardian consented to for this person (a child signing in)."""
    child_consented_scopes: tuple[str, ...] | None = None
    """Scopes the child consented to themselves (when a guardian acts for them)."""
    identity_conflict: str | None = None
    """Why this login may not be bound as it is (``gateway.journey.pupils``):
    ``parent_as_pupil`` — a parent's ESIA identity whose SNILS is a pupil's record;
    ``child_account_parent`` — a child account (KD) that lists children or holds the
    parent role."""


Predicate = Callable[[PolicyContext], bool]
Details = Callable[[PolicyContext], dict[str, Any]]


def no_details(ctx: PolicyContext) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Check:
    """One named rule.

    :param reason: stable code (``account_not_confirmed``).
    :param description: what the rule is for (English, for admins and ``explain``).
    :param error: the OAuth error code to answer with when the check fires and the
        person cannot or may not interact (``login_required``, ``consent_required``,
        ``interaction_required``, ``access_denied``).
    :param predicate: true when the check fires.
    :param details: safe facts for the explanation trail (codes and scope names only).
    :param action: what firing means (deny, require a factor, require consent...).

    Example::

        Check("consent_missing", "Consent covers the scopes", "consent_required",
              lambda ctx: ctx.consented_scopes is None, action=Action.REQUIRE_CONSENT)
    """

    reason: str
    description: str
    error: str
    predicate: Predicate
    details: Details = no_details
    action: Action = Action.DENY

    def evaluate(self, ctx: PolicyContext) -> Decision | None:
        """The decision when the check fires, else ``None``."""
        if not self.predicate(ctx):
            return None
        return Decision(self.action, self.reason, self.details(ctx), self.error)

    @property
    def version(self) -> str | None:
        """Built-in checks are not versioned (only the admin rule documents are)."""
        return None


@dataclass(frozen=True)
class TrailEntry:
    """One line of the explanation: which check ran and whether it fired."""

    reason: str
    fired: bool
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The engine's answer.

    :param action: allow, or what the first check that fired asks for.
    :param reason: that check's reason (``allowed`` for allow).
    :param details: that check's details (e.g. ``{"acr": "urn:vhod:acr:esia-mfa"}``).
    :param error: the OAuth error code for the client when the journey cannot go on.
    :param trail: every check evaluated, in order (for ``explain`` and the audit log).
    """

    action: Action
    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    trail: tuple[TrailEntry, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.action is Action.ALLOW
