"""Admin-side feature tests: the fixtures of ``tests/features/admin`` (admins sign in with
the SMS factor, as ``[admin] require_second_factor`` demands by default)."""

from tests.features.admin.conftest import admin as admin
from tests.features.admin.conftest import kit as kit
from tests.features.admin.conftest import oauth_template as oauth_template
from tests.features.admin.conftest import school as school
from tests.features.admin.conftest import services as services
