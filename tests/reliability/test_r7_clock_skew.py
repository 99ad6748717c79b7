"""R7 — clock skew between nodes (SECURITY.md §5 R7): two ``vhod serve`` processes whose
clocks are set −120 s and +120 s off by Debian's libfaketime (``LD_PRELOAD``), on one
PostgreSQL + Redis. Expiry and issue times come from one time authority (Redis ``TIME``,
``gateway.store.time_authority``), so a code issued on the slow node is redeemed on the
fast one, tokens of one node are accepted by the other, and ``iat`` / ``auth_time`` are the
true time (within the leeway), whichever node issued them.
"""

from __future__ import annotations

import base64
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers.backends import require
from tests.helpers.gateway_process import GatewayProcess
from tests.helpers.gateway_process import HttpBrowser
from tests.helpers.processes import free_port
from tests.reliability.servers import Registered
from tests.reliability.servers import prepared_config
from tests.reliability.servers import register
from tests.reliability.servers import shared_backends

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
LEEWAY = 30


def skewed(seconds: int) -> dict[str, str]:
    return {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME": f"{seconds:+d}",
        # The monotonic clock is shifted too: with FAKETIME_DONT_FAKE_MONOTONIC, Python's
        # time.sleep (an absolute clock_nanosleep) fails with EINVAL under libfaketime.
        "FAKETIME_NO_CACHE": "1",
    }


def claims(token: str) -> dict[str, Any]:
    segment = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return data


def _redeem(node: GatewayProcess, rc: Registered, browser: HttpBrowser, code: str) -> Any:
    return requests.post(
        node.base + "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": rc.redirect_uri,
            "code_verifier": browser.verifier,
        },
        auth=rc.auth,
        timeout=30,
    )


def _near_now(value: float, what: str) -> None:
    assert abs(value - time.time()) <= LEEWAY, f"{what} is {value - time.time():+.0f} s off"


def test_r7_nodes_120_seconds_apart_agree_on_time(tmp_path: Path) -> None:
    require("libfaketime", LIBFAKETIME.exists(), "apt-get install faketime libfaketime")
    require("faketime", shutil.which("faketime") is not None, "apt-get install faketime")
    with shared_backends() as store:
        port_slow, port_fast = free_port(), free_port()
        config = prepared_config(tmp_path, port_slow, store)
        rc = register(config)
        slow = GatewayProcess(config, port_slow, tmp_path / "slow.log", skewed(-120)).start()
        fast = GatewayProcess(config, port_fast, tmp_path / "fast.log", skewed(+120)).start()
        try:
            # A code issued by the slow node, redeemed on the fast one (240 s later by
            # its own clock, four times the code's lifetime).
            browser = HttpBrowser(slow.base)
            code = browser.login(rc.client_id, rc.redirect_uri, scope="openid offline_access")
            issued = _redeem(fast, rc, browser, code)
            assert issued.status_code == 200, issued.text
            tokens = issued.json()
            id_claims = claims(tokens["id_token"])
            _near_now(id_claims["iat"], "the fast node's iat")
            _near_now(id_claims["auth_time"], "the slow node's auth_time")
            _near_now(claims(tokens["access_token"])["iat"], "the access token's iat")

            # The fast node's access token at the slow node, and a refresh there.
            userinfo = requests.get(
                slow.base + "/userinfo",
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
                timeout=30,
            )
            assert userinfo.status_code == 200, userinfo.text
            refreshed = requests.post(
                slow.base + "/token",
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                auth=rc.auth,
                timeout=30,
            )
            assert refreshed.status_code == 200, refreshed.text
            _near_now(claims(refreshed.json()["access_token"])["iat"], "the slow node's iat")
        finally:
            slow.kill()
            fast.kill()
