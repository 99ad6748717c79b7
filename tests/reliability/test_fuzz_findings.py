"""What the fuzzers found, pinned as plain regression tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.config.loader import load_config
from gateway.core.errors import ConfigError
from tests.features.admin.helpers import AdminActions
from tests.helpers.oauth import OAuthKit


def test_policy_version_beyond_the_column_is_not_found(app: Any, services: Any) -> None:
    """``/admin/api/policies/<int>`` with a number no SQL INTEGER holds: 404, not 500
    (SQLite's driver raised OverflowError; PostgreSQL would have said 503)."""
    admin = AdminActions(app, services).become_admin()
    for version in ("99999999999999999999", "9223372036854775808", "2147483648"):
        api = admin.get(f"/admin/api/policies/{version}")
        assert api.status_code == 404, api.get_data()
        assert api.get_json()["error"] == "not_found"
        rollback = admin.post(f"/admin/api/policies/{version}/rollback", json={})
        assert rollback.status_code == 404
        assert admin.get(f"/admin/policies/{version}").status_code == 404


def test_userinfo_invalid_request_carries_the_bearer_challenge(kit: OAuthKit) -> None:
    """RFC 6750 §3.1: the token sent two ways is 400 ``invalid_request`` with a
    ``WWW-Authenticate: Bearer … error="invalid_request"`` challenge."""
    school = kit.register("school")
    token = kit.login_tokens(school)["access_token"]
    response = kit.client.post(
        "/userinfo",
        data={"access_token": token},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="vhod", error="invalid_request"'


@pytest.mark.parametrize("content", [b"\x80\xff[server]", b"\xef\xbb\xbf\xc3("])
def test_config_file_not_utf8_is_a_config_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "vhod.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as refused:
        load_config(path, {})
    assert any("not UTF-8" in p or "not valid TOML" in p for p in refused.value.problems)


def test_config_path_is_a_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path, {})
    assert any("is a directory" in p for p in refused.value.problems)
