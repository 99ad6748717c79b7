"""Redirect-URI registration rules (T7) and client field validation."""

from __future__ import annotations

import pytest

from gateway.admin.clients import redirect_uri_problems
from gateway.admin.clients import validate_client_fields
from gateway.core.types import Client

CATALOGUE = ("openid", "profile", "diary")


@pytest.mark.parametrize(
    "uri",
    [
        "https://school.example/cb#frag",
        "http://school.example/cb",
        "https://*.school.example/cb",
        "javascript:alert(1)",
        "data:text/html,hi",
        "https://user:pw@school.example/cb",
        "/relative/cb",
        "https://school.example/c b",
        "",
    ],
)
def test_bad_redirect_uris_are_refused(uri: str) -> None:
    assert redirect_uri_problems(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "https://school.example/cb",
        "https://school.example:8443/cb?x=1",
        "http://127.0.0.1:8082/cb",
        "http://localhost/cb",
        "http://[::1]:9000/cb",
    ],
)
def test_good_redirect_uris(uri: str) -> None:
    assert redirect_uri_problems(uri) == []


def test_every_field_problem_is_reported() -> None:
    client = Client(
        client_id="bad id!",
        redirect_uris=("http://evil.example/cb",),
        scopes=("openid", "nope"),
        grant_types=("password",),
        token_endpoint_auth_method="none",
        access_token_alg="HS256",
    )
    problems = validate_client_fields(client, CATALOGUE)
    text = "\n".join(problems)
    for field in (
        "client_id",
        "redirect_uri",
        "scope",
        "grant_type",
        "token_endpoint_auth_method",
        "access_token_alg",
    ):
        assert field in text
