"""End to end with Authlib's own client (``OAuth2Session``) against vhod served over HTTP
on a free loopback port: code + PKCE, ID token verified against the published JWKS,
userinfo, refresh, introspection, revocation, RP-initiated logout. The person signs in
through the fake upstream's persona page, driven by a ``requests`` browser session."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

from gateway.admin.clients import register_client
from gateway.config.loader import data_dir
from gateway.config.schema import GatewayConfig
from gateway.core.types import Client
from tests.conftest import make_config
from tests.helpers.processes import free_port
from tests.helpers.served import served_app

_HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[a-z_]+)" value="(?P<value>[^"]*)">')
REDIRECT = "https://school.example/cb"
BYE = "https://school.example/bye"


@pytest.fixture
def server(tmp_path: Path, oauth_template: Path) -> Iterator[tuple[str, Any]]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    config = make_config(tmp_path, server={"issuer": issuer})

    def copy_template(config: GatewayConfig) -> None:
        shutil.copytree(oauth_template, data_dir(config), dirs_exist_ok=True)

    with served_app(port, config, copy_template) as services:
        yield issuer, services


def _fields(html: str) -> dict[str, str]:
    return {m.group("name"): m.group("value") for m in _HIDDEN.finditer(html)}


def browser_login(browser: requests.Session, issuer: str, authorization_url: str) -> str:
    """Follow vhod's pages like a browser until the redirect to the client."""
    url = authorization_url
    for _ in range(12):
        response = browser.get(url, allow_redirects=False, timeout=10)
        while response.status_code in (302, 303):
            location = urljoin(url, response.headers["Location"])
            if not location.startswith(issuer):
                return location
            url = location
            response = browser.get(url, allow_redirects=False, timeout=10)
        assert response.status_code == 200, (url, response.status_code)
        fields = _fields(response.text)
        if "/login/fake" in url:
            data = {
                "csrf_token": fields["csrf_token"],
                "state": fields["state"],
                "persona": "parent",
            }
            posted = browser.post(
                issuer + "/login/fake", data=data, allow_redirects=False, timeout=10
            )
        else:
            assert url.endswith("/consent"), url
            data = {**fields, "decision": "approve"}
            posted = browser.post(url, data=data, allow_redirects=False, timeout=10)
        assert posted.status_code in (302, 303)
        location = urljoin(url, posted.headers["Location"])
        if not location.startswith(issuer):
            return location
        url = location
    raise AssertionError("the login did not finish")


def test_authlib_client_end_to_end(server: tuple[str, Any]) -> None:
    issuer, services = server
    _, secret = register_client(
        services.uow,
        services.clock,
        services.pepper,
        services.config.scopes,
        Client(
            client_id="school",
            redirect_uris=(REDIRECT,),
            scopes=("openid", "profile", "offline_access"),
            post_logout_redirect_uris=(BYE,),
        ),
        None,
    )
    meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
    jwks = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())

    rp = OAuth2Session(
        "school",
        secret,
        scope="openid profile offline_access",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    browser = requests.Session()
    callback = browser_login(browser, issuer, url)
    assert callback.startswith(REDIRECT + "?")
    assert f"iss={requests.utils.quote(issuer, safe='')}" in callback

    token = rp.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    id_token = jwt.decode(token["id_token"], jwks, algorithms=["RS256"])
    assert id_token.claims["iss"] == issuer
    assert id_token.claims["aud"] == "school"
    assert id_token.claims["nonce"] == nonce
    assert state

    userinfo = rp.get(meta["userinfo_endpoint"], timeout=10)
    assert userinfo.status_code == 200
    assert userinfo.json()["sub"] == id_token.claims["sub"]

    refreshed = rp.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]

    introspected = rp.introspect_token(
        meta["introspection_endpoint"], token=refreshed["access_token"]
    ).json()
    assert introspected["active"] is True
    assert introspected["client_id"] == "school"

    revoked = rp.revoke_token(
        meta["revocation_endpoint"],
        token=refreshed["refresh_token"],
        token_type_hint="refresh_token",
    )
    assert revoked.status_code == 200
    after = rp.introspect_token(meta["introspection_endpoint"], token=refreshed["access_token"])
    assert after.json() == {"active": False}

    second_token = rp.fetch_token(
        meta["token_endpoint"],
        authorization_response=browser_login(
            browser,
            issuer,
            rp.create_authorization_url(
                meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
            )[0],
        ),
        code_verifier=verifier,
    )
    logout = browser.get(
        meta["end_session_endpoint"],
        params={
            "id_token_hint": second_token["id_token"],
            "post_logout_redirect_uri": BYE,
            "state": "bye",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert logout.status_code == 303
    assert logout.headers["Location"] == BYE + "?state=bye"
    offline = rp.post(
        meta["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": second_token["refresh_token"]},
        auth=("school", secret),
        timeout=10,
    )
    assert offline.status_code == 200  # offline_access survives the logout
