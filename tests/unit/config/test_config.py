"""Configuration: defaults, the example file, env overlay, every-error-at-once, modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.devsecrets import secret_bytes
from gateway.config.devsecrets import with_dev_secrets
from gateway.config.loader import load_config
from gateway.config.schema import ACR_ESIA_MFA
from gateway.config.schema import DEFAULT_SCOPES
from gateway.config.schema import Mode
from gateway.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]

PRODUCTION_SENDERS = {
    "VHOD__SMS__SENDER": "http",
    "VHOD__SMS__HTTP__URL": "https://sms.example.ru/send",
    "VHOD__EMAIL__SENDER": "smtp",
    "VHOD__EMAIL__SMTP_HOST": "smtp.example.ru",
}

PRODUCTION_SECRETS = {
    "VHOD__SECRETS__PEPPER": "p" * 40,
    "VHOD__SECRETS__KEY_ENCRYPTION_KEY": "k" * 43,
    "VHOD__SECRETS__SESSION_SECRET": "s" * 40,
    "VHOD__SECRETS__BLIND_INDEX_KEY": "b" * 40,
}


def test_defaults_are_the_embedded_dev_setup() -> None:
    cfg = load_config(None, env={})
    assert cfg.mode is Mode.DEV
    assert cfg.store.ephemeral_url == "sql"
    assert cfg.store.database_url == ""
    assert cfg.server.port == 8080
    assert cfg.oauth.code_ttl_seconds <= 60


def test_example_file_is_valid_and_matches_the_defaults() -> None:
    cfg = load_config(ROOT / "config.example.toml", env={})
    defaults = load_config(None, env={})
    assert cfg == defaults


def test_scope_catalogue_defaults() -> None:
    cfg = load_config(None, env={})
    assert set(DEFAULT_SCOPES) <= set(cfg.scopes)
    for name in (
        "diary",
        "schedule",
        "homework",
        "messages",
        "payments",
        "meals",
        "clubs",
        "documents",
        "children",
        "child",
    ):
        assert name in cfg.scopes
    assert cfg.scopes["payments"].min_acr == ACR_ESIA_MFA
    assert cfg.scopes["diary"].delegable is True
    assert cfg.scopes["profile"].delegable is False
    assert "children" in cfg.scopes["children"].claims


def test_broken_file_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        'mode = "staging"\n'
        '[server]\nport = 70000\nissuer = "ftp://x"\nbogus = 1\n'
        "[oauth]\ncode_ttl_seconds = 5\n"
        '[scopes.payments]\nmin_acr = "urn:nope"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    text = "\n".join(info.value.problems)
    assert "mode" in text
    assert "[server] port" in text
    assert "[server] issuer" in text
    assert "[server] bogus: unknown option" in text
    assert "[oauth] code_ttl_seconds" in text
    assert "[scopes.payments] min_acr" in text
    assert len(info.value.problems) >= 6


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("[server\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, env={})
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.toml", env={})


def test_env_overlay_and_file_variant(tmp_path: Path) -> None:
    secret_file = tmp_path / "pepper"
    secret_file.write_text("from-a-file-0123456789012345678901234\n", encoding="utf-8")
    cfg = load_config(
        None,
        env={
            "VHOD__SERVER__PORT": "9090",
            "VHOD__SECRETS__PEPPER_FILE": str(secret_file),
            "VHOD__SERVER__CORS_ORIGINS": '["https://spa.school.example"]',
            "VHOD_DATA_DIR": str(tmp_path / "data"),
        },
    )
    assert cfg.server.port == 9090
    assert cfg.secrets.pepper is not None
    assert cfg.secrets.pepper.get_secret_value() == "from-a-file-0123456789012345678901234"
    assert cfg.server.cors_origins == ("https://spa.school.example",)
    assert cfg.server.data_dir == str(tmp_path / "data")
    # secrets never show in reprs
    assert "from-a-file" not in repr(cfg)


def test_unreadable_secret_file_is_reported() -> None:
    with pytest.raises(ConfigError, match="VHOD__SECRETS__PEPPER_FILE: cannot read"):
        load_config(None, env={"VHOD__SECRETS__PEPPER_FILE": "/nonexistent/pepper"})


def test_production_refusals_all_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(
            None,
            env={
                "VHOD__MODE": "production",
                "VHOD__STORE__EPHEMERAL_URL": "memory://",
                "VHOD__DEV__ENABLED": "true",
            },
        )
    text = "\n".join(info.value.problems)
    assert "[server] issuer: must be https" in text
    assert "[store] ephemeral_url" in text
    assert "[upstream] provider" in text
    assert "[dev] enabled" in text
    for name in ("pepper", "key_encryption_key", "session_secret", "blind_index_key"):
        assert f"[secrets] {name}: required in production" in text


def test_production_refuses_dev_only_secrets() -> None:
    env = dict(PRODUCTION_SECRETS)
    env.update(
        {
            "VHOD__MODE": "production",
            "VHOD__SERVER__ISSUER": "https://vhod.example.ru",
            "VHOD__UPSTREAM__PROVIDER": "esia",
            "VHOD__SECRETS__PEPPER": "dev-only:abc",
        }
    )
    with pytest.raises(ConfigError, match=r"\[secrets\] pepper: a dev-only secret is refused"):
        load_config(None, env=env)


def test_valid_production_config() -> None:
    cfg = load_config(None, env=_production(**PRODUCTION_SENDERS))
    assert cfg.is_production


def _production(**extra: str) -> dict[str, str]:
    env = dict(PRODUCTION_SECRETS)
    env.update(
        {
            "VHOD__MODE": "production",
            "VHOD__SERVER__ISSUER": "https://vhod.example.ru",
            "VHOD__UPSTREAM__PROVIDER": "esia",
            "VHOD__STORE__EPHEMERAL_URL": "redis://127.0.0.1:6379/0",
        }
    )
    env.update(extra)
    return env


def test_production_refuses_the_outbox_senders() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, env=_production())
    text = "\n".join(info.value.problems)
    assert "[sms] sender: 'outbox' is for dev; refused in production" in text
    assert "[email] sender: 'outbox' is for dev; refused in production" in text


def test_production_refuses_plain_http_sms_and_plain_smtp() -> None:
    env = _production(
        **{
            **PRODUCTION_SENDERS,
            "VHOD__SMS__HTTP__URL": "http://sms.example.ru/send",
            "VHOD__EMAIL__SMTP_SECURITY": "plain",
        }
    )
    with pytest.raises(ConfigError) as info:
        load_config(None, env=env)
    text = "\n".join(info.value.problems)
    assert "[sms.http] url: an https URL is required in production" in text
    assert "[email] smtp_security: 'plain' is refused in production" in text


def test_real_senders_need_their_address() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, env={"VHOD__SMS__SENDER": "http", "VHOD__EMAIL__SENDER": "smtp"})
    text = "\n".join(info.value.problems)
    assert "[sms.http] url" in text
    assert "smtp_host" in text


def test_factor_defaults_and_bounds() -> None:
    cfg = load_config(None, env={})
    assert cfg.sms.code_ttl_seconds == 300
    assert cfg.sms.max_attempts == 5
    assert cfg.sms.allowed_prefixes == ("+79",)
    assert cfg.lockout.max_consecutive_failures <= 100
    for name, value in (
        ("VHOD__SMS__CODE_TTL_SECONDS", "601"),
        ("VHOD__LOCKOUT__MAX_CONSECUTIVE_FAILURES", "101"),
        ("VHOD__SMS__ALLOWED_PREFIXES", '["79"]'),
        ("VHOD__SMS__HTTP__SURPRISE", "1"),
    ):
        with pytest.raises(ConfigError):
            load_config(None, env={name: value})


def test_dev_secrets_are_generated_once_and_marked(tmp_path: Path) -> None:
    cfg = load_config(None, env={"VHOD_DATA_DIR": str(tmp_path)})
    filled = with_dev_secrets(cfg)
    assert filled.secrets.pepper is not None
    assert filled.secrets.pepper.get_secret_value().startswith("dev-only:")
    again = with_dev_secrets(load_config(None, env={"VHOD_DATA_DIR": str(tmp_path)}))
    assert again.secrets == filled.secrets
    assert len(secret_bytes(filled.secrets.key_encryption_key, "kek")) == 32
    assert (tmp_path / "dev-secrets.toml").stat().st_mode & 0o077 == 0
