"""Admin feature tests: second factors do not exist yet, so admins sign in only with
``[admin] require_second_factor = false`` (the tests that check the setting turn it on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.config.schema import GatewayConfig
from tests.conftest import make_config
from tests.features.admin.helpers import AdminActions
from tests.helpers.oauth import kit as kit
from tests.helpers.oauth import oauth_template as oauth_template
from tests.helpers.oauth import school as school
from tests.helpers.oauth import services as services


@pytest.fixture
def config(tmp_path: Path) -> GatewayConfig:
    return make_config(tmp_path, admin={"require_second_factor": False})


@pytest.fixture
def admin(app: Any, services: Any) -> AdminActions:
    return AdminActions(app, services).become_admin()
