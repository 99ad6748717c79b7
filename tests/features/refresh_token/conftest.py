"""Fixtures: the OAuth test kit (``tests.helpers.oauth``) on the embedded default and on
PostgreSQL + Redis (``race_kit``): the rotation is one statement on PostgreSQL and a
read, a check and a write on SQLite, and every rule must hold on both."""

from __future__ import annotations

import pytest

from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import oauth_template as oauth_template
from tests.helpers.oauth import other as other
from tests.helpers.oauth import school as school
from tests.helpers.oauth import services as services


@pytest.fixture
def kit(race_kit: OAuthKit) -> OAuthKit:
    return race_kit
