"""SECURITY.md T1–T4, T70: discovery document, JWKS, CORS, methods."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config.schema import ACR_VALUES
from gateway.oauth.discovery import metadata
from tests.conftest import make_config
from tests.features.discovery.conftest import SPA
from tests.helpers.oauth import ISSUER
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def test_discovery_document(client: Any, services: Any) -> None:
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"].startswith("public")
    doc = response.get_json()
    assert doc["issuer"] == ISSUER
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "pushed_authorization_request_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "end_session_endpoint",
    ):
        assert doc[name].startswith(ISSUER + "/"), name
    assert doc["response_types_supported"] == ["code"]
    assert doc["response_modes_supported"] == ["query"]
    assert not {"password", "implicit"} & set(doc["grant_types_supported"])
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert "RS256" in doc["id_token_signing_alg_values_supported"]
    assert "none" not in doc["id_token_signing_alg_values_supported"]
    assert set(doc["scopes_supported"]) == set(services.config.scopes)
    assert "openid" in doc["scopes_supported"]
    assert doc["subject_types_supported"] == ["pairwise"]
    assert doc["acr_values_supported"] == list(ACR_VALUES)
    assert doc["backchannel_logout_supported"] is True
    assert doc["backchannel_logout_session_supported"] is True
    assert doc["require_pushed_authorization_requests"] is False
    assert doc["request_parameter_supported"] is False
    assert doc["request_uri_parameter_supported"] is False
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    }
    assert "none" not in doc["token_endpoint_auth_signing_alg_values_supported"]
    assert {"sub", "acr", "amr", "sid", "auth_time"} <= set(doc["claims_supported"])


def test_public_subjects_are_advertised_when_pairwise_is_off(tmp_path: Any) -> None:
    config = make_config(tmp_path, oauth={"pairwise_subjects": False})
    assert metadata(config)["subject_types_supported"] == ["public"]


def test_jwks_publishes_public_keys_only(client: Any) -> None:
    response = client.get("/jwks")
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("public")
    keys = response.get_json()["keys"]
    assert keys
    kids = [k["kid"] for k in keys]
    assert len(kids) == len(set(kids))
    for key in keys:
        assert not PRIVATE_MEMBERS & set(key), key
        assert key["use"] == "sig"
        assert key["alg"] in ("RS256", "ES256")
        if key["kty"] == "RSA":
            import base64

            n = base64.urlsafe_b64decode(key["n"] + "=" * (-len(key["n"]) % 4))
            assert len(n) * 8 >= 2048


def test_every_issued_kid_resolves_in_jwks(kit: OAuthKit, school: RegisteredClient) -> None:
    tokens = kit.login_tokens(school)
    kids = {k["kid"] for k in kit.client.get("/jwks").get_json()["keys"]}
    for name in ("access_token", "id_token"):
        header, _ = kit.verify(tokens[name])
        assert header["kid"] in kids


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks"])
def test_cors_for_allow_listed_origin_only(client: Any, path: str) -> None:
    allowed = client.get(path, headers={"Origin": SPA})
    assert allowed.headers["Access-Control-Allow-Origin"] == SPA
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    for origin in ("https://evil.example", "null"):
        refused = client.get(path, headers={"Origin": origin})
        assert "Access-Control-Allow-Origin" not in refused.headers


def test_cors_preflight_on_token_endpoint(client: Any) -> None:
    headers = {"Origin": SPA, "Access-Control-Request-Method": "POST"}
    preflight = client.options("/token", headers=headers)
    assert preflight.headers["Access-Control-Allow-Origin"] == SPA
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    evil = client.options("/token", headers={**headers, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in evil.headers
    post = client.post("/token", data={"grant_type": "client_credentials"}, headers=headers)
    assert post.headers["Access-Control-Allow-Origin"] == SPA


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_no_cors_on_authorization_endpoint_and_pages(client: Any, method: str) -> None:
    for path in ("/authorize", "/logout", "/"):
        response = client.open(path, method=method, headers={"Origin": SPA})
        assert not [k for k, _ in response.headers.items() if k.startswith("Access-Control-")]


@pytest.mark.parametrize("method", ["TRACE", "PUT", "DELETE"])
@pytest.mark.parametrize(
    "path", ["/authorize", "/token", "/userinfo", "/introspect", "/revoke", "/par", "/logout"]
)
def test_unneeded_methods_are_refused(client: Any, method: str, path: str) -> None:
    assert client.open(path, method=method).status_code == 405


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke", "/par"])
def test_get_on_post_only_endpoints_is_405(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 405
    assert response.headers["Cache-Control"] == "no-store"


def test_issuer_never_comes_from_the_host_header(client: Any) -> None:
    doc = client.get(
        "/.well-known/openid-configuration",
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    ).get_json()
    assert "evil" not in str(doc)


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks"])
def test_documents_carry_a_strong_etag_and_answer_304(client: Any, path: str) -> None:
    first = client.get(path)
    etag = first.headers["ETag"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")
    assert first.headers["Cache-Control"] == "public, max-age=300"
    again = client.get(path)
    assert again.headers["ETag"] == etag
    assert again.data == first.data
    for header in (etag, f'"other", {etag}', "*"):
        cached = client.get(path, headers={"If-None-Match": header})
        assert cached.status_code == 304, header
        assert cached.data == b""
        assert cached.headers["ETag"] == etag
        assert cached.headers["Cache-Control"] == "public, max-age=300"
    stale = client.get(path, headers={"If-None-Match": '"not-it"'})
    assert stale.status_code == 200
    assert stale.data == first.data


def test_document_bodies_are_the_documents(client: Any, services: Any) -> None:
    discovery = client.get("/.well-known/openid-configuration")
    assert discovery.get_json() == metadata(services.config)
    jwks = client.get("/jwks")
    assert jwks.get_json() == services.keys.public_jwks()


def test_rotation_changes_jwks_and_its_etag(client: Any, services: Any) -> None:
    before = client.get("/jwks")
    services.keys.rotate()
    after = client.get("/jwks", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.get_json() == services.keys.public_jwks()
    assert len(after.get_json()["keys"]) > len(before.get_json()["keys"])
