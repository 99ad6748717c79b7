"""T99/T100: run a whole login with canary values and look for them everywhere they must
not be — the application log, the audit table, the raw database file (durable and SQL
ephemeral store alike). Names and the upstream id are sealed or digested at rest; codes,
tokens, secrets and cookies never reach the log."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config.loader import data_dir
from gateway.core.logs import JsonFormatter
from gateway.core.logs import PersonalDataFilter
from providers.upstream.fake import PERSONAS
from tests.helpers.journey import JourneyActions

SECRET = "canary-client-secret-0123456789-abcdefghij"


@pytest.fixture
def captured_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PersonalDataFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_no_personal_data_or_credentials_in_logs_audit_or_at_rest(
    client: Any, services: Any, captured_log: io.StringIO
) -> None:
    persona = PERSONAS["parent"]
    actions = JourneyActions(client, services)
    actions.register_client(secret=SECRET, scopes=("openid", "profile", "diary"))
    done = actions.login_and_consent("parent", scope="openid profile diary")
    code = actions.redirect_params(done)["code"]
    tokens = actions.exchange_code(done, SECRET).get_json()
    assert "access_token" in tokens, tokens
    userinfo = client.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).get_json()
    assert userinfo["family_name"] == persona.family_name  # the claim itself is delivered
    refreshed = client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "school",
            "client_secret": SECRET,
        },
    )
    assert refreshed.status_code in (200, 401)
    cookies = [c.value for c in client._cookies.values()]

    secrets_and_credentials = [
        code,
        tokens["access_token"],
        tokens["refresh_token"],
        tokens["id_token"],
        SECRET,
        *[c for c in cookies if len(c) >= 16],
    ]
    personal = [
        persona.family_name,
        persona.given_name,
        persona.middle_name,
        persona.upstream_subject,
        userinfo.get("birthdate", ""),
    ]
    personal = [p for p in personal if p]

    log_text = captured_log.getvalue()
    assert log_text, "the flow should have logged events"
    for value in secrets_and_credentials + personal:
        assert value not in log_text

    with services.uow() as uow:
        audit_text = json.dumps(
            [[e.event, e.fields] for e in uow.audit.iter_all()], ensure_ascii=False
        )
    assert "consent.granted" in audit_text
    for value in secrets_and_credentials + personal:
        assert value not in audit_text

    services.engine.dispose()
    raw = b"".join(p.read_bytes() for p in Path(data_dir(services.config)).glob("vhod.db*"))
    assert raw, "the SQLite database should exist"
    for value in secrets_and_credentials + personal:
        assert value.encode() not in raw, "found a raw value in the database file"
