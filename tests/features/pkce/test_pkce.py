"""PKCE, S256 only, for every client: SECURITY.md T14–T18 (and §6.1 on Authlib's
permissive defaults).

Documented choices: a malformed verifier at the token endpoint is ``invalid_grant`` (like a
wrong one), and any failed PKCE check burns the code [POLICY].
"""

from __future__ import annotations

import pytest

from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient
from tests.helpers.oauth import s256


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_challenge": None, "code_challenge_method": None},
        {"code_challenge": None},
        {"code_challenge_method": None},
        {"code_challenge_method": "plain"},
        {"code_challenge_method": "s256"},
        {"code_challenge_method": "SHA512"},
        {"code_challenge": "a" * 42},
        {"code_challenge": "a" * 44},
        {"code_challenge": "a+b/" + "c" * 38 + "="},
        {"code_challenge": "a" * 128},
    ],
)
def test_authorization_requests_without_a_valid_s256_challenge_fail(
    kit: OAuthKit, school: RegisteredClient, overrides: dict[str, str | None]
) -> None:
    response = kit.get_authorize(school, state="st", **overrides)
    query = kit.assert_error_redirect(response, school.redirect_uri, "invalid_request", "st")
    assert "code" not in query


def test_plain_is_refused_even_when_the_challenge_equals_a_verifier(
    kit: OAuthKit, school: RegisteredClient
) -> None:
    verifier = "v" * 43
    response = kit.get_authorize(
        school, state="st", code_challenge=verifier, code_challenge_method="plain"
    )
    kit.assert_error_redirect(response, school.redirect_uri, "invalid_request", "st")


def test_valid_s256_flow_succeeds(kit: OAuthKit, school: RegisteredClient) -> None:
    tokens = kit.login_tokens(school)
    assert tokens["token_type"] == "Bearer"


@pytest.mark.parametrize(
    "verifier",
    [
        None,
        "",
        "wrong-" + "v" * 40,
        "v" * 42,
        "v" * 129,
        "v" * 40 + "%20",
        "v" * 40 + " ab",
    ],
)
def test_wrong_missing_or_malformed_verifier_is_invalid_grant_and_burns_the_code(
    kit: OAuthKit, school: RegisteredClient, verifier: str | None
) -> None:
    authorized = kit.login(school)
    response = kit.exchange(school, authorized, code_verifier=verifier)
    kit.assert_json_error(response, "invalid_grant")
    retry = kit.exchange(school, authorized)
    kit.assert_json_error(retry, "invalid_grant")


def test_verifier_of_another_challenge_fails(kit: OAuthKit, school: RegisteredClient) -> None:
    first = kit.login(school)
    second = kit.login(school)
    assert s256(first.verifier) != s256(second.verifier)
    response = kit.exchange(school, first, code_verifier=second.verifier)
    kit.assert_json_error(response, "invalid_grant")
