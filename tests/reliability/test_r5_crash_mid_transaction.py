"""R5 — a crash mid-transaction (SECURITY.md §5 R5): a real ``vhod serve`` process
SIGKILLs itself at injected points (``VHOD_CRASH_AT``, ``gateway.core.faults``; each
point fires once, the process manager starts the next worker):

* ``token.code_consumed`` — the code is consumed, the grant not yet written;
* ``token.code_saved`` — grant and refresh token committed, the answer never sent;
* ``token.refresh_rotated`` — the next refresh token committed, the answer never sent.

After each: all or nothing — no live token set the client never received, never two —
and the client's retry gets a clean ``invalid_grant``. On the embedded SQLite default and
on PostgreSQL + Redis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from gateway.core.faults import CRASH_POINTS
from tests.helpers.gateway_process import GatewayProcess
from tests.helpers.gateway_process import HttpBrowser
from tests.helpers.processes import free_port
from tests.reliability.servers import Registered
from tests.reliability.servers import code_grant
from tests.reliability.servers import live_families
from tests.reliability.servers import prepared_config
from tests.reliability.servers import register
from tests.reliability.servers import shared_backends

pytestmark = pytest.mark.slow


def _token(server: GatewayProcess, rc: Registered, **data: str) -> requests.Response:
    return requests.post(server.base + "/token", data=data, auth=rc.auth, timeout=30)


def _crashes(server: GatewayProcess, rc: Registered, **data: str) -> None:
    """The request dies with its worker: no answer at all."""
    with pytest.raises(requests.ConnectionError):
        _token(server, rc, **data)
    server.wait_ready()  # the next worker


def _invalid_grant(response: requests.Response) -> None:
    assert response.status_code == 400, (response.status_code, response.text)
    assert response.json()["error"] == "invalid_grant"
    assert response.headers["Cache-Control"] == "no-store"


def _walk_the_crash_points(tmp_path: Path, store: dict[str, Any] | None) -> None:
    port = free_port()
    config = prepared_config(tmp_path, port, store)
    rc = register(config)
    env = {"VHOD_CRASH_AT": ",".join(sorted(CRASH_POINTS))}
    server = GatewayProcess(config, port, tmp_path / "serve.log", env).start()
    try:
        browser = HttpBrowser(server.base)

        # 1. Killed after the code was consumed, before the grant was written.
        code = browser.login(rc.client_id, rc.redirect_uri, scope="openid offline_access")
        grant = code_grant(browser, rc, code)
        _crashes(server, rc, **grant)
        assert live_families(config, rc.client_id) == []
        _invalid_grant(_token(server, rc, **grant))
        assert live_families(config, rc.client_id) == []

        # 2. Killed after the grant committed, before the answer: the retry is a replay,
        #    which revokes the undelivered family.
        code = browser.login(rc.client_id, rc.redirect_uri, scope="openid offline_access")
        grant = code_grant(browser, rc, code)
        _crashes(server, rc, **grant)
        assert len(live_families(config, rc.client_id)) == 1  # written, never delivered
        _invalid_grant(_token(server, rc, **grant))
        assert live_families(config, rc.client_id) == []

        # 3. Killed after the refresh rotation committed, before the answer.
        code = browser.login(rc.client_id, rc.redirect_uri, scope="openid offline_access")
        issued = _token(server, rc, **code_grant(browser, rc, code))
        assert issued.status_code == 200, issued.text
        tokens = issued.json()
        assert live_families(config, rc.client_id) == [(_only_grant(config, rc), 1)]
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        _crashes(server, rc, **refresh)
        # One family, and in it only the undelivered link: never two live sets.
        assert [count for _, count in live_families(config, rc.client_id)] == [1]
        _invalid_grant(_token(server, rc, **refresh))
        assert live_families(config, rc.client_id) == []
        # The access token of the family is dead too.
        userinfo = requests.get(
            server.base + "/userinfo",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=30,
        )
        assert userinfo.status_code == 401
        assert server.output().count("SIGKILL") >= 3, server.output()[-3000:]
    finally:
        server.kill()


def _only_grant(config: Path, rc: Registered) -> str:
    families = live_families(config, rc.client_id)
    assert len(families) == 1, families
    return families[0][0]


def test_r5_sigkill_at_crash_points_sqlite(tmp_path: Path) -> None:
    _walk_the_crash_points(tmp_path, None)


@pytest.mark.postgres
@pytest.mark.redis
def test_r5_sigkill_at_crash_points_postgres_redis(tmp_path: Path) -> None:
    with shared_backends() as store:
        _walk_the_crash_points(tmp_path, store)


def test_r5_crash_points_refused_outside_dev_mode() -> None:
    from gateway.core.faults import crash_point_problems

    assert crash_point_problems(True, {"VHOD_CRASH_AT": "token.code_saved"})
    assert crash_point_problems(False, {"VHOD_CRASH_AT": "token.nowhere"})
    assert crash_point_problems(False, {"VHOD_CRASH_AT": "token.code_saved"}) == []
    assert crash_point_problems(True, {}) == []
