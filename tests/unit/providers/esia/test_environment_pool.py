"""The ESIA connection pool reads proxy and CA settings from the environment once."""

from __future__ import annotations

import pytest
import urllib3

from providers.upstream.esia.client import environment_pool

ESIA = "https://esia.gosuslugi.ru"


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.region.example:3128")
    pool = environment_pool(ESIA)
    assert isinstance(pool, urllib3.ProxyManager)
    assert pool.proxy is not None
    assert pool.proxy.host == "proxy.region.example"
    assert pool.proxy.port == 3128


def test_no_proxy_for_esia_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.region.example:3128")
    monkeypatch.setenv("NO_PROXY", "gosuslugi.ru")
    assert not isinstance(environment_pool(ESIA), urllib3.ProxyManager)


def test_ca_bundle_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/russian-trusted-ca.pem")
    pool = environment_pool(ESIA)
    assert pool.connection_pool_kw["ca_certs"] == "/etc/ssl/certs/russian-trusted-ca.pem"
