"""The token endpoint: SECURITY.md T24–T27, T29, T30, T33–T35, T42, T98, R2; client
credentials; token formats and per-client algorithms; pairwise subjects."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gateway.core.errors import StoreUnavailable
from gateway.core.ids import new_code
from gateway.core.types import TokenFormat
from tests.helpers.oauth import ISSUER
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient
from tests.helpers.oauth import unverified_header

TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_-]{43,}$")


def test_success_response_shape(kit: OAuthKit, school: RegisteredClient) -> None:
    response = kit.exchange(school, kit.login(school))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int)
    assert body["expires_in"] > 0
    assert body["scope"] == "openid profile"
    assert {"access_token", "id_token", "refresh_token"} <= set(body)
    assert TOKEN_CHARS.match(body["refresh_token"])


def test_access_token_follows_rfc9068(kit: OAuthKit, school: RegisteredClient) -> None:
    tokens = kit.login_tokens(school)
    header, claims = kit.verify(tokens["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    assert claims["iss"] == ISSUER
    assert claims["aud"] == "school"
    assert claims["client_id"] == "school"
    assert claims["scope"] == "openid profile"
    assert claims["exp"] - claims["iat"] == kit.services.config.oauth.access_token_ttl_seconds
    for name in ("sub", "jti", "sid", "acr", "amr", "auth_time"):
        assert name in claims
    personal = {"name", "given_name", "family_name", "birthdate", "email", "phone_number", "snils"}
    assert not personal & set(claims)


def test_id_token_claims(kit: OAuthKit, school: RegisteredClient) -> None:
    authorized = kit.login(school)
    tokens = kit.exchange(school, authorized).get_json()
    header, claims = kit.verify(tokens["id_token"])
    assert header["alg"] == "RS256"
    assert header["typ"] == "JWT"
    assert claims["iss"] == ISSUER
    assert claims["aud"] == "school"
    assert claims["azp"] == "school"
    assert claims["nonce"] == authorized.nonce
    now = kit.services.clock.now()
    assert claims["iat"] == int(now)
    assert claims["exp"] > now
    assert {"auth_time", "acr", "amr", "sid", "at_hash"} <= set(claims)
    assert claims["acr"].startswith("urn:vhod:acr:")
    assert len(claims["sub"]) <= 255
    assert claims["sub"].isascii()
    _, access = kit.verify(tokens["access_token"])
    assert access["sub"] == claims["sub"]
    assert access["sid"] == claims["sid"]


def test_pairwise_subjects_per_sector(kit: OAuthKit, services: Any) -> None:
    a = kit.register("alpha")
    b = kit.register("beta")
    c = kit.register("gamma", sector="district-7")
    d = kit.register("delta", sector="district-7")
    subs = {}
    for rc in (a, b, c, d):
        _, claims = kit.verify(kit.login_tokens(rc)["id_token"])
        subs[rc.client_id] = claims["sub"]
    assert subs["alpha"] != subs["beta"]
    assert subs["gamma"] == subs["delta"]
    assert subs["alpha"] != subs["gamma"]
    with services.uow() as uow:
        internal = uow.grants.find_subject("alpha", subs["alpha"])
    assert internal is not None
    assert internal not in subs.values()
    again = kit.verify(kit.login_tokens(a)["id_token"])[1]["sub"]
    assert again == subs["alpha"]


def test_per_client_algorithms(kit: OAuthKit) -> None:
    rc = kit.register("algs", id_token_alg="ES256", access_token_alg="RS256")
    tokens = kit.login_tokens(rc)
    assert unverified_header(tokens["id_token"])["alg"] == "ES256"
    assert unverified_header(tokens["access_token"])["alg"] == "RS256"
    kit.verify(tokens["id_token"])
    kit.verify(tokens["access_token"])


def test_resource_is_the_access_token_audience(kit: OAuthKit) -> None:
    rc = kit.register("rs", resource="https://diary.school.example/")
    tokens = kit.login_tokens(rc, resource="https://diary.school.example/")
    assert kit.verify(tokens["access_token"])[1]["aud"] == "https://diary.school.example/"


def test_opaque_access_tokens(kit: OAuthKit) -> None:
    rc = kit.register("opaque", token_format=TokenFormat.OPAQUE)
    tokens = kit.login_tokens(rc)
    assert TOKEN_CHARS.match(tokens["access_token"])
    assert tokens["access_token"].count(".") == 0
    assert kit.userinfo(tokens["access_token"]).status_code == 200
    info = kit.introspect(rc, tokens["access_token"]).get_json()
    assert info["active"] is True
    assert info["client_id"] == "opaque"


# ---------------------------------------------------------------- T25–T27, T29, T30


def test_code_is_single_use(kit: OAuthKit, school: RegisteredClient) -> None:
    authorized = kit.login(school)
    assert kit.exchange(school, authorized).status_code == 200
    kit.assert_json_error(kit.exchange(school, authorized), "invalid_grant")


def test_code_replay_revokes_everything_issued_from_it(
    kit: OAuthKit, school: RegisteredClient, services: Any
) -> None:
    authorized = kit.login(school)
    tokens = kit.exchange(school, authorized).get_json()
    services.clock.advance(30)
    kit.assert_json_error(kit.exchange(school, authorized), "invalid_grant")
    userinfo = kit.userinfo(tokens["access_token"])
    assert userinfo.status_code == 401
    assert 'error="invalid_token"' in userinfo.headers["WWW-Authenticate"]
    assert kit.introspect(school, tokens["access_token"]).get_json() == {"active": False}
    kit.assert_json_error(kit.refresh(school, tokens["refresh_token"]), "invalid_grant")
    with services.uow() as uow:
        events = [e.event for e in uow.audit.iter_all()]
    assert "grant.revoked" in events


def test_code_expires(kit: OAuthKit, school: RegisteredClient, services: Any) -> None:
    authorized = kit.login(school)
    services.clock.advance(services.config.oauth.code_ttl_seconds + 1)
    kit.assert_json_error(kit.exchange(school, authorized), "invalid_grant")


def test_code_just_before_expiry_works(
    kit: OAuthKit, school: RegisteredClient, services: Any
) -> None:
    authorized = kit.login(school)
    services.clock.advance(services.config.oauth.code_ttl_seconds - 1)
    assert kit.exchange(school, authorized).status_code == 200


def test_code_is_bound_to_its_client(
    kit: OAuthKit, school: RegisteredClient, other: RegisteredClient
) -> None:
    authorized = kit.login(school)
    kit.assert_json_error(kit.exchange(other, authorized), "invalid_grant")


def test_code_exchange_requires_client_authentication(
    kit: OAuthKit, school: RegisteredClient
) -> None:
    authorized = kit.login(school)
    response = kit.exchange(school, authorized, headers={}, client_id="school")
    kit.assert_json_error(response, "invalid_client", 401)
    assert response.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("redirect_uri", [None, "https://school.example/cb/", "https://x.example/"])
def test_code_is_bound_to_its_redirect_uri(
    kit: OAuthKit, school: RegisteredClient, redirect_uri: str | None
) -> None:
    authorized = kit.login(school)
    kit.assert_json_error(
        kit.exchange(school, authorized, redirect_uri=redirect_uri), "invalid_grant"
    )


def test_unknown_code(kit: OAuthKit, school: RegisteredClient) -> None:
    response = kit.client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": new_code(),
            "redirect_uri": school.redirect_uri,
            "code_verifier": "v" * 43,
        },
        headers=school.auth(),
    )
    kit.assert_json_error(response, "invalid_grant")


# ---------------------------------------------------------------- T31e, T33, hygiene


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grant_type": "password", "username": "u", "password": "p"}, "unsupported_grant_type"),
        ({"grant_type": "implicit"}, "unsupported_grant_type"),
        ({"grant_type": "urn:ietf:params:oauth:grant-type:device_code"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
        ({"grant_type": "authorization_code"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
    ],
)
def test_unsupported_or_malformed_grants(
    kit: OAuthKit, school: RegisteredClient, data: dict[str, str], error: str
) -> None:
    kit.assert_json_error(kit.client.post("/token", data=data, headers=school.auth()), error)


def test_grant_type_not_registered_is_unauthorized_client(kit: OAuthKit) -> None:
    rc = kit.register("codeonly", grant_types=("authorization_code",))
    response = kit.client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=rc.auth()
    )
    kit.assert_json_error(response, "unauthorized_client")


def test_duplicated_parameters_are_invalid_request(kit: OAuthKit, school: RegisteredClient) -> None:
    authorized = kit.login(school)
    body = (
        f"grant_type=authorization_code&code={authorized.code}&code={authorized.code}"
        f"&redirect_uri={school.redirect_uri}&code_verifier={authorized.verifier}"
    )
    response = kit.client.post(
        "/token",
        data=body,
        headers={**school.auth(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    kit.assert_json_error(response, "invalid_request")


def test_get_is_not_allowed(kit: OAuthKit, school: RegisteredClient) -> None:
    response = kit.client.get("/token?grant_type=client_credentials", headers=school.auth())
    assert response.status_code == 405


def test_query_string_is_never_read(kit: OAuthKit, school: RegisteredClient) -> None:
    response = kit.client.post(
        f"/token?grant_type=client_credentials&client_id=school&client_secret={school.secret}",
        data={"grant_type": "client_credentials"},
    )
    kit.assert_json_error(response, "invalid_client", 401)


# ---------------------------------------------------------------- client credentials


def test_client_credentials(kit: OAuthKit, school: RegisteredClient) -> None:
    response = kit.client.post(
        "/token", data={"grant_type": "client_credentials", "scope": "diary"}, headers=school.auth()
    )
    assert response.status_code == 200
    body = response.get_json()
    assert "refresh_token" not in body
    assert "id_token" not in body
    assert body["scope"] == "diary"
    _, claims = kit.verify(body["access_token"])
    assert claims["sub"] == "school"
    assert "sid" not in claims
    assert "acr" not in claims


def test_client_credentials_default_scope_excludes_person_scopes(
    kit: OAuthKit, school: RegisteredClient
) -> None:
    body = kit.client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=school.auth()
    ).get_json()
    assert set(body["scope"].split()) == {"profile", "email", "diary"}


@pytest.mark.parametrize("scope", ["openid", "offline_access", "payments", "bogus", "diary openid"])
def test_client_credentials_scope_is_limited(
    kit: OAuthKit, school: RegisteredClient, scope: str
) -> None:
    response = kit.client.post(
        "/token", data={"grant_type": "client_credentials", "scope": scope}, headers=school.auth()
    )
    kit.assert_json_error(response, "invalid_scope")


# ---------------------------------------------------------------- T34: entropy


def test_credentials_are_unique_and_long(kit: OAuthKit, school: RegisteredClient) -> None:
    codes = set()
    refresh = set()
    for _ in range(4):
        authorized = kit.login(school)
        codes.add(authorized.code)
        refresh.add(kit.exchange(school, authorized).get_json()["refresh_token"])
    tokens = kit.services.oauth.ctx.tokens
    refresh |= {tokens.refresh_token()[0] for _ in range(2000)}
    assert len(codes) == 4
    assert len(refresh) == 2004
    for value in codes | refresh:
        assert TOKEN_CHARS.match(value)


# ---------------------------------------------------------------- R2: outage at issuance


def test_store_outage_while_saving_tokens_keeps_the_code_usable(
    kit: OAuthKit, school: RegisteredClient, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    authorized = kit.login(school)
    ctx = services.oauth.ctx
    real_factory = ctx.uow

    class BrokenGrants:
        def add(self, grant: Any) -> None:
            raise StoreUnavailable("sql", "connection lost")

    def factory(**kwargs: Any) -> Any:
        uow = real_factory(**kwargs)
        uow.grants = BrokenGrants()
        return uow

    monkeypatch.setattr(ctx, "uow", factory)
    response = kit.exchange(school, authorized)
    kit.assert_json_error(response, "temporarily_unavailable", 503)
    assert response.headers["Retry-After"]
    monkeypatch.setattr(ctx, "uow", real_factory)
    assert kit.exchange(school, authorized).status_code == 200
    kit.assert_json_error(kit.exchange(school, authorized), "invalid_grant")
