"""The ESIA scope table (providers/upstream/esia/scopes.py)."""

from __future__ import annotations

import pytest

from providers.upstream.esia.scopes import esia_scopes
from providers.upstream.esia.scopes import granted_scopes
from providers.upstream.esia.scopes import scope_string

BASE = ("openid", "fullname", "birthdate")
KIDS = ("kid_fullname", "kid_birthdate", "kid_snils", "kid_birth_cert_doc")


@pytest.mark.parametrize(
    ("downstream", "sms", "roster", "expected"),
    [
        ((), False, False, BASE),
        (("openid", "profile", "email", "phone"), False, False, BASE),
        (("openid",), True, False, (*BASE, "mobile")),
        (("openid",), False, True, (*BASE, "snils")),
        (("openid", "children"), False, False, (*BASE, *KIDS)),
        (("openid", "child"), False, False, (*BASE, *KIDS)),
        (("openid", "child", "children"), True, True, (*BASE, "mobile", "snils", *KIDS)),
        (("diary", "payments", "documents"), False, True, (*BASE, "snils")),
    ],
)
def test_table(
    downstream: tuple[str, ...], sms: bool, roster: bool, expected: tuple[str, ...]
) -> None:
    assert esia_scopes(downstream, sms_factors_enabled=sms, roster_matching=roster) == expected


def test_never_more_than_the_table() -> None:
    everything = esia_scopes(
        ("openid", "profile", "email", "phone", "children", "child", "offline_access"),
        sms_factors_enabled=True,
        roster_matching=True,
    )
    assert set(everything) == {*BASE, "mobile", "snils", *KIDS}
    assert everything[0] == "openid"
    assert "kid_fio" not in everything


def test_scope_string_and_granted() -> None:
    assert scope_string(BASE) == "openid fullname birthdate"
    claim = "fullname?oid=1000299681 openid snils?oid=1000299681 http://esia.gosuslugi.ru/org_inf?org_oid=1"
    assert granted_scopes(claim) == {
        "fullname",
        "openid",
        "snils",
        "http://esia.gosuslugi.ru/org_inf",
    }
    assert granted_scopes(None) == frozenset()
    assert granted_scopes(["openid"]) == frozenset()
