"""R7, the clock itself: ``AuthorityClock`` follows the shared store's time, measures at
most every ``refresh_seconds``, keeps its offset when the authority is unreachable, and
is what ``build_services`` gives a Redis deployment."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.core.errors import StoreUnavailable
from gateway.store.time_authority import AuthorityClock


class Authority:
    def __init__(self, offset: float) -> None:
        self.offset = offset
        self.calls = 0
        self.down = False

    def __call__(self) -> float:
        self.calls += 1
        if self.down:
            raise StoreUnavailable("redis", "down")
        return 1000.0 + self.offset


def test_follows_the_authority_and_measures_rarely() -> None:
    authority = Authority(offset=-120.0)
    clock = AuthorityClock(authority, refresh_seconds=3600, local=lambda: 1000.0)
    assert clock.now() == pytest.approx(880.0)
    assert clock.now() == pytest.approx(880.0)
    assert authority.calls == 1


def test_keeps_the_last_offset_while_the_authority_is_down() -> None:
    authority = Authority(offset=50.0)
    clock = AuthorityClock(authority, refresh_seconds=0, local=lambda: 1000.0)
    assert clock.now() == pytest.approx(1050.0)
    authority.down = True
    assert clock.now() == pytest.approx(1050.0)


def test_without_an_authority_it_is_the_local_clock() -> None:
    assert AuthorityClock(None, local=lambda: 42.0).now() == 42.0


@pytest.mark.redis
def test_redis_deployments_take_redis_time(tmp_path: Path) -> None:
    from gateway.app import build_services
    from tests.conftest import make_config
    from tests.contract import databases
    from tests.helpers.backends import require

    problem = databases.redis_problem()
    require("redis", problem is None, problem or "")
    config = make_config(
        tmp_path,
        store={"ephemeral_url": databases.redis_url(), "redis_prefix": databases.new_name("t")},
    )
    services = build_services(config, prepare_stores=True)
    try:
        assert isinstance(services.clock, AuthorityClock)
        import time

        assert abs(services.clock.now() - time.time()) < 5  # same host: no skew
    finally:
        services.engine.dispose()
