"""Parse and validate a rule document, reporting every problem at once with its line.

``tomllib`` reports syntax errors with a line, but a document that is valid TOML can still
be wrong (an unknown key, an unknown scope, an effect without its argument...), and for
those ``tomllib`` gives no position. So the source is scanned once for the lines of the
``[policy]`` table, of each ``[[rule]]`` header and of the keys under them
(:func:`policies.documents.locate.locate`), and each problem names the line of the key at
fault — or of its rule's header when the key is missing.

Scopes are checked against the configured catalogue; client ids are not (a rule may name
a client that is registered later): :func:`validate_document` returns them as warnings.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Collection
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from gateway.config.schema import ACR_VALUES
from gateway.config.schema import ScopeSettings
from policies.documents.locate import Locations
from policies.documents.locate import locate
from policies.documents.model import ACCOUNT_LEVELS
from policies.documents.model import AGE_BANDS
from policies.documents.model import ANY
from policies.documents.model import CONSENT_PARTIES
from policies.documents.model import ROLES
from policies.documents.model import Delegation
from policies.documents.model import Effect
from policies.documents.model import Rule
from policies.documents.model import RuleDocument

MAX_DOCUMENT_BYTES = 256 * 1024
MAX_RULES = 500
MAX_AGE = 150

_REASON = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ID_VALUE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")

_TOP_KEYS = ("policy", "rule")
_POLICY_KEYS = ("name", "description", "default", "default_reason")
_MATCH_LISTS = ("clients", "roles", "account_levels", "schools", "regions")
_RULE_KEYS = (
    "id",
    "description",
    "scopes",
    *_MATCH_LISTS,
    "age",
    "min_age",
    "max_age",
    "delegation",
    "effect",
    "reason",
    "acr",
    "by",
)
_EFFECT_ARGUMENT = {
    Effect.DENY: "reason",
    Effect.REQUIRE_FACTOR: "acr",
    Effect.REQUIRE_CONSENT: "by",
}


@dataclass(frozen=True, order=True)
class Problem:
    """One problem with a document (``line`` 0 when no line applies)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class DocumentInvalid(Exception):
    """The document cannot be used; ``problems`` lists every reason, in line order."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = sorted(problems)


def _hint(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass
class _Checker:
    catalogue: Mapping[str, ScopeSettings]
    where: Locations
    problems: list[Problem] = field(default_factory=list)

    def add(self, line: int, message: str) -> None:
        self.problems.append(Problem(line, message))

    def string_list(
        self,
        raw: Mapping[str, Any],
        key: str,
        index: int,
        label: str,
        allowed: Collection[str] | None = None,
        allow_any: bool = False,
    ) -> tuple[str, ...] | None:
        if key not in raw:
            return None
        line = self.where.key_line(index, key)
        value = raw[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(line, f"{label}: '{key}' must be a list of strings")
            return None
        if not value:
            self.add(line, f"{label}: '{key}' is empty and would match nothing")
            return None
        if ANY in value:
            if not allow_any:
                self.add(line, f"{label}: '{key}' does not accept '*' (omit the key instead)")
            elif len(value) > 1:
                self.add(line, f"{label}: '*' in '{key}' must stand alone")
            return (ANY,)
        for item in value:
            if allowed is not None and item not in allowed:
                self.add(
                    line,
                    f"{label}: unknown value '{item}' in '{key}'{_hint(item, allowed)}; "
                    f"one of {', '.join(allowed)}",
                )
            elif allowed is None and not _ID_VALUE.match(item):
                self.add(line, f"{label}: '{item}' in '{key}' is not a valid id")
        if len(set(value)) != len(value):
            self.add(line, f"{label}: '{key}' lists a value twice")
        return tuple(value)

    def age_limit(self, raw: Mapping[str, Any], key: str, index: int, label: str) -> int | None:
        if key not in raw:
            return None
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_AGE:
            self.add(self.where.key_line(index, key), f"{label}: '{key}' must be 0-{MAX_AGE} years")
            return None
        return value

    def rule(self, raw: Any, index: int, seen_ids: dict[str, int]) -> Rule | None:
        header = self.where.rule_line(index)
        if not isinstance(raw, dict):
            self.add(header, f"rule {index + 1}: must be a table")
            return None
        rule_id, label = self._rule_id(raw, index, seen_ids)
        for key in raw:
            if key not in _RULE_KEYS:
                self.add(
                    self.where.key_line(index, key),
                    f"{label}: unknown key '{key}'{_hint(key, _RULE_KEYS)}",
                )
        description = raw.get("description", "")
        if not isinstance(description, str):
            self.add(self.where.key_line(index, "description"), f"{label}: must be a string")
            description = ""

        scopes = self._scopes(raw, index, label)
        clients = self.string_list(raw, "clients", index, label, allow_any=True)
        roles = self.string_list(raw, "roles", index, label, ROLES)
        levels = self.string_list(raw, "account_levels", index, label, ACCOUNT_LEVELS)
        schools = self.string_list(raw, "schools", index, label)
        regions = self.string_list(raw, "regions", index, label)
        bands = self.string_list(raw, "age", index, label, AGE_BANDS)
        min_age = self.age_limit(raw, "min_age", index, label)
        max_age = self.age_limit(raw, "max_age", index, label)
        delegation = self._delegation(raw, index, label)
        effect = self._effect(raw, index, label)

        self._contradictions(index, label, bands, min_age, max_age, levels, roles, delegation)
        arguments = self._arguments(raw, index, label, effect)
        self._undelegable_scopes(index, label, scopes, effect, delegation)
        if scopes is None or effect is None:
            return None
        return Rule(
            rule_id=rule_id,
            line=header,
            scopes=scopes,
            effect=effect,
            description=description,
            clients=None if clients == (ANY,) else clients,
            roles=roles,
            age_bands=bands,
            min_age=min_age,
            max_age=max_age,
            account_levels=levels,
            schools=schools,
            regions=regions,
            delegation=delegation,
            reason=arguments["reason"],
            acr=arguments["acr"],
            by=arguments["by"],
        )

    def _rule_id(
        self, raw: Mapping[str, Any], index: int, seen_ids: dict[str, int]
    ) -> tuple[str, str]:
        """The rule's id (``rule-<n>`` when absent or invalid) and its label in messages;
        ``seen_ids`` learns the id's header line, to report a repeat."""
        rule_id = raw.get("id", f"rule-{index + 1}")
        label = f"rule '{rule_id}'" if "id" in raw else f"rule {index + 1}"
        if not isinstance(rule_id, str) or not _RULE_ID.match(rule_id):
            self.add(
                self.where.key_line(index, "id"),
                f"{label}: 'id' must be 1-64 characters of A-Z a-z 0-9 . _ -",
            )
            rule_id = f"rule-{index + 1}"
        elif rule_id in seen_ids:
            self.add(
                self.where.key_line(index, "id"),
                f"{label}: id repeats the rule on line {seen_ids[rule_id]}",
            )
        seen_ids.setdefault(rule_id, self.where.rule_line(index))
        return rule_id, label

    def _scopes(self, raw: Mapping[str, Any], index: int, label: str) -> tuple[str, ...] | None:
        """``scopes``: required, ``['*']`` or scopes of the catalogue."""
        if "scopes" not in raw:
            self.add(
                self.where.rule_line(index),
                f"{label}: 'scopes' is required (a list of scopes, or ['*'])",
            )
        scopes = self.string_list(raw, "scopes", index, label, allow_any=True)
        if scopes is not None and scopes != (ANY,):
            for scope in scopes:
                if scope not in self.catalogue and _ID_VALUE.match(scope):
                    self.add(
                        self.where.key_line(index, "scopes"),
                        f"{label}: unknown scope '{scope}'{_hint(scope, self.catalogue)}",
                    )
        return scopes

    def _contradictions(
        self,
        index: int,
        label: str,
        bands: tuple[str, ...] | None,
        min_age: int | None,
        max_age: int | None,
        levels: tuple[str, ...] | None,
        roles: tuple[str, ...] | None,
        delegation: Delegation,
    ) -> None:
        """Conditions that contradict each other (the rule would match nobody)."""
        if bands is not None and (min_age is not None or max_age is not None):
            self.add(
                self.where.key_line(index, "age"),
                f"{label}: use either 'age' bands or 'min_age'/'max_age', not both",
            )
        if min_age is not None and max_age is not None and min_age > max_age:
            self.add(
                self.where.key_line(index, "min_age"),
                f"{label}: 'min_age' {min_age} is above 'max_age' {max_age}: matches nobody",
            )
        if levels == ("child",) and (
            (bands is not None and set(bands) <= {"adult"})
            or (min_age is not None and min_age >= 18)
        ):
            self.add(
                self.where.key_line(index, "account_levels"),
                f"{label}: child accounts are for people under 18: matches nobody",
            )
        if roles is not None and delegation is Delegation.YES and set(roles) == {"student"}:
            self.add(
                self.where.key_line(index, "delegation"),
                f"{label}: students do not act for children: matches nobody",
            )

    def _arguments(
        self, raw: Mapping[str, Any], index: int, label: str, effect: Effect | None
    ) -> dict[str, str | None]:
        """The effect's argument (``reason``, ``acr`` or ``by``): only the one that goes
        with the effect, valid, and present when the effect needs it."""
        arguments: dict[str, str | None] = {"reason": None, "acr": None, "by": None}
        for key in arguments:
            if key not in raw:
                continue
            value = raw[key]
            line = self.where.key_line(index, key)
            if effect is not None and _EFFECT_ARGUMENT.get(effect) != key:
                self.add(line, f"{label}: '{key}' does not go with effect '{effect}'")
                continue
            if not isinstance(value, str):
                self.add(line, f"{label}: '{key}' must be a string")
            elif key == "reason" and not _REASON.match(value):
                self.add(line, f"{label}: 'reason' must be a code of 3-64 characters a-z 0-9 _")
            elif key == "acr" and value not in ACR_VALUES:
                self.add(
                    line,
                    f"{label}: unknown acr '{value}'{_hint(value, ACR_VALUES)}; "
                    f"one of {', '.join(ACR_VALUES)}",
                )
            elif key == "by" and value not in CONSENT_PARTIES:
                self.add(line, f"{label}: 'by' must be one of {', '.join(CONSENT_PARTIES)}")
            else:
                arguments[key] = value
        if effect is not None:
            needed = _EFFECT_ARGUMENT.get(effect)
            if needed is not None and needed not in raw:
                self.add(
                    self.where.key_line(index, "effect"),
                    f"{label}: effect '{effect}' needs '{needed}'",
                )
        return arguments

    def _undelegable_scopes(
        self,
        index: int,
        label: str,
        scopes: tuple[str, ...] | None,
        effect: Effect | None,
        delegation: Delegation,
    ) -> None:
        """A rule acting for a child may not grant a scope the catalogue marks not
        delegable."""
        if (
            effect in (Effect.ALLOW, Effect.REQUIRE_CONSENT, Effect.NOTIFY_GUARDIAN)
            and delegation is Delegation.YES
            and scopes is not None
        ):
            for scope in scopes:
                settings = self.catalogue.get(scope)
                if settings is not None and not settings.delegable:
                    self.add(
                        self.where.key_line(index, "scopes"),
                        f"{label}: scope '{scope}' is not delegable in the catalogue; "
                        f"a rule cannot {effect} it when acting for a child",
                    )

    def _delegation(self, raw: Mapping[str, Any], index: int, label: str) -> Delegation:
        if "delegation" not in raw:
            return Delegation.ANY
        value = raw["delegation"]
        if value is True:
            return Delegation.YES
        if value is False:
            return Delegation.NO
        if value == "any":
            return Delegation.ANY
        self.add(
            self.where.key_line(index, "delegation"),
            f"{label}: 'delegation' must be true, false or \"any\"",
        )
        return Delegation.ANY

    def _effect(self, raw: Mapping[str, Any], index: int, label: str) -> Effect | None:
        if "effect" not in raw:
            self.add(
                self.where.rule_line(index),
                f"{label}: 'effect' is required ({', '.join(e.value for e in Effect)})",
            )
            return None
        value = raw["effect"]
        try:
            return Effect(value)
        except ValueError:
            names = [e.value for e in Effect]
            self.add(
                self.where.key_line(index, "effect"),
                f"{label}: unknown effect {value!r}{_hint(str(value), names)}; "
                f"one of {', '.join(names)}",
            )
            return None


def _syntax_problem(error: tomllib.TOMLDecodeError) -> Problem:
    text = str(error)
    match = re.search(r"\(at line (\d+), column \d+\)", text)
    line = int(match.group(1)) if match else 0
    message = re.sub(r"\s*\(at line \d+, column \d+\)", "", text)
    return Problem(line, f"TOML syntax: {message}")


def parse_document(source: str, catalogue: Mapping[str, ScopeSettings]) -> RuleDocument:
    """The document in ``source``, validated against the scope ``catalogue``.

    :raises DocumentInvalid: with every problem found, each with its line.
    """
    if len(source.encode()) > MAX_DOCUMENT_BYTES:
        raise DocumentInvalid([Problem(0, f"the document exceeds {MAX_DOCUMENT_BYTES} bytes")])
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        raise DocumentInvalid([_syntax_problem(error)]) from None
    where = locate(source)
    checker = _Checker(catalogue, where)
    for key in data:
        if key not in _TOP_KEYS:
            checker.add(
                where.top_keys.get(key, 0),
                f"unknown top-level key or table '{key}'{_hint(key, _TOP_KEYS)}",
            )
    name, default, default_reason = "", Effect.ALLOW, "no_rule_allows"
    policy = data.get("policy", {})
    if not isinstance(policy, dict):
        checker.add(where.top_keys.get("policy", 0), "'policy' must be a table")
        policy = {}
    for key, value in policy.items():
        line = where.policy_keys.get(key, where.policy)
        if key not in _POLICY_KEYS:
            checker.add(line, f"[policy]: unknown key '{key}'{_hint(key, _POLICY_KEYS)}")
        elif key in ("name", "description") and not isinstance(value, str):
            checker.add(line, f"[policy]: '{key}' must be a string")
        elif key == "default" and value not in (Effect.ALLOW.value, Effect.DENY.value):
            checker.add(line, '[policy]: \'default\' must be "allow" or "deny"')
        elif key == "default_reason" and (not isinstance(value, str) or not _REASON.match(value)):
            checker.add(line, "[policy]: 'default_reason' must be a code of a-z 0-9 _")
    if isinstance(policy.get("name"), str):
        name = policy["name"]
    if policy.get("default") in (Effect.ALLOW.value, Effect.DENY.value):
        default = Effect(policy["default"])
    if isinstance(policy.get("default_reason"), str) and _REASON.match(policy["default_reason"]):
        default_reason = policy["default_reason"]
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        checker.add(where.top_keys.get("rule", 0), "'rule' must be an array of tables [[rule]]")
        raw_rules = []
    if len(raw_rules) > MAX_RULES:
        checker.add(0, f"at most {MAX_RULES} rules")
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_rules):
        rule = checker.rule(raw, index, seen)
        if rule is not None:
            rules.append(rule)
    if checker.problems:
        raise DocumentInvalid(checker.problems)
    return RuleDocument(
        rules=tuple(rules), name=name, default=default, default_reason=default_reason
    )


def unknown_clients(document: RuleDocument, known: Collection[str]) -> list[Problem]:
    """Warnings: clients named by rules that are not registered (yet)."""
    warnings: list[Problem] = []
    for rule in document.rules:
        for client_id in rule.clients or ():
            if client_id not in known:
                warnings.append(
                    Problem(
                        rule.line, f"rule '{rule.rule_id}': client '{client_id}' is not registered"
                    )
                )
    return warnings
