"""A local run of the OpenID Foundation's Basic OP plan (``oidcc-basic-certification-test-
plan``, SECURITY.md §2.1) and of the discovery and key-rotation modules: the steps that need
no browser, played over real HTTP (``requests``) against the gateway served on a free
port, the login done at the fake upstream. Each module is named as in the conformance
suite; the run prints every module with PASSED / WARNING / SKIPPED / FAILED (like the suite,
only FAILED fails) — the terminal summary shows the table (``tests/reliability/conftest.py``).

What the suite judges from screenshots (REVIEW) is checked objectively: an error page, no
``Location`` to the client. ``oidcc-codereuse-30seconds`` redeems the code again at once
(no 30-second wait: the refusal does not depend on the delay).
"""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from gateway.admin.clients import register_client
from gateway.config.loader import data_dir
from gateway.core.factors import ACR_ESIA
from gateway.core.types import Client
from tests.conftest import make_config
from tests.helpers.gateway_process import HttpBrowser
from tests.helpers.journey import pkce_pair
from tests.helpers.processes import free_port
from tests.helpers.served import served_app

RESULTS: list[tuple[str, str, str]] = []
"""(module, result, note) of the last run, for the terminal summary."""

STANDARD_SCOPES = ("openid", "profile", "email", "address", "phone", "offline_access")
SKEW = 300  # the suite's ValidateIdToken allows five minutes


class Skipped(Exception):
    pass


class Warned(Exception):
    pass


class Op:
    """The gateway under test, its clients, and the browser that signs in."""

    def __init__(self, base: str, services: Any) -> None:
        self.base = base
        self.services = services
        self.discovery: dict[str, Any] = requests.get(
            base + "/.well-known/openid-configuration", timeout=30
        ).json()
        self.clients: dict[str, tuple[str, str]] = {}
        for client_id, method in (
            ("client1", "client_secret_basic"),
            ("client2", "client_secret_basic"),
            ("client-post", "client_secret_post"),
        ):
            client = Client(
                client_id=client_id,
                redirect_uris=(f"https://{client_id}.example/cb",),
                scopes=tuple(s for s in STANDARD_SCOPES if s in services.config.scopes),
                grant_types=("authorization_code", "refresh_token"),
                token_endpoint_auth_method=method,
            )
            _, secret = register_client(
                services.uow, services.clock, services.pepper, services.config.scopes, client, None
            )
            assert secret is not None
            self.clients[client_id] = (secret, client.redirect_uris[0])
        self.browser = HttpBrowser(base)

    # ---------------------------------------------------------------- steps

    def redirect_uri(self, client_id: str = "client1") -> str:
        return self.clients[client_id][1]

    def authorize(
        self, client_id: str = "client1", browser: HttpBrowser | None = None, **extra: str | None
    ) -> tuple[requests.Response, dict[str, str]]:
        """The authorization request (followed through vhod's own redirects); the final
        answer (a page, or the redirect to the client) and the parameters sent."""
        browser = browser or self.browser
        extra.setdefault("scope", "openid profile")
        first = browser.authorize(client_id, self.redirect_uri(client_id), **extra)
        v = browser.verifier
        return browser.follow(first), {"state": "st-" + v[:8], "nonce": "n-" + v[8:16]}

    def login(
        self, client_id: str = "client1", browser: HttpBrowser | None = None, **extra: str | None
    ) -> dict[str, Any]:
        """The whole code flow; the parsed authorization response and the token response."""
        browser = browser or self.browser
        response, sent = self.authorize(client_id, browser, **extra)
        if response.status_code == 200 and urlsplit(response.url).path == "/login/fake":
            response = browser.fake_login(response)
        if response.status_code == 200 and urlsplit(response.url).path.endswith("/consent"):
            response = browser.consent(response)
        assert response.status_code in (302, 303), (response.status_code, response.text[:200])
        location = response.headers["Location"]
        assert location.startswith(self.redirect_uri(client_id) + "?"), location
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert "code" in query, query
        token = self.token(
            client_id,
            grant_type="authorization_code",
            code=query["code"],
            redirect_uri=self.redirect_uri(client_id),
            code_verifier=browser.verifier,
        )
        assert token.status_code == 200, token.text
        return {"query": query, "sent": sent, "token": token, "body": token.json()}

    def token(self, client_id: str = "client1", **data: str) -> requests.Response:
        secret = self.clients[client_id][0]
        if client_id == "client-post":
            data = {**data, "client_id": client_id, "client_secret": secret}
            return requests.post(self.base + "/token", data=data, timeout=30)
        return requests.post(self.base + "/token", data=data, auth=(client_id, secret), timeout=30)

    def jwks(self) -> dict[str, Any]:
        answer: dict[str, Any] = requests.get(self.discovery["jwks_uri"], timeout=30).json()
        return answer

    def id_token(self, token: str, client_id: str = "client1", nonce: str | None = None) -> dict:
        """PerformStandardIdTokenChecks: signature by a JWKS key named by ``kid``, iss, aud,
        exp, iat (five minutes of skew), sub, nonce."""
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        assert header.get("kid"), "the ID token names its key"
        assert header["alg"] in self.discovery["id_token_signing_alg_values_supported"]
        keys = KeySet.import_key_set(self.jwks())
        claims: dict[str, Any] = dict(jwt.decode(token, keys, algorithms=[header["alg"]]).claims)
        now = time.time()
        assert claims["iss"] == self.discovery["issuer"]
        aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        assert client_id in aud
        assert claims["exp"] > now - SKEW
        assert now - SKEW < claims["iat"] < now + SKEW
        assert isinstance(claims["sub"], str)
        assert claims["sub"]
        if nonce is not None:
            assert claims.get("nonce") == nonce
        return claims

    def userinfo(self, access_token: str, how: str = "get") -> requests.Response:
        bearer = {"Authorization": f"Bearer {access_token}"}
        url = self.discovery["userinfo_endpoint"]
        if how == "get":
            return requests.get(url, headers=bearer, timeout=30)
        if how == "post-header":
            return requests.post(url, headers=bearer, timeout=30)
        return requests.post(url, data={"access_token": access_token}, timeout=30)


# -------------------------------------------------------------------- the modules


def discovery_endpoint_verification(op: Op) -> None:
    d = op.discovery
    assert d["issuer"] == op.base
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "userinfo_endpoint",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ):
        assert name in d, name
    assert all(d[n].startswith(op.base) for n in ("authorization_endpoint", "token_endpoint"))
    assert "code" in d["response_types_supported"]
    assert "RS256" in d["id_token_signing_alg_values_supported"]
    assert "none" not in d["id_token_signing_alg_values_supported"]
    assert "openid" in d.get("scopes_supported", ["openid"])
    assert "S256" in d.get("code_challenge_methods_supported", [])
    jwks = op.jwks()
    kids = [k["kid"] for k in jwks["keys"]]
    assert len(kids) == len(set(kids)), "kids are distinct"
    assert all("d" not in k for k in jwks["keys"]), "no private parts"


def server(op: Op) -> None:
    run = op.login()
    query, body, token = run["query"], run["body"], run["token"]
    assert query["state"] == run["sent"]["state"], "CheckStateInAuthorizationResponse"
    assert query["iss"] == op.discovery["issuer"], "ValidateIssIfPresentInAuthorizationResponse"
    assert "no-store" in token.headers["Cache-Control"]
    assert body["token_type"].lower() == "bearer"
    assert isinstance(body["expires_in"], int)
    assert body["expires_in"] > 0
    claims = op.id_token(body["id_token"], nonce=run["sent"]["nonce"])
    assert "auth_time" not in claims or claims["auth_time"] <= time.time() + SKEW
    info = op.userinfo(body["access_token"])
    assert info.status_code == 200
    assert info.json()["sub"] == claims["sub"]


def idtoken_signature(op: Op) -> None:
    body = op.login()["body"]
    header = json.loads(base64.urlsafe_b64decode(body["id_token"].split(".")[0] + "=="))
    assert header["alg"] == "RS256"
    assert header["kid"] in {k["kid"] for k in op.jwks()["keys"]}


def idtoken_unsigned(op: Op) -> None:
    if "none" not in op.discovery["id_token_signing_alg_values_supported"]:
        raise Skipped("'none' is not offered (servers are not required to support it)")


def userinfo(how: str) -> Callable[[Op], None]:
    def check(op: Op) -> None:
        body = op.login()["body"]
        answer = op.userinfo(body["access_token"], how)
        assert answer.status_code == 200, answer.status_code
        assert answer.json()["sub"] == op.id_token(body["id_token"])["sub"]

    return check


def without_nonce(op: Op) -> None:
    body = op.login(nonce=None)["body"]
    assert "nonce" not in op.id_token(body["id_token"])


def scope(name: str, claims: tuple[str, ...]) -> Callable[[Op], None]:
    def check(op: Op) -> None:
        requested = "openid " + name
        if name not in op.discovery.get("scopes_supported", []):
            raise Skipped(f"scope {name} not offered")
        body = op.login(scope=requested, prompt="consent")["body"]
        info = op.userinfo(body["access_token"]).json()
        missing = [c for c in claims if c not in info]
        if missing:
            raise Warned(f"userinfo lacks {', '.join(missing)} for the fake persona")

    return check


def accepted_with(**extra: str) -> Callable[[Op], None]:
    def check(op: Op) -> None:
        op.login(**extra)

    return check


def alternate_happy_flow(op: Op) -> None:
    op.login(scope="profile openid")


def prompt_login(op: Op) -> None:
    first = op.id_token(op.login()["body"]["id_token"])
    time.sleep(1.05)
    response, _ = op.authorize(prompt="login")
    assert urlsplit(response.url).path == "/login/fake", "prompt=login shows the login"
    second = op.id_token(op.login(prompt="login")["body"]["id_token"])
    assert second["auth_time"] > first["auth_time"]


def prompt_none_not_logged_in(op: Op) -> None:
    stranger = HttpBrowser(op.base)
    response, sent = op.authorize(browser=stranger, prompt="none")
    assert response.status_code in (302, 303)
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"][0] in (
        "login_required",
        "interaction_required",
        "account_selection_required",
        "consent_required",
    )
    assert query["state"] == [sent["state"]]


def prompt_none_logged_in(op: Op) -> None:
    first = op.id_token(op.login()["body"]["id_token"])
    second = op.id_token(op.login(prompt="none")["body"]["id_token"])
    assert second["sub"] == first["sub"]
    assert second["auth_time"] == first["auth_time"]


def max_age_1(op: Op) -> None:
    first = op.id_token(op.login()["body"]["id_token"])
    time.sleep(1.05)
    response, _ = op.authorize(max_age="1")
    assert urlsplit(response.url).path == "/login/fake", "max_age=1 makes the person sign in"
    second = op.id_token(op.login(max_age="1")["body"]["id_token"])
    assert second["auth_time"] > first["auth_time"]


def max_age_10000(op: Op) -> None:
    first = op.id_token(op.login()["body"]["id_token"])
    response, _ = op.authorize(max_age="10000")
    assert urlsplit(response.url).path != "/login/fake", "no new login within max_age"
    second = op.id_token(op.login(max_age="10000")["body"]["id_token"])
    assert second["sub"] == first["sub"]
    assert second["auth_time"] == first["auth_time"]


def id_token_hint(op: Op) -> None:
    hint = op.login()["body"]["id_token"]
    op.login(prompt="none", id_token_hint=hint)


def acr_values(op: Op) -> None:
    claims = op.id_token(op.login(acr_values=ACR_ESIA)["body"]["id_token"])
    if "acr" not in claims:
        raise Warned("no acr in the ID token")


def codereuse(op: Op) -> None:
    browser = op.browser
    response, _ = op.authorize()
    if response.status_code == 200 and urlsplit(response.url).path.endswith("/consent"):
        response = browser.consent(response)
    code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
    grant = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": op.redirect_uri(),
        "code_verifier": browser.verifier,
    }
    first = op.token(**grant)
    assert first.status_code == 200
    again = op.token(**grant)
    assert again.status_code == 400, "CheckTokenEndpointHttpStatus400"
    assert again.headers["Content-Type"].startswith("application/json")
    assert again.json()["error"] == "invalid_grant"
    # -30seconds: the access token of the first redemption is revoked (a warning there).
    if op.userinfo(first.json()["access_token"]).status_code != 401:
        raise Warned("the first access token still works after the code reuse")


def registered_redirect_uri(op: Op) -> None:
    browser = HttpBrowser(op.base)
    response = browser.get(
        "/authorize?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": "client1",
                "redirect_uri": "https://attacker.example/cb",
                "scope": "openid",
                "state": "s",
            }
        )
    )
    assert response.status_code >= 400, "an error page"
    assert "Location" not in response.headers


def post_request(op: Op) -> None:
    browser = op.browser
    browser.verifier, challenge = pkce_pair()
    answer = browser.http.post(
        op.base + "/authorize",
        data={
            "response_type": "code",
            "client_id": "client1",
            "redirect_uri": op.redirect_uri(),
            "scope": "openid",
            "state": "post-state",
            "nonce": "post-nonce",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
        timeout=30,
    )
    answer = browser.follow(answer)
    assert answer.status_code in (302, 303), answer.status_code
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert "code" in query
    assert query["state"] == ["post-state"]


def client_secret_post(op: Op) -> None:
    op.login("client-post")


def unsupported(parameter: str, error: str) -> Callable[[Op], None]:
    def check(op: Op) -> None:
        response, _ = op.authorize(**{parameter: "eyJhbGciOiJub25lIn0.e30."})
        if response.status_code in (302, 303):
            query = parse_qs(urlsplit(response.headers["Location"]).query)
            assert query.get("error") == [error], query
        else:
            assert response.status_code >= 400
            assert "Location" not in response.headers

    return check


def claims_essential(op: Op) -> None:
    op.login(claims=json.dumps({"userinfo": {"name": {"essential": True}}}))


def refresh_token(op: Op) -> None:
    run = op.login(scope="openid offline_access", prompt="consent")
    body = run["body"]
    rt = body["refresh_token"]
    assert all(c.isalnum() or c in "-._~+/=" for c in rt), "RFC6749-A.17"
    first = op.id_token(body["id_token"])
    refreshed = op.token(grant_type="refresh_token", refresh_token=rt)
    assert refreshed.status_code == 200, refreshed.text
    assert "no-store" in refreshed.headers["Cache-Control"]
    new = refreshed.json()
    assert new["token_type"].lower() == "bearer"
    assert new["access_token"] != body["access_token"]
    if "id_token" in new:
        assert op.id_token(new["id_token"])["sub"] == first["sub"]
    stolen = op.token("client2", grant_type="refresh_token", refresh_token=new["refresh_token"])
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"


def valid_pkce(op: Op) -> None:
    op.login()


def response_type_missing(op: Op) -> None:
    browser = HttpBrowser(op.base)
    response = browser.get(
        "/authorize?"
        + urlencode(
            {
                "client_id": "client1",
                "redirect_uri": op.redirect_uri(),
                "scope": "openid",
                "state": "s",
            }
        )
    )
    if response.status_code in (302, 303):
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        assert query["error"][0] in ("unsupported_response_type", "invalid_request")
    else:
        assert response.status_code >= 400


def rotate_keys(op: Op) -> None:
    before = op.login()["body"]
    old = {k["kid"] for k in op.jwks()["keys"]}
    old_kid = json.loads(base64.urlsafe_b64decode(before["id_token"].split(".")[0] + "=="))["kid"]
    op.services.keys.rotate()
    after_keys = {k["kid"] for k in op.jwks()["keys"]}
    assert old_kid in after_keys, "VerifyNewJwksStillHasOldSigningKey"
    assert after_keys - old, "VerifyNewJwksHasNewSigningKey"
    body = op.login()["body"]
    new_kid = json.loads(base64.urlsafe_b64decode(body["id_token"].split(".")[0] + "=="))["kid"]
    assert new_kid != old_kid, "the new key signs"
    op.id_token(body["id_token"])
    op.id_token(before["id_token"])  # tokens in flight still verify
    assert op.userinfo(before["access_token"]).status_code == 200


MODULES: list[tuple[str, Callable[[Op], None]]] = [
    ("oidcc-discovery-endpoint-verification", discovery_endpoint_verification),
    ("oidcc-server", server),
    ("oidcc-response-type-missing", response_type_missing),
    ("oidcc-idtoken-signature", idtoken_signature),
    ("oidcc-idtoken-unsigned", idtoken_unsigned),
    ("oidcc-userinfo-get", userinfo("get")),
    ("oidcc-userinfo-post-header", userinfo("post-header")),
    ("oidcc-userinfo-post-body", userinfo("post-body")),
    ("oidcc-ensure-request-without-nonce-succeeds-for-code-flow", without_nonce),
    ("oidcc-scope-profile", scope("profile", ("name", "family_name", "given_name"))),
    ("oidcc-scope-email", scope("email", ("email",))),
    ("oidcc-scope-address", scope("address", ("address",))),
    ("oidcc-scope-phone", scope("phone", ("phone_number",))),
    ("oidcc-alternate-happy-flow", alternate_happy_flow),
    ("oidcc-display-page", accepted_with(display="page")),
    ("oidcc-display-popup", accepted_with(display="popup")),
    ("oidcc-prompt-login", prompt_login),
    ("oidcc-prompt-none-not-logged-in", prompt_none_not_logged_in),
    ("oidcc-prompt-none-logged-in", prompt_none_logged_in),
    ("oidcc-max-age-1", max_age_1),
    ("oidcc-max-age-10000", max_age_10000),
    ("oidcc-ensure-request-with-unknown-parameter-succeeds", accepted_with(extra="foobar")),
    ("oidcc-id-token-hint", id_token_hint),
    ("oidcc-login-hint", accepted_with(login_hint="someone@example.invalid")),
    ("oidcc-ui-locales", accepted_with(ui_locales="ru en")),
    ("oidcc-claims-locales", accepted_with(claims_locales="ru")),
    ("oidcc-ensure-request-with-acr-values-succeeds", acr_values),
    ("oidcc-codereuse", codereuse),
    ("oidcc-codereuse-30seconds", codereuse),
    ("oidcc-ensure-registered-redirect-uri", registered_redirect_uri),
    ("oidcc-ensure-post-request-succeeds", post_request),
    ("oidcc-server-client-secret-post", client_secret_post),
    (
        "oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported",
        unsupported("request_uri", "request_uri_not_supported"),
    ),
    (
        "oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported",
        unsupported("request", "request_not_supported"),
    ),
    ("oidcc-claims-essential", claims_essential),
    ("oidcc-refresh-token", refresh_token),
    ("oidcc-ensure-request-with-valid-pkce-succeeds", valid_pkce),
    ("oidcc-server-rotate-keys", rotate_keys),
]


@pytest.mark.slow
def test_conformance_basic_op_plan(tmp_path: Path, oauth_template: Path) -> None:
    port = free_port()
    config = make_config(tmp_path, server={"issuer": f"http://127.0.0.1:{port}"})

    def copy_template(cfg: Any) -> None:
        shutil.copytree(oauth_template, data_dir(cfg), dirs_exist_ok=True)

    RESULTS.clear()
    with served_app(port, config, copy_template) as services:
        op = Op(f"http://127.0.0.1:{port}", services)
        for name, module in MODULES:
            try:
                module(op)
            except Skipped as skipped:
                RESULTS.append((name, "SKIPPED", str(skipped)))
            except Warned as warned:
                RESULTS.append((name, "WARNING", str(warned)))
            except Exception as failure:  # reported per module, the run goes on
                RESULTS.append((name, "FAILED", f"{type(failure).__name__}: {failure}"[:200]))
            else:
                RESULTS.append((name, "PASSED", ""))
    failed = [(name, note) for name, result, note in RESULTS if result == "FAILED"]
    assert not failed, failed
