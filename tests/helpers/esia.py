"""The ESIA sandbox for a test session, and a "browser" that logs a persona in.

Our own ESIA client is never stubbed: tests build a real :class:`EsiaProvider` from a
gateway config that points at the sandbox, and everything crosses HTTP on loopback with
real GOST / RSA signatures both ways::

    sandbox = start_sandbox(tmp_path)            # a thread on a free port
    provider = sandbox.provider("VHOD_GOST", protocol="v1")
    identity = sandbox.login(provider, "parent", scopes=("openid", "children"))
    sandbox.stop()

Registered systems: ``VHOD_GOST`` (tokens signed GOST3410_2012_256), ``VHOD_RSA`` (RS256),
``VHOD_LIMITED`` (may only ask for ``openid fullname birthdate``), ``VHOD_OTHER`` (a second
certificate, for wrong-certificate tests). All share :data:`CALLBACK`, which is never
contacted: the browser stops at the redirect and hands its query to ``complete()``.
"""

from __future__ import annotations

import re
import socket
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import requests

from gateway.config.loader import config_from_dict
from gateway.config.schema import GatewayConfig
from gateway.core.ids import new_uuid
from gateway.core.types import UpstreamIdentity
from providers.upstream.esia.provider import EsiaProvider
from providers.upstream.esia.provider import build_esia_provider
from providers.upstream.esia.settings import sandbox_dir
from providers.upstream.esia.settings import sandbox_signing_certificates
from providers.upstream.esia_sandbox import SandboxConfig
from providers.upstream.esia_sandbox import SandboxServer
from providers.upstream.esia_sandbox import SystemSpec

CALLBACK = "http://127.0.0.1:9/login/callback/esia"
LIMITED_SCOPES = ("openid", "fullname", "birthdate")
TEST_TIMEOUT_SECONDS = 0.5
SKEW_SECONDS = 120
_TXN = re.compile(r'name="txn" value="([^"]+)"')


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class BrowserResult:
    """Where the sandbox sent the browser: the status, the redirect, and its query."""

    status: int
    location: str | None
    query: dict[str, str]
    body: str


def browser(url: str, persona: str | None = "parent", action: str = "login") -> BrowserResult:
    """GET the authorize URL; if the login page comes, submit ``persona`` (or cancel).

    Stops at the first redirect (to our callback) and returns its query.
    """
    with requests.Session() as session:
        page = session.get(url, allow_redirects=False, timeout=10)
        if page.status_code == 200 and persona is not None:
            match = _TXN.search(page.text)
            assert match is not None, "no login form on the sandbox page"
            action_url = f"{url.split('/aas/', 1)[0]}/sandbox/login"
            page = session.post(
                action_url,
                data={"txn": match.group(1), "persona": persona, "action": action},
                allow_redirects=False,
                timeout=10,
            )
    location = page.headers.get("Location")
    query: dict[str, str] = {}
    if location:
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return BrowserResult(page.status_code, location, query, page.text)


class EsiaSandbox:
    """A running sandbox plus factories for gateway configs and providers that use it."""

    def __init__(self, root: Path, skew_seconds: int = SKEW_SECONDS) -> None:
        self.data_dir = root / "var"
        self.dir = sandbox_dir(self.data_dir)
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.issuer = f"{self.url}/"
        self.config = SandboxConfig(
            issuer=self.issuer,
            public_url=self.url,
            systems=(
                SystemSpec("VHOD_GOST", (CALLBACK,), token_alg="GOST3410_2012_256"),
                SystemSpec("VHOD_RSA", (CALLBACK,), token_alg="RS256"),
                SystemSpec("VHOD_LIMITED", (CALLBACK,), scopes=LIMITED_SCOPES),
                SystemSpec("VHOD_OTHER", (CALLBACK,)),
            ),
            timestamp_skew_seconds=skew_seconds,
        )
        self.server = SandboxServer(self.dir, self.config, port=port).start()

    def stop(self) -> None:
        self.server.stop()

    # ------------------------------------------------------------------ gateway side

    def gateway_config(self, client_id: str = "VHOD_GOST", **esia: Any) -> GatewayConfig:
        """A dev gateway config whose ``[esia]`` points at this sandbox.

        Key and certificate stay empty, i.e. the sandbox's demo files of ``client_id``
        under ``<data_dir>/esia-sandbox`` (the dev defaults); timeouts are short.
        """
        section: dict[str, Any] = {
            "base_url": self.url,
            "issuer": self.issuer,
            "client_id": client_id,
            "trusted_certificates": list(sandbox_signing_certificates(self.dir)),
            "connect_timeout_seconds": TEST_TIMEOUT_SECONDS,
            "read_timeout_seconds": TEST_TIMEOUT_SECONDS,
        }
        section.update(esia)
        return config_from_dict({"server": {"data_dir": str(self.data_dir)}, "esia": section})

    def provider(self, client_id: str = "VHOD_GOST", **esia: Any) -> EsiaProvider:
        return build_esia_provider(self.gateway_config(client_id, **esia))

    def authorize(
        self,
        provider: EsiaProvider,
        persona: str | None = "parent",
        scopes: tuple[str, ...] = ("openid",),
        action: str = "login",
    ) -> tuple[str, BrowserResult]:
        """Start a login and walk the browser to our callback: ``(state, result)``."""
        state = new_uuid()
        url = provider.authorization_url(state, scopes, CALLBACK)
        return state, browser(url, persona, action)

    def login(
        self,
        provider: EsiaProvider,
        persona: str = "parent",
        scopes: tuple[str, ...] = ("openid",),
    ) -> UpstreamIdentity:
        """A whole login: authorize → persona form → callback → ``complete()``."""
        state, result = self.authorize(provider, persona, scopes)
        return provider.complete(result.query, state, CALLBACK, scopes)

    # ------------------------------------------------------------------ sandbox admin

    def faults(self, **faults: Any) -> None:
        r = requests.post(f"{self.url}/sandbox/faults", json=faults, timeout=10)
        assert r.status_code == 200, r.text

    def clear_faults(self) -> None:
        requests.delete(f"{self.url}/sandbox/faults", timeout=10)

    def personas(self) -> list[dict[str, Any]]:
        data = requests.get(f"{self.url}/sandbox/personas", timeout=10).json()
        assert isinstance(data, list)
        return data


def start_sandbox(root: Path, skew_seconds: int = SKEW_SECONDS) -> EsiaSandbox:
    """Start the sandbox under ``root`` on a free port (stop it with ``.stop()``)."""
    return EsiaSandbox(root, skew_seconds)
