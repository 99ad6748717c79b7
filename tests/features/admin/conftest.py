"""Admin feature tests, with the default ``[admin] require_second_factor = true``: admins
sign in with the SMS factor (``AdminActions.through_factor``)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.features.admin.helpers import AdminActions
from tests.helpers.oauth import kit as kit
from tests.helpers.oauth import oauth_template as oauth_template
from tests.helpers.oauth import school as school
from tests.helpers.oauth import services as services


@pytest.fixture
def admin(app: Any, services: Any) -> AdminActions:
    return AdminActions(app, services).become_admin()
