"""R13 — node loss (SECURITY.md §5 R13): two gateway processes (``vhod serve``, separate
free ports) on one PostgreSQL + Redis, behind no sticky sessions: the one that served
``/authorize`` is killed (SIGKILL of its process group, by PID) before the upstream
callback, or between the factor steps, and the login completes on the other — all flow
state lives in Redis / SQL, none in a process.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from gateway.core.factors import ACR_ESIA_MFA
from providers.factors.senders.outbox import DevOutbox
from tests.helpers.gateway_process import GatewayProcess
from tests.helpers.gateway_process import HttpBrowser
from tests.helpers.gateway_process import code_in_text
from tests.helpers.gateway_process import code_of
from tests.helpers.processes import free_port
from tests.reliability.servers import Registered
from tests.reliability.servers import prepared_config
from tests.reliability.servers import register
from tests.reliability.servers import services_of
from tests.reliability.servers import shared_backends

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


def _redeem(server: GatewayProcess, browser: HttpBrowser, rc: Registered, code: str) -> dict:
    response = requests.post(
        server.base + "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": rc.redirect_uri,
            "code_verifier": browser.verifier,
        },
        auth=rc.auth,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    tokens: dict = response.json()
    jwks = KeySet.import_key_set(requests.get(server.base + "/jwks", timeout=30).json())
    claims = jwt.decode(tokens["id_token"], jwks, algorithms=["RS256", "ES256"]).claims
    tokens["claims"] = claims
    return tokens


def test_r13_login_completes_on_the_other_node(tmp_path: Path) -> None:
    with shared_backends() as store:
        port_a, port_b = free_port(), free_port()
        config = prepared_config(tmp_path, port_a, store)  # one config: one issuer, secrets
        rc = register(config)
        a = GatewayProcess(config, port_a, tmp_path / "a.log").start()
        b = GatewayProcess(config, port_b, tmp_path / "b.log").start()
        try:
            # 1. A served /authorize and the upstream page; A dies; the callback is B's.
            browser = HttpBrowser(a.base)
            page = browser.follow(browser.authorize(rc.client_id, rc.redirect_uri))
            assert page.url.startswith(a.base + "/login/fake"), page.url
            a.kill()
            browser.base = b.base
            response = browser.fake_login(page)
            if response.status_code == 200 and response.url.endswith("/consent"):
                response = browser.consent(response)
            tokens = _redeem(b, browser, rc, code_of(response))
            assert tokens["claims"]["nonce"] == "n-" + browser.verifier[8:16]

            # 2. Between the factor steps: the code was sent by A, A dies, B checks it.
            a.start()
            browser = HttpBrowser(a.base)
            page = browser.follow(
                browser.authorize(rc.client_id, rc.redirect_uri, acr_values=ACR_ESIA_MFA)
            )
            factor = browser.fake_login(page)
            assert factor.url.endswith("/factor"), factor.url
            sent = browser.pick_factor(factor, "sms")
            assert sent.status_code == 200, sent.text[:300]
            a.kill()
            with services_of(config) as svc:
                message = DevOutbox(svc.ephemeral, svc.clock).messages("sms")[0]
            browser.base = b.base
            response = browser.follow(browser.answer_factor(sent, code_in_text(message.text)))
            if response.status_code == 200 and response.url.endswith("/consent"):
                response = browser.consent(response)
            tokens = _redeem(b, browser, rc, code_of(response))
            assert tokens["claims"]["acr"] == ACR_ESIA_MFA
        finally:
            a.kill()
            b.kill()
