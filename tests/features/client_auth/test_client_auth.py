"""Client authentication: SECURITY.md T31 (secrets and ``private_key_jwt``), T32 (brute-force
throttle with the real client still working)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any
from urllib.parse import quote_plus

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from joserfc.jwk import RSAKey

from gateway.oauth import clientauth
from tests.helpers.oauth import ISSUER
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient
from tests.helpers.oauth import basic

CC = {"grant_type": "client_credentials"}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def test_basic_with_the_right_secret(kit: OAuthKit, school: RegisteredClient) -> None:
    assert kit.client.post("/token", data=CC, headers=school.auth()).status_code == 200


def test_wrong_secret_via_basic_is_401_with_a_challenge(
    kit: OAuthKit, school: RegisteredClient
) -> None:
    """RFC 6749 §5.2: the challenge names the error (openid-client reads it first), at
    every client-authenticated endpoint."""
    wrong = basic("school", "wrong-" + "x" * 40)
    for path, data in (
        ("/token", CC),
        ("/introspect", {"token": "x" * 43}),
        ("/revoke", {"token": "x" * 43}),
    ):
        response = kit.client.post(path, data=data, headers=wrong)
        kit.assert_json_error(response, "invalid_client", 401)
        assert response.headers["WWW-Authenticate"] == 'Basic realm="vhod", error="invalid_client"'


def test_unknown_client_and_wrong_secret_look_the_same(
    kit: OAuthKit, school: RegisteredClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[str, str]] = []
    original = clientauth.hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(clientauth.hmac, "compare_digest", spy)
    wrong = kit.client.post("/token", data=CC, headers=basic("school", "x" * 43))
    unknown = kit.client.post("/token", data=CC, headers=basic("nobody", "y" * 43))
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"]
    # One code path: the unknown client's presented secret is digested and compared too.
    assert len(compared) == 2
    assert all(len(presented) == 64 for presented, _ in compared)


def test_no_credentials(kit: OAuthKit, school: RegisteredClient) -> None:
    kit.assert_json_error(kit.client.post("/token", data=CC), "invalid_client", 401)
    response = kit.client.post("/token", data={**CC, "client_id": "school"})
    kit.assert_json_error(response, "invalid_client", 401)


def test_only_the_registered_method_is_accepted(kit: OAuthKit) -> None:
    post_client = kit.register("poster", token_endpoint_auth_method="client_secret_post")
    assert post_client.secret is not None
    as_post = {**CC, "client_id": "poster", "client_secret": post_client.secret}
    assert kit.client.post("/token", data=as_post).status_code == 200
    as_basic = kit.client.post("/token", data=CC, headers=post_client.auth())
    kit.assert_json_error(as_basic, "invalid_client", 401)
    basic_client = kit.register("basicone")
    assert basic_client.secret is not None
    wrong_method = {**CC, "client_id": "basicone", "client_secret": basic_client.secret}
    kit.assert_json_error(kit.client.post("/token", data=wrong_method), "invalid_client", 401)


def test_two_methods_at_once_are_invalid_request(kit: OAuthKit, school: RegisteredClient) -> None:
    data = {**CC, "client_secret": school.secret or ""}
    response = kit.client.post("/token", data=data, headers=school.auth())
    kit.assert_json_error(response, "invalid_request")


def test_secret_with_reserved_characters_decodes(kit: OAuthKit) -> None:
    secret = "a:b%c+d/e=" + secrets.token_urlsafe(32)
    rc = kit.register("odd.client-id_1", secret=secret)
    encoded = f"{quote_plus('odd.client-id_1')}:{quote_plus(secret)}"
    header = {"Authorization": "Basic " + base64.b64encode(encoded.encode()).decode()}
    assert kit.client.post("/token", data=CC, headers=header).status_code == 200
    lower = {"Authorization": "basic " + header["Authorization"].split(" ", 1)[1]}
    assert kit.client.post("/token", data=CC, headers=lower).status_code == 200
    assert rc.secret == secret


def test_disabled_client_cannot_authenticate(kit: OAuthKit, school: RegisteredClient) -> None:
    kit.update(school, disabled=True)
    kit.assert_json_error(
        kit.client.post("/token", data=CC, headers=school.auth()), "invalid_client", 401
    )


# ---------------------------------------------------------------- private_key_jwt


@pytest.fixture
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "rp-key-1"})


@pytest.fixture
def jwt_client(kit: OAuthKit, rsa_key: RSAKey) -> RegisteredClient:
    jwks = {"keys": [rsa_key.as_dict(private=False)]}
    return kit.register(
        "jwtclient", token_endpoint_auth_method="private_key_jwt", jwks=json.dumps(jwks)
    )


def assertion(key: Any, alg: str = "RS256", **overrides: Any) -> str:
    now = 1_790_000_000
    claims: dict[str, Any] = {
        "iss": "jwtclient",
        "sub": "jwtclient",
        "aud": ISSUER + "/token",
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": alg, "kid": "rp-key-1"}, claims, key, algorithms=[alg])


def post_assertion(kit: OAuthKit, value: str, **extra: str) -> Any:
    data = {**CC, "client_assertion_type": ASSERTION_TYPE, "client_assertion": value, **extra}
    return kit.client.post("/token", data=data)


def test_private_key_jwt(kit: OAuthKit, jwt_client: RegisteredClient, rsa_key: RSAKey) -> None:
    assert jwt_client.secret is None
    assert post_assertion(kit, assertion(rsa_key)).status_code == 200
    assert post_assertion(kit, assertion(rsa_key, aud=ISSUER)).status_code == 200
    response = post_assertion(kit, assertion(rsa_key), client_id="jwtclient")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "https://other.example/token"},
        {"exp": 1_790_000_000 - 300},
        {"exp": None},
        {"exp": 1_790_000_000 + 3600},
        {"iss": "someone-else"},
        {"jti": None},
        {"nbf": 1_790_000_000 + 600},
    ],
)
def test_private_key_jwt_claims_are_checked(
    kit: OAuthKit, jwt_client: RegisteredClient, rsa_key: RSAKey, overrides: dict[str, Any]
) -> None:
    response = post_assertion(kit, assertion(rsa_key, **overrides))
    kit.assert_json_error(response, "invalid_client", 401)


def test_private_key_jwt_jti_is_single_use(
    kit: OAuthKit, jwt_client: RegisteredClient, rsa_key: RSAKey
) -> None:
    value = assertion(rsa_key)
    assert post_assertion(kit, value).status_code == 200
    kit.assert_json_error(post_assertion(kit, value), "invalid_client", 401)


def test_private_key_jwt_refuses_none_and_hmac(
    kit: OAuthKit, jwt_client: RegisteredClient, rsa_key: RSAKey
) -> None:
    claims = json.loads(base64.urlsafe_b64decode(assertion(rsa_key).split(".")[1] + "==").decode())
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    kit.assert_json_error(post_assertion(kit, f"{none_header}.{payload}."), "invalid_client", 401)
    public_pem = rsa_key.as_pem(private=False)
    hs_header = base64.urlsafe_b64encode(b'{"alg":"HS256","kid":"rp-key-1"}').rstrip(b"=").decode()
    signing_input = f"{hs_header}.{payload}".encode()
    mac = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    forged = f"{hs_header}.{payload}." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    kit.assert_json_error(post_assertion(kit, forged), "invalid_client", 401)


def test_private_key_jwt_signed_by_another_key(kit: OAuthKit, jwt_client: RegisteredClient) -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": "rp-key-1"})
    kit.assert_json_error(post_assertion(kit, assertion(stranger)), "invalid_client", 401)
    ec = ECKey.generate_key("P-256", parameters={"kid": "rp-key-1"})
    kit.assert_json_error(post_assertion(kit, assertion(ec, "ES256")), "invalid_client", 401)


def test_private_key_jwt_client_id_mismatch(
    kit: OAuthKit, jwt_client: RegisteredClient, rsa_key: RSAKey
) -> None:
    response = post_assertion(kit, assertion(rsa_key), client_id="school")
    kit.assert_json_error(response, "invalid_client", 401)


def test_assertion_for_a_secret_client_is_refused(
    kit: OAuthKit, school: RegisteredClient, rsa_key: RSAKey
) -> None:
    value = assertion(rsa_key, iss="school", sub="school")
    kit.assert_json_error(post_assertion(kit, value), "invalid_client", 401)


# ---------------------------------------------------------------- T32: throttle


def test_failures_are_throttled_but_the_real_client_keeps_working(
    kit: OAuthKit, school: RegisteredClient, services: Any
) -> None:
    limit = services.config.oauth.client_auth_failures_per_minute
    attacker = {"REMOTE_ADDR": "203.0.113.7"}
    wrong = basic("school", "wrong-" + "x" * 40)
    statuses = [
        kit.client.post("/token", data=CC, headers=wrong, environ_base=attacker).status_code
        for _ in range(limit + 3)
    ]
    assert statuses[:limit] == [401] * limit
    assert statuses[limit:] == [429] * 3
    throttled = kit.client.post("/token", data=CC, headers=wrong, environ_base=attacker)
    assert throttled.headers["Retry-After"] == "60"
    assert throttled.headers["Cache-Control"] == "no-store"
    # the attacker's address is blocked even with the right secret (guessing stops) ...
    blocked = kit.client.post("/token", data=CC, headers=school.auth(), environ_base=attacker)
    assert blocked.status_code == 429
    # ... while the real client, from an address that never failed, keeps working
    real = kit.client.post(
        "/token", data=CC, headers=school.auth(), environ_base={"REMOTE_ADDR": "198.51.100.1"}
    )
    assert real.status_code == 200
    services.clock.advance(61)
    after = kit.client.post("/token", data=CC, headers=school.auth(), environ_base=attacker)
    assert after.status_code == 200


def test_many_addresses_are_throttled_too(
    kit: OAuthKit, school: RegisteredClient, services: Any
) -> None:
    limit = services.config.oauth.client_auth_failures_per_minute
    wrong = basic("school", "wrong-" + "x" * 40)
    statuses = [
        kit.client.post(
            "/token", data=CC, headers=wrong, environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}
        ).status_code
        for i in range(limit + 5)
    ]
    assert 429 in statuses
    assert statuses.count(401) == limit
