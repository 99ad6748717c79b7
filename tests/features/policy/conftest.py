"""Admin-side feature tests: the fixtures of ``tests/features/admin`` (admins sign in without
a second factor until factors exist)."""

from tests.features.admin.conftest import admin as admin
from tests.features.admin.conftest import config as config
from tests.features.admin.conftest import kit as kit
from tests.features.admin.conftest import oauth_template as oauth_template
from tests.features.admin.conftest import school as school
from tests.features.admin.conftest import services as services
