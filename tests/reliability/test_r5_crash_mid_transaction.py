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

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy

from gateway.core.factors import ACR_ESIA_MFA
from gateway.core.faults import CRASH_POINTS
from gateway.core.ids import keyed_digest
from gateway.core.ids import new_id
from gateway.core.types import Subject
from gateway.dev.school_registry import seed_school_registry
from gateway.journey.subjects import seal_profile
from providers.upstream.esia_sandbox.personas import load_personas
from tests.helpers.gateway_process import GatewayProcess
from tests.helpers.gateway_process import HttpBrowser
from tests.helpers.processes import free_port
from tests.reliability.servers import Registered
from tests.reliability.servers import code_grant
from tests.reliability.servers import live_families
from tests.reliability.servers import prepared_config
from tests.reliability.servers import register
from tests.reliability.servers import services_of
from tests.reliability.servers import shared_backends
from tests.reliability.servers import sms_codes
from tests.reliability.servers import sms_started

pytestmark = pytest.mark.slow


@pytest.fixture(
    params=[
        pytest.param("sqlite"),
        pytest.param("postgres_redis", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ]
)
def store(request: pytest.FixtureRequest) -> Iterator[dict[str, Any] | None]:
    """The embedded SQLite default, then PostgreSQL + Redis."""
    if request.param == "sqlite":
        yield None
        return
    with shared_backends() as options:
        yield options


def _token(server: GatewayProcess, rc: Registered, **data: str) -> requests.Response:
    return requests.post(server.base + "/token", data=data, auth=rc.auth, timeout=30)


# granian (``vhod serve``'s default) takes a second worker death within 5.5 s of the
# last respawn for a crash loop and exits altogether (granian/server/common.py,
# ``_serve_loop``); a test that kills the worker again waits that out.
_CRASH_LOOP_SECONDS = 6.0
_respawned: dict[int, float] = {}


def _crashes(server: GatewayProcess, rc: Registered, **data: str) -> None:
    """The request dies with its worker: no answer at all."""
    last = _respawned.get(id(server))
    if last is not None:
        time.sleep(max(0.0, last + _CRASH_LOOP_SECONDS - time.monotonic()))
    with pytest.raises(requests.ConnectionError):
        _token(server, rc, **data)
    server.wait_ready()  # the next worker
    _respawned[id(server)] = time.monotonic()


def _worker_deaths(output: str) -> int:
    """Worker deaths the server logged (granian, or gunicorn's "was sent SIGKILL")."""
    return output.count("Unexpected exit from worker") + output.count("SIGKILL")


def _invalid_grant(response: requests.Response) -> None:
    assert response.status_code == 400, (response.status_code, response.text)
    assert response.json()["error"] == "invalid_grant"
    assert response.headers["Cache-Control"] == "no-store"


def _walk_the_crash_points(tmp_path: Path, store: dict[str, Any] | None) -> None:
    port = free_port()
    config = prepared_config(tmp_path, port, store)
    rc = register(config)
    env = {"VHOD_CRASH_AT": ",".join(sorted(p for p in CRASH_POINTS if p.startswith("token.")))}
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
        assert _worker_deaths(server.output()) >= 3, server.output()[-3000:]
    finally:
        server.kill()


def _only_grant(config: Path, rc: Registered) -> str:
    families = live_families(config, rc.client_id)
    assert len(families) == 1, families
    return families[0][0]


def test_r5_sigkill_at_crash_points(tmp_path: Path, store: dict[str, Any] | None) -> None:
    _walk_the_crash_points(tmp_path, store)


def test_r5_crash_points_refused_outside_dev_mode() -> None:
    from gateway.core.faults import crash_point_problems

    assert crash_point_problems(True, {"VHOD_CRASH_AT": "token.code_saved"})
    assert crash_point_problems(False, {"VHOD_CRASH_AT": "token.nowhere"})
    assert crash_point_problems(False, {"VHOD_CRASH_AT": "token.code_saved"}) == []
    assert crash_point_problems(True, {}) == []


# -- The second factor: killed after the code was consumed, before the journey recorded it.


RESEND = 10


def _factor_crash(tmp_path: Path, store: dict[str, Any] | None) -> None:
    port = free_port()
    config = prepared_config(
        tmp_path,
        port,
        store,
        sms={"resend_cooldown_seconds": RESEND},
        **{"sms.limits": {"per_number_per_minute": 10}},
    )
    rc = register(config)
    env = {"VHOD_CRASH_AT": "factor.verified"}
    server = GatewayProcess(config, port, tmp_path / "serve.log", env).start()
    try:
        browser = HttpBrowser(server.base)
        sent = sms_started(browser, rc)
        right = sms_codes(config)[0]
        with pytest.raises(requests.ConnectionError):
            browser.answer_factor(sent, right)
        server.wait_ready()
        # The journey never recorded the factor: no esia-mfa session to reuse.
        silent = browser.authorize(
            rc.client_id, rc.redirect_uri, acr_values=ACR_ESIA_MFA, prompt="none"
        )
        assert "code=" not in silent.headers.get("Location", ""), silent.headers
        # The code was consumed with the crash: the same code is not accepted again.
        page = browser.http.get(sent.url.removesuffix("/send"), allow_redirects=False, timeout=30)
        assert page.status_code == 200, (page.status_code, page.text[:300])
        again = browser.answer_factor(page, right)
        assert again.status_code == 400, (again.status_code, again.text[:300])
        # The person asks for a new code (after the resend pause), and that one completes
        # the login.
        time.sleep(RESEND + 0.5)
        resent = browser.pick_factor(page_again(browser, page), "sms")
        assert resent.status_code == 200, resent.text[:300]
        fresh = sms_codes(config)[0]
        assert fresh != right
        done = browser.answer_factor(resent, fresh)
        assert done.status_code == 303, (done.status_code, done.text[:300])
        assert _worker_deaths(server.output()) >= 1, server.output()[-3000:]
    finally:
        server.kill()


def page_again(browser: HttpBrowser, page: requests.Response) -> requests.Response:
    """The factor page once more (a fresh step token)."""
    fresh = browser.http.get(page.url, allow_redirects=False, timeout=30)
    assert fresh.status_code == 200, (fresh.status_code, fresh.text[:300])
    return fresh


def test_r5_sigkill_after_factor_verified(tmp_path: Path, store: dict[str, Any] | None) -> None:
    _factor_crash(tmp_path, store)


# -- Mid child-link: killed between the child's subject/index and the guardianship.


def _child_link_counts(config: Path) -> tuple[int, int, int]:
    """Child subjects, child subjects holding a SNILS index, guardianships."""
    with services_of(config) as svc, svc.engine.connect() as conn:  # type: ignore[attr-defined]
        children = conn.execute(
            sqlalchemy.text("SELECT COUNT(*) FROM subjects WHERE account_level = 'child'")
        ).scalar_one()
        indexed = conn.execute(
            sqlalchemy.text(
                "SELECT COUNT(*) FROM subjects"
                " WHERE account_level = 'child' AND snils_index IS NOT NULL"
            )
        ).scalar_one()
        links = conn.execute(sqlalchemy.text("SELECT COUNT(*) FROM guardianships")).scalar_one()
    return int(children), int(indexed), int(links)


def _link_process(config: Path, parent_id: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VHOD_CRASH_AT": "guardianship.child_written"}
    return subprocess.run(
        [sys.executable, "-m", "tests.reliability.child_link_process", str(config), parent_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _child_link_crash(tmp_path: Path, store: dict[str, Any] | None) -> None:
    config = prepared_config(tmp_path, free_port(), store)
    with services_of(config) as svc:
        seed_school_registry(svc, load_personas())
        now = svc.clock.now()
        parent_id = new_id()
        parent = Subject(
            subject_id=parent_id,
            created_at=now,
            updated_at=now,
            account_level="verified",
            roles=(),
            sealed_profile=seal_profile(svc.sealer, parent_id, {}),
        )
        with svc.uow() as uow:
            uow.subjects.add(parent, "esia", keyed_digest(svc.pepper, "upstream_subject", "p1"))
            uow.commit()
    crashed = _link_process(config, parent_id)
    assert crashed.returncode == -signal.SIGKILL, (crashed.returncode, crashed.stderr[-2000:])
    assert _child_link_counts(config) == (0, 0, 0)  # nothing of the link
    done = _link_process(config, parent_id)  # the marker is there: this run goes through
    assert done.returncode == 0, done.stderr[-2000:]
    linked = int(done.stdout.split()[-1])
    assert linked >= 1
    assert _child_link_counts(config) == (linked, linked, linked)  # the whole link


def test_r5_sigkill_mid_child_link(tmp_path: Path, store: dict[str, Any] | None) -> None:
    _child_link_crash(tmp_path, store)
