"""Discovery, JWKS and CORS: an allow-listed browser origin."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.schema import GatewayConfig
from tests.conftest import make_config
from tests.helpers.oauth import kit as kit
from tests.helpers.oauth import oauth_template as oauth_template
from tests.helpers.oauth import school as school
from tests.helpers.oauth import services as services

SPA = "https://spa.school.example"


@pytest.fixture
def config(tmp_path: Path) -> GatewayConfig:
    return make_config(tmp_path, server={"cors_origins": [SPA]})
