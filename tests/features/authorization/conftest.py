"""Fixtures: the OAuth test kit (``tests.helpers.oauth``) over a fast prepared store."""

from __future__ import annotations

from tests.helpers.oauth import kit as kit
from tests.helpers.oauth import oauth_template as oauth_template
from tests.helpers.oauth import other as other
from tests.helpers.oauth import school as school
from tests.helpers.oauth import services as services
