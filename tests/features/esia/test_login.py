"""Whole logins against the sandbox: every persona class, v1 and v2, RS256 and GOST tokens.

Our ``EsiaProvider`` / ``EsiaClient`` talk HTTP to the sandbox with real signatures both
ways; nothing of ours is stubbed (DESIGN.md, tests).
"""

from __future__ import annotations

import logging
from datetime import date

import pytest
import requests

from providers.upstream.esia.scopes import KID_SCOPES
from providers.upstream.esia.signing import openssl_gost_available
from tests.helpers.backends import require
from tests.helpers.esia import CALLBACK
from tests.helpers.esia import EsiaSandbox

CHILDREN = ("openid", "children")


def _age(birthdate: str) -> int:
    born = date.fromisoformat(birthdate)
    today = date.today()  # noqa: DTZ011 -- the sandbox computes ages in local dates
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@pytest.mark.parametrize("protocol", ["v2", "v1"])
@pytest.mark.parametrize("client_id", ["VHOD_GOST", "VHOD_RSA"])
def test_confirmed_parent_with_three_children(
    sandbox: EsiaSandbox, protocol: str, client_id: str
) -> None:
    provider = sandbox.provider(client_id, protocol=protocol, request_mobile=False)
    identity = sandbox.login(provider, "parent", CHILDREN)
    assert identity.provider == "esia"
    assert identity.subject == "1000100001"
    assert identity.account_level == "confirmed"
    assert identity.amr == ("pwd",)
    assert identity.attributes["family_name"] == "Тестова"
    assert identity.attributes["snils"] == "100-200-301 31"
    assert _age(identity.attributes["birthdate"]) == 38
    assert "phone_number" not in identity.attributes  # mobile not requested
    assert [_age(c["birthdate"]) for c in identity.children] == [7, 12, 15]
    first = identity.children[0]
    assert first["upstream_id"] == "7000001"
    assert first["snils"] == "100-200-302 32"
    assert first["birth_certificate"] == {
        "type": "RF_BRTH_CERT",
        "series": "IV-МЮ",
        "number": "000701",
        "issue_date": first["birth_certificate"]["issue_date"],
        "verified": True,
    }
    # Allow-list: nothing beyond the listed keys (no gender, INN, medical policy...).
    assert set(identity.attributes) == {
        "family_name",
        "given_name",
        "middle_name",
        "birthdate",
        "snils",
    }
    assert all(
        set(c)
        <= {
            "upstream_id",
            "family_name",
            "given_name",
            "middle_name",
            "birthdate",
            "snils",
            "birth_certificate",
        }
        for c in identity.children
    )


def test_without_children_scope_no_kid_scopes_and_no_children(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider()
    url = provider.authorization_url("7648d7bd-6369-4073-b545-90250f68025e", ("openid",), CALLBACK)
    assert "kid_" not in url
    identity = sandbox.login(provider, "parent", ("openid", "profile"))
    assert identity.children == ()


def test_child_account_is_level_child(sandbox: EsiaSandbox) -> None:
    identity = sandbox.login(sandbox.provider(), "kid7", CHILDREN)
    assert identity.account_level == "child"
    assert identity.subject == "1000100011"
    assert _age(identity.attributes["birthdate"]) == 7
    assert identity.children == ()


def test_teen_own_account_matches_parents_kid_record(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider()
    teen = sandbox.login(provider, "teen15", CHILDREN)
    parent = sandbox.login(provider, "parent", CHILDREN)
    assert teen.account_level == "confirmed"
    assert _age(teen.attributes["birthdate"]) == 15
    same = [c for c in parent.children if c.get("snils") == teen.attributes["snils"]]
    assert len(same) == 1
    assert same[0]["birthdate"] == teen.attributes["birthdate"]
    # The kid record id is not the child's own oid (ESIA.md §9).
    assert same[0]["upstream_id"] != teen.subject


def test_foreign_birth_certificate_passes_through(sandbox: EsiaSandbox) -> None:
    identity = sandbox.login(sandbox.provider(), "parent_foreign", CHILDREN)
    (child,) = identity.children
    assert child["birth_certificate"]["type"] == "FID_BRTH_CERT"
    assert child["birth_certificate"]["series"] == "AB"
    assert child["birth_certificate"]["number"] == "1234567"
    assert child["birth_certificate"]["verified"] is False


@pytest.mark.parametrize(
    ("persona", "level", "has_snils"),
    [("standard", "standard", True), ("simplified", "simplified", False)],
)
def test_unconfirmed_levels(
    sandbox: EsiaSandbox, persona: str, level: str, has_snils: bool
) -> None:
    identity = sandbox.login(sandbox.provider(), persona)
    assert identity.account_level == level
    assert ("snils" in identity.attributes) is has_snils


def test_adult_without_children_and_test_snils_without_checksum(sandbox: EsiaSandbox) -> None:
    identity = sandbox.login(sandbox.provider(), "single", CHILDREN)
    assert identity.account_level == "confirmed"
    assert identity.children == ()
    assert identity.attributes["snils"] == "000-000-600 06"  # ≤ 001-001-998: no checksum


def test_verified_mobile_only_when_sms_factors_enabled(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider(request_mobile=True)
    parent = sandbox.login(provider, "parent")
    assert parent.attributes["phone_number"] == "+79000000101"
    assert parent.attributes["phone_number_verified"] is True
    single = sandbox.login(provider, "single")  # its mobile is NOT_VERIFIED
    assert "phone_number" not in single.attributes
    assert "email" not in single.attributes


def test_verified_email_only_when_email_codes_enabled(sandbox: EsiaSandbox) -> None:
    assert "email" not in sandbox.login(sandbox.provider(), "parent").attributes
    provider = sandbox.provider(request_email=True)
    assert provider.esia_scopes(("openid",)) == (
        "openid",
        "fullname",
        "birthdate",
        "mobile",
        "email",
        "snils",
    )
    parent = sandbox.login(provider, "parent")
    assert parent.attributes["email"] == "anna.testova@example.test"
    assert parent.attributes["email_verified"] is True
    assert parent.attributes["phone_number"] == "+79000000101"


def test_roster_matching_off_means_no_snils(sandbox: EsiaSandbox) -> None:
    identity = sandbox.login(sandbox.provider(roster_matching=False), "parent")
    assert "snils" not in identity.attributes
    # Without SNILS evidence a non-confirmed account can only be "simplified".
    assert sandbox.login(sandbox.provider(roster_matching=False), "standard").account_level == (
        "simplified"
    )


def test_scopes_requested_follow_the_table(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider(request_mobile=True)
    assert provider.esia_scopes(("openid", "child")) == (
        "openid",
        "fullname",
        "birthdate",
        "mobile",
        "snils",
        *KID_SCOPES,
    )


def test_refresh_both_variants(sandbox: EsiaSandbox) -> None:
    for variant in ("ili4", "ais"):
        provider = sandbox.provider(access_type="offline", refresh_variant=variant)
        scopes = provider.esia_scopes(("openid",))
        state, result = sandbox.authorize(provider, "single")
        tokens = provider.client.exchange_code(result.query["code"], scopes, CALLBACK)
        assert tokens.refresh_token is not None
        again = provider.client.refresh(tokens.refresh_token, scopes, CALLBACK)
        assert again.access_token != tokens.access_token
        assert state


def test_logout_url_uses_redirect_url(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider()
    url = provider.logout_url("http://127.0.0.1:9/logged-out")
    assert url is not None
    assert "/idp/ext/Logout?client_id=VHOD_GOST&redirect_url=" in url
    r = requests.get(url, allow_redirects=False, timeout=5)
    assert r.status_code == 302
    assert r.headers["Location"] == "http://127.0.0.1:9/logged-out"


def test_no_personal_data_in_logs(sandbox: EsiaSandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    identity = sandbox.login(sandbox.provider(request_mobile=True), "parent", CHILDREN)
    text = caplog.text + " ".join(str(getattr(r, "vhod_fields", "")) for r in caplog.records)
    for canary in (
        identity.subject,
        identity.attributes["snils"],
        identity.attributes["family_name"],
        identity.attributes["birthdate"],
        "9000000101",
        "000701",
        "100-200-302 32",
    ):
        assert canary not in text


@pytest.mark.openssl
@pytest.mark.parametrize("protocol", ["v2", "v1"])
def test_openssl_signer_backend(sandbox: EsiaSandbox, protocol: str) -> None:
    """The same login with ``client_secret`` signed by OpenSSL's gost-engine."""
    require("openssl", openssl_gost_available(), "openssl with the GOST engine is not installed")
    identity = sandbox.login(sandbox.provider(signer="openssl", protocol=protocol), "single")
    assert identity.account_level == "confirmed"
