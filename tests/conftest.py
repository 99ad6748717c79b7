"""Shared fixtures: a valid dev config in a temporary data dir, services with a fixed
clock, the Flask app and its test client."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config.loader import config_from_dict
from gateway.config.schema import GatewayConfig
from gateway.core.clock import FixedClock


def make_config(tmp_path: Path, **sections: Any) -> GatewayConfig:
    """A dev config whose data lives under ``tmp_path``; ``sections`` override options."""
    data: dict[str, Any] = {"server": {"data_dir": str(tmp_path / "var")}}
    for key, value in sections.items():
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    return config_from_dict(data)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def config(tmp_path: Path) -> GatewayConfig:
    return make_config(tmp_path)


@pytest.fixture
def services(config: GatewayConfig, clock: FixedClock) -> Iterator[Any]:
    from gateway.app import build_services

    svc = build_services(config, clock, prepare_stores=True)
    yield svc
    svc.engine.dispose()


@pytest.fixture
def app(services: Any) -> Any:
    from gateway.app import create_app

    application = create_app(services=services)
    application.testing = True
    return application


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture(autouse=True)
def _quiet_logs() -> Iterator[None]:
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_vhod", False):
            root.removeHandler(handler)
