"""[esia] settings: validation, dev defaults that point at the sandbox, production refusals."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gateway.config.loader import config_from_dict
from gateway.config.schema import EsiaSettings
from gateway.config.schema import Mode
from gateway.core.errors import ConfigError
from providers.upstream.esia.provider import build_esia_provider
from providers.upstream.esia.settings import resolve_paths

REPO = Path(__file__).resolve().parents[4]


def test_defaults_point_at_the_local_sandbox(tmp_path: Path) -> None:
    config = config_from_dict({"server": {"data_dir": str(tmp_path)}})
    esia = config.esia
    assert esia.base_url == f"http://127.0.0.1:{config.dev.sandbox_port}"
    assert esia.issuer.endswith("/")
    assert esia.protocol == "v2"
    assert esia.read_timeout_seconds <= 5
    paths = resolve_paths(config)
    assert paths.dev_defaults
    assert paths.certificate == tmp_path / "esia-sandbox/systems/VHOD_DEV/certificate.pem"
    assert paths.trusted[0].startswith(str(tmp_path / "esia-sandbox"))


def test_example_file_has_every_esia_option() -> None:
    data = tomllib.loads((REPO / "config.example.toml").read_text(encoding="utf-8"))
    assert set(data["esia"]) == set(EsiaSettings.model_fields)


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("issuer", "http://esia.gosuslugi.ru", "[esia] issuer"),
        ("base_url", "https://esia.gosuslugi.ru/", "[esia] base_url"),
        ("read_timeout_seconds", 10, "[esia] read_timeout_seconds"),
        ("connect_timeout_seconds", 0, "[esia] connect_timeout_seconds"),
        ("protocol", "v3", "[esia] protocol"),
        ("refresh_variant", "other", "[esia] refresh_variant"),
        ("token_algs", [], "[esia] token_algs"),
        ("token_algs", ["HS256"], "[esia.token_algs]"),
    ],
)
def test_bad_values_are_named(option: str, value: object, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict({"esia": {option: value}})
    assert any(line.startswith(problem) for line in info.value.problems), info.value.problems


def test_production_refuses_sandbox_defaults(tmp_path: Path) -> None:
    config = config_from_dict({"server": {"data_dir": str(tmp_path)}})
    prod = config.model_copy(update={"mode": Mode.PRODUCTION})
    with pytest.raises(ConfigError) as info:
        resolve_paths(prod)
    text = "\n".join(info.value.problems)
    for name in ("certificate_path", "key_path", "trusted_certificates", "base_url"):
        assert f"[esia] {name}" in text


def test_missing_files_are_a_config_error(tmp_path: Path) -> None:
    config = config_from_dict(
        {
            "server": {"data_dir": str(tmp_path)},
            "esia": {"trusted_certificates": ["bundled:esia-prod-gost-2025.cer"]},
        }
    )
    with pytest.raises(ConfigError) as info:
        build_esia_provider(config)
    assert "run the ESIA sandbox once" in info.value.problems[0]
    broken = config_from_dict(
        {"server": {"data_dir": str(tmp_path)}, "esia": {"trusted_certificates": ["/nope.pem"]}}
    )
    with pytest.raises(ConfigError) as info:
        build_esia_provider(broken)
    assert info.value.problems[0].startswith("[esia] trusted_certificates")
