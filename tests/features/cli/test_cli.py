"""The ``vhod`` command: config check, clients, keys, audit, invites; bad input → exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SECRET = "s3cr3t-value-that-is-long-enough-0123456789"


def test_config_check_example_and_broken(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ok = run("config", "check", str(ROOT / "config.example.toml"))
    assert ok.exit_code == 0, ok.output
    assert "ok:" in ok.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = 0\nnope = 1\n[oauth]\ncode_ttl_seconds = 9999\n")
    res = run("config", "check", str(bad))
    assert res.exit_code == 2
    assert "[server] port" in res.output
    assert "[server] nope: unknown option" in res.output
    assert "[oauth] code_ttl_seconds" in res.output


PRODUCTION_FILE = """
mode = "production"
[server]
issuer = "https://vhod.example.ru"
[store]
ephemeral_url = "redis://127.0.0.1:6379/0"
[upstream]
provider = "esia"
[esia]
base_url = "http://esia.example.ru"
[sms]
sender = "http"
[sms.http]
url = "https://sms.example.ru/send"
[email]
sender = "smtp"
smtp_host = "smtp.example.ru"
[secrets]
pepper = "pepper-0123456789abcdefghijklmnopqrstuvwxyz"
key_encryption_key = "the-same-value-0123456789abcdefghijklmnopq"
session_secret = "session-0123456789abcdefghijklmnopqrstuv"
blind_index_key = "the-same-value-0123456789abcdefghijklmnopq"
"""


def test_config_check_reports_what_serve_refuses_all_at_once(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The check and the start-up are one validation (issue 14): an http ESIA URL, missing
    ESIA key, certificate and trusted certificates, and one value for two secrets."""
    from gateway.compose import build_services
    from gateway.config.loader import config_from_dict
    from gateway.core.errors import ConfigError

    path = tmp_path / "prod.toml"
    path.write_text(PRODUCTION_FILE)
    res = run("config", "check", str(path))
    assert res.exit_code == 2
    expected = (
        "[esia] base_url: must be https in production mode",
        "[esia] certificate_path: required in production mode",
        "[esia] key_path: required in production mode",
        "[esia] trusted_certificates: required in production mode",
        "[secrets] blind_index_key: must differ from key_encryption_key",
    )
    for line in expected:
        assert line in res.output, res.output
    # vhod serve refuses exactly the same (the configuration without the last rule's
    # duplicate loads, and the start-up check reports the ESIA problems).
    import tomllib

    data = tomllib.loads(PRODUCTION_FILE)
    data["secrets"]["blind_index_key"] = "blind-0123456789abcdefghijklmnopqrstuvwxyz"
    data["server"]["data_dir"] = str(tmp_path / "var")
    config = config_from_dict(data)
    with pytest.raises(ConfigError) as refused:
        build_services(config)
    assert set(expected[:4]) <= set(refused.value.problems)


def test_clients_lifecycle(run) -> None:  # type: ignore[no-untyped-def]
    res = run(
        "clients",
        "add",
        "school1",
        "--secret",
        SECRET,
        "--redirect-uri",
        "https://school.example/cb",
        "--redirect-uri",
        "https://school.example/cb2",
        "--scope",
        "openid profile diary",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--token-format",
        "opaque",
        "--backchannel-logout-uri",
        "https://school.example/bcl",
        "--sector",
        "school.example",
    )
    assert res.exit_code == 0, res.output
    assert SECRET not in res.output
    listed = run("clients", "list")
    assert "school1\tactive" in listed.output
    shown = run("clients", "show", "school1")
    data = json.loads(shown.output)
    assert data["redirect_uris"] == ["https://school.example/cb", "https://school.example/cb2"]
    assert data["token_format"] == "opaque"
    assert data["has_secret"] is True
    assert "secret_digest" not in data
    assert SECRET not in shown.output
    assert run("clients", "disable", "school1").exit_code == 0
    assert "school1\tdisabled" in run("clients", "list").output
    again = run(
        "clients",
        "add",
        "school1",
        "--secret",
        SECRET,
        "--redirect-uri",
        "https://school.example/cb",
    )
    assert again.exit_code == 2
    assert "already exists" in again.output


def test_generated_secret_is_printed_once(run) -> None:  # type: ignore[no-untyped-def]
    res = run("clients", "add", "svc1", "--grant-type", "client_credentials", "--scope", "diary")
    assert res.exit_code == 0, res.output
    assert "client_secret: " in res.output


def test_clients_add_with_a_minimum_acr(run) -> None:  # type: ignore[no-untyped-def]
    mfa = "urn:vhod:acr:esia-mfa"
    uri = "https://bank.example/cb"
    res = run("clients", "add", "bank", "--redirect-uri", uri, "--min-acr", mfa)
    assert res.exit_code == 0, res.output
    assert json.loads(run("clients", "show", "bank").output)["min_acr"] == mfa
    assert run("clients", "add", "plain", "--redirect-uri", uri).exit_code == 0
    assert json.loads(run("clients", "show", "plain").output)["min_acr"] is None
    bad = run("clients", "add", "odd", "--redirect-uri", uri, "--min-acr", "urn:x")
    assert bad.exit_code == 2
    assert "--min-acr" in bad.output
    assert "odd" not in run("clients", "list").output


def test_bad_client_input_lists_every_problem(run) -> None:  # type: ignore[no-untyped-def]
    res = run(
        "clients",
        "add",
        "bad id",
        "--secret",
        "short",
        "--redirect-uri",
        "http://evil.example/cb#x",
        "--scope",
        "openid nonsense",
    )
    assert res.exit_code == 2
    for needle in ("client_id", "redirect_uri", "fragment", "unknown scopes nonsense", "secret"):
        assert needle in res.output
    assert run("clients", "show", "nobody").exit_code == 2
    assert "nobody" not in run("clients", "list").output


def test_keys_list_and_rotate(run) -> None:  # type: ignore[no-untyped-def]
    before = [json.loads(line) for line in run("keys", "list").output.splitlines()]
    assert {k["alg"] for k in before} == {"RS256", "ES256"}
    assert {k["state"] for k in before} >= {"active", "next"}
    assert all("d" not in k for k in before)
    res = run("keys", "rotate", "--alg", "ES256")
    assert res.exit_code == 0, res.output
    after = [json.loads(line) for line in run("keys", "list").output.splitlines()]
    old_active = next(k["kid"] for k in before if k["alg"] == "ES256" and k["state"] == "active")
    old_next = next(k["kid"] for k in before if k["alg"] == "ES256" and k["state"] == "next")
    states = {k["kid"]: k["state"] for k in after}
    assert states[old_active] == "retired"
    assert states[old_next] == "active"


def test_data_key_rotation_and_reseal(run) -> None:  # type: ignore[no-untyped-def]
    assert run("keys", "rotate-data-key").exit_code == 0
    res = run("keys", "reseal")
    assert res.exit_code == 0, res.output
    assert "re-sealed" in res.output


def test_audit_verify_detects_tampering(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("clients", "add", "a1", "--secret", SECRET, "--redirect-uri", "https://a.example/cb")
    run("clients", "add", "a2", "--secret", SECRET, "--redirect-uri", "https://a.example/cb")
    run("clients", "disable", "a2")
    ok = run("audit", "verify")
    assert ok.exit_code == 0, ok.output
    import sqlite3

    db = sqlite3.connect(tmp_path / "var" / "vhod.db")
    db.execute("UPDATE audit_events SET event = 'client.tampered' WHERE seq = 1")
    db.commit()
    res = run("audit", "verify")
    assert res.exit_code == 1
    assert "seq 1" in res.output
    db.execute("UPDATE audit_events SET event = 'client.registered' WHERE seq = 1")
    db.execute("DELETE FROM audit_events WHERE seq = 2")
    db.commit()
    db.close()
    res = run("audit", "verify")
    assert res.exit_code == 1
    assert "missing" in res.output
    # The head of the chain is printed so that operators can anchor it outside the DB.


def test_admin_invite_prints_a_one_time_link(run) -> None:  # type: ignore[no-untyped-def]
    res = run("admins", "invite", "--note", "first admin")
    assert res.exit_code == 0, res.output
    assert "/admin/invite?token=" in res.output
