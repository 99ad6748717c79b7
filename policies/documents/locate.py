"""Where things are in a rule document's source: the lines of ``[policy]``, of each
``[[rule]]`` header and of the keys under them, so that every problem ``parse.py`` finds
names a line (``tomllib`` gives none for a document that is valid TOML but wrong).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field

_HEADER = re.compile(
    r"^\s*\[\[\s*(?P<aot>[A-Za-z0-9_.\"' -]+?)\s*\]\]|^\s*\[\s*(?P<t>[^\[\]]+?)\s*\]"
)
_KEY = re.compile(r"^\s*(?P<key>[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')\s*=")


@dataclass
class Locations:
    """Where things are in the source (1-based lines)."""

    policy: int = 0
    policy_keys: dict[str, int] = field(default_factory=dict)
    top_keys: dict[str, int] = field(default_factory=dict)
    rules: list[int] = field(default_factory=list)
    rule_keys: list[dict[str, int]] = field(default_factory=list)

    def rule_line(self, index: int) -> int:
        if index < len(self.rules):
            return self.rules[index]
        return self.top_keys.get("rule", 0)

    def key_line(self, index: int, key: str) -> int:
        if index < len(self.rule_keys) and key in self.rule_keys[index]:
            return self.rule_keys[index][key]
        return self.rule_line(index)


def locate(source: str) -> Locations:
    """Lines of ``[policy]``, each ``[[rule]]`` and the keys under them.

    A line scanner, not a TOML parser: enough for documents written as tables (the
    documented form). Keys inside multi-line strings are skipped.
    """
    where = Locations()
    section: str | None = None
    in_multiline: str | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        if in_multiline is not None:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = _HEADER.match(line)
        if header is not None:
            name = (header.group("aot") or header.group("t") or "").strip().strip("\"'")
            if header.group("aot") is not None and name == "rule":
                where.rules.append(number)
                where.rule_keys.append({})
                section = "rule"
            elif name == "policy":
                where.policy = number
                section = "policy"
            else:
                section = name
            continue
        key = _KEY.match(line)
        if key is not None:
            name = key.group("key").strip("\"'")
            target: dict[str, int] | None = None
            if section is None:
                target = where.top_keys
            elif section == "policy":
                target = where.policy_keys
            elif section == "rule" and where.rule_keys:
                target = where.rule_keys[-1]
            if target is not None:
                target.setdefault(name, number)
            rest = line[key.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
    return where
