"""Rule documents: validation reports every problem at once, each with its line."""

from __future__ import annotations

import pytest

from gateway.config.schema import DEFAULT_SCOPES
from policies.documents.locate import locate
from policies.documents.model import Delegation
from policies.documents.model import Effect
from policies.documents.parse import DocumentInvalid
from policies.documents.parse import parse_document
from policies.documents.parse import unknown_clients
from policies.documents.source import default_text


def problems(text: str) -> list[str]:
    with pytest.raises(DocumentInvalid) as caught:
        parse_document(text, DEFAULT_SCOPES)
    return [str(p) for p in caught.value.problems]


def test_the_shipped_default_is_valid() -> None:
    document = parse_document(default_text(), DEFAULT_SCOPES)
    ids = [r.rule_id for r in document.rules]
    assert "under-14-guardian-consents" in ids
    assert "money-and-documents-need-factor" in ids
    assert document.default is Effect.ALLOW


def test_a_valid_rule_is_parsed_with_its_line() -> None:
    text = """# comment
[policy]
name = "t"

[[rule]]
id = "a"
scopes = ["diary"]
clients = ["school"]
delegation = true
age = ["under_14", "14_to_17"]
effect = "require_consent"
by = "guardian"
"""
    (rule,) = parse_document(text, DEFAULT_SCOPES).rules
    assert rule.line == 5
    assert rule.scopes == ("diary",)
    assert rule.clients == ("school",)
    assert rule.delegation is Delegation.YES
    assert rule.age_bands == ("under_14", "14_to_17")
    assert rule.effect is Effect.REQUIRE_CONSENT
    assert rule.by == "guardian"


def test_every_problem_is_reported_at_once_with_lines() -> None:
    text = """[policy]
name = "broken"
colour = "red"

[[rule]]
id = "one"
scope = ["diary"]
effect = "allow"

[[rule]]
id = "two"
scopes = ["diary", "grades"]
effect = "permit"

[[rule]]
id = "three"
scopes = ["payments"]
effect = "require_factor"
acr = "urn:vhod:acr:sms"

[[rule]]
id = "four"
scopes = ["diary"]
clients = []
effect = "deny"

[[rule]]
id = "five"
scopes = ["diary"]
age = ["adult"]
min_age = 20
max_age = 10
effect = "allow"
by = "self"
"""
    found = problems(text)
    assert found == [
        "line 3: [policy]: unknown key 'colour'",
        "line 5: rule 'one': 'scopes' is required (a list of scopes, or ['*'])",
        "line 7: rule 'one': unknown key 'scope' (did you mean 'scopes'?)",
        "line 12: rule 'two': unknown scope 'grades'",
        "line 13: rule 'two': unknown effect 'permit'; one of allow, deny, require_factor, "
        "require_consent, notify_guardian",
        "line 19: rule 'three': unknown acr 'urn:vhod:acr:sms' (did you mean "
        "'urn:vhod:acr:esia'?); one of urn:vhod:acr:esia, urn:vhod:acr:esia-mfa",
        "line 24: rule 'four': 'clients' is empty and would match nothing",
        "line 25: rule 'four': effect 'deny' needs 'reason'",
        "line 30: rule 'five': use either 'age' bands or 'min_age'/'max_age', not both",
        "line 31: rule 'five': 'min_age' 20 is above 'max_age' 10: matches nobody",
        "line 34: rule 'five': 'by' does not go with effect 'allow'",
    ]


def test_contradictions_with_the_catalogue_and_with_each_other() -> None:
    text = """[[rule]]
id = "x"
scopes = ["profile"]
delegation = true
effect = "allow"

[[rule]]
id = "x"
scopes = ["*", "diary"]
account_levels = ["child"]
age = ["adult"]
effect = "deny"
reason = "Bad Reason"
"""
    assert problems(text) == [
        "line 3: rule 'x': scope 'profile' is not delegable in the catalogue; "
        "a rule cannot allow it when acting for a child",
        "line 8: rule 'x': id repeats the rule on line 1",
        "line 9: rule 'x': '*' in 'scopes' must stand alone",
        "line 10: rule 'x': child accounts are for people under 18: matches nobody",
        "line 13: rule 'x': 'reason' must be a code of 3-64 characters a-z 0-9 _",
    ]


def test_missing_effect_and_bad_types_point_at_the_header() -> None:
    text = """

[[rule]]
scopes = "diary"
min_age = "ten"
delegation = "sometimes"
"""
    assert problems(text) == [
        "line 3: rule 1: 'effect' is required (allow, deny, require_factor, "
        "require_consent, notify_guardian)",
        "line 5: rule 1: 'min_age' must be 0-150 years",
        "line 6: rule 1: 'delegation' must be true, false or \"any\"",
    ]


def test_toml_syntax_errors_keep_their_line() -> None:
    assert problems('[[rule]]\nscopes = ["diary"\neffect = "allow"\n') == [
        "line 3: TOML syntax: Unclosed array"
    ]


def test_unknown_top_level_keys_and_unregistered_clients() -> None:
    assert problems('rules = []\n[[rule]]\nscopes=["*"]\neffect="allow"\n') == [
        "line 1: unknown top-level key or table 'rules' (did you mean 'rule'?)"
    ]
    document = parse_document(
        '[[rule]]\nscopes = ["*"]\nclients = ["ghost"]\neffect = "allow"\n', DEFAULT_SCOPES
    )
    assert [str(w) for w in unknown_clients(document, ["school"])] == [
        "line 1: rule 'rule-1': client 'ghost' is not registered"
    ]


def test_locate_skips_multiline_strings() -> None:
    text = '[[rule]]\ndescription = """\nscopes = nope\n"""\nscopes = ["*"]\n'
    where = locate(text)
    assert where.rules == [1]
    assert where.rule_keys[0] == {"description": 2, "scopes": 5}
