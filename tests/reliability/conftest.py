"""Fixtures of the reliability tests (SECURITY.md §5, R1–R16): the migrated template data
directory shared with the OAuth feature tests, and the ``services`` built from it."""

from __future__ import annotations

from tests.helpers.oauth import oauth_template as oauth_template
from tests.helpers.oauth import services as services
