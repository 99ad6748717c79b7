"""R15 — a database restored from an older snapshot (SECURITY.md §5 R15): what was
revoked after the snapshot must not come back to life. ``vhod db restored`` sets a
not-before epoch kept outside the database (a file in the data directory and the
ephemeral store, ``gateway.store.restore_epoch``): access tokens, refresh-token chains and
consents issued before it are dead; what is issued after works.

The embedded default keeps its ephemeral store in the same SQLite file, so the snapshot
rolls back the revocation marks as well — the worst case. The snapshot is taken and put
back with SQLite's backup API, the services stopped meanwhile (the documented procedure).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.app import build_services
from gateway.app import create_app
from gateway.cli import main
from gateway.config.loader import load_config
from gateway.core.clock import SystemClock
from tests.helpers.gateway_process import base_config
from tests.helpers.gateway_process import write_config
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient


class Gateway:
    """The gateway of one config file, stopped and started around snapshots."""

    def __init__(self, tmp_path: Path) -> None:
        self.config = write_config(
            tmp_path / "vhod.toml", base_config(tmp_path, 8080, logging={"level": "WARNING"})
        )
        self.db = tmp_path / "var" / "vhod.db"
        self.services: Any = None
        self.start()

    def start(self) -> OAuthKit:
        self.services = build_services(
            load_config(str(self.config)), SystemClock(), prepare_stores=True
        )
        app = create_app(services=self.services)
        app.testing = True
        self.kit = OAuthKit(app.test_client(), self.services)
        return self.kit

    def stop(self) -> None:
        self.services.engine.dispose()

    def snapshot(self, to: Path) -> None:
        self._copy(self.db, to)

    def restore(self, snapshot: Path) -> OAuthKit:
        self.stop()
        self._copy(snapshot, self.db)
        return self.start()

    def declare_restored(self) -> str:
        self.stop()
        result = CliRunner().invoke(main, ["db", "restored"], env={"VHOD_CONFIG": str(self.config)})
        assert result.exit_code == 0, result.output
        self.start()
        return result.output

    @staticmethod
    def _copy(source: Path, target: Path) -> None:
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        src.close()
        dst.close()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    gw = Gateway(tmp_path)
    yield gw
    gw.stop()


def _wait_past_epoch(gateway: Gateway) -> None:
    """The epoch is rounded up to the next whole second: wait for it (at most 1 s)."""
    left = gateway.services.restore_epoch.not_before() - time.time()
    assert left <= 1.0
    if left > 0:
        time.sleep(left + 0.01)


def _active(kit: OAuthKit, rc: RegisteredClient, token: str) -> bool:
    response = kit.introspect(rc, token)
    assert response.status_code == 200, response.get_data()
    return bool(response.get_json()["active"])


def test_r15_restore_epoch_kills_what_the_snapshot_brought_back(
    gateway: Gateway, tmp_path: Path
) -> None:
    kit = gateway.kit
    school = kit.register("school")
    tokens = kit.login_tokens(school, scope="openid offline_access")
    gateway.snapshot(tmp_path / "snapshot.db")

    # After the snapshot: the person withdraws everything (consent and tokens).
    revoked = kit.client.post(
        "/revoke", data={"token": tokens["refresh_token"]}, headers=school.auth()
    )
    assert revoked.status_code == 200
    assert not _active(kit, school, tokens["refresh_token"])
    assert not _active(kit, school, tokens["access_token"])

    # The restore brings them back (this is the danger R15 is about).
    kit = gateway.restore(tmp_path / "snapshot.db")
    assert _active(kit, school, tokens["refresh_token"])
    assert _active(kit, school, tokens["access_token"])

    output = gateway.declare_restored()
    assert "consent(s) revoked" in output
    kit = gateway.kit
    assert not _active(kit, school, tokens["refresh_token"])
    assert not _active(kit, school, tokens["access_token"])
    assert kit.userinfo(tokens["access_token"]).status_code == 401
    refreshed = kit.refresh(school, tokens["refresh_token"])
    kit.assert_json_error(refreshed, "invalid_grant")

    # The consent from before the restore is gone: the next login asks again.
    _wait_past_epoch(gateway)
    first = kit.get_authorize(school, scope="openid offline_access", prompt="login")
    page = kit.journey.login_via_fake("parent", response=first)
    assert page.status_code == 200
    assert page.request.path.endswith("/consent"), page.request.path
    response = kit.journey.give_consent(page)
    assert "code=" in response.headers["Location"]

    # What is issued after the restore works (from the epoch's second on).
    _wait_past_epoch(gateway)
    fresh = kit.login_tokens(school, scope="openid offline_access")
    assert _active(kit, school, fresh["access_token"])
    assert kit.refresh(school, fresh["refresh_token"]).status_code == 200


def test_r15_the_epoch_survives_a_second_restore(gateway: Gateway, tmp_path: Path) -> None:
    """The epoch is not in the database: restoring the snapshot again (and forgetting the
    command) does not bring the old tokens back."""
    kit = gateway.kit
    school = kit.register("school")
    tokens = kit.login_tokens(school, scope="openid offline_access")
    gateway.snapshot(tmp_path / "snapshot.db")
    gateway.restore(tmp_path / "snapshot.db")
    gateway.declare_restored()
    kit = gateway.restore(tmp_path / "snapshot.db")  # again, no command this time
    assert not _active(kit, school, tokens["refresh_token"])
    assert not _active(kit, school, tokens["access_token"])
    kit.assert_json_error(kit.refresh(school, tokens["refresh_token"]), "invalid_grant")


def test_r15_the_epoch_never_goes_back(tmp_path: Path) -> None:
    from gateway.core.clock import FixedClock
    from gateway.store.memory import MemoryEphemeralStore
    from gateway.store.restore_epoch import StoredRestoreEpoch

    store = MemoryEphemeralStore(FixedClock())
    epoch = StoredRestoreEpoch(tmp_path, store, refresh_seconds=0)
    assert epoch.not_before() == 0.0
    assert epoch.bump(2000.2) == 2001.0
    assert epoch.bump(1000.0) == 2001.0  # a clock set back does not lower it
    (tmp_path / "not-before").unlink()  # one copy lost: the other holds
    assert StoredRestoreEpoch(tmp_path, store, refresh_seconds=0).not_before() == 2001.0
    (tmp_path / "not-before").write_text("garbage")
    assert epoch.not_before() == 2001.0
