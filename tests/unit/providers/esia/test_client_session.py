"""The ESIA HTTP session reads proxy and CA settings from the environment once."""

from __future__ import annotations

import pytest

from providers.upstream.esia.client import environment_session

ESIA = "https://esia.gosuslugi.ru"


def test_proxy_from_the_environment_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.region.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = environment_session(ESIA)
    assert session.proxies["https"] == "http://proxy.region.example:3128"
    assert session.trust_env is False  # not re-read on every request


def test_no_proxy_for_esia_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.region.example:3128")
    monkeypatch.setenv("NO_PROXY", "gosuslugi.ru")
    assert "https" not in environment_session(ESIA).proxies


def test_ca_bundle_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/russian-trusted-ca.pem")
    assert environment_session(ESIA).verify == "/etc/ssl/certs/russian-trusted-ca.pem"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert environment_session(ESIA).verify is True
