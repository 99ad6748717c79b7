"""The gateway and the ESIA sandbox on free loopback ports, each a werkzeug server in a
thread, wired like production: ``[upstream] provider = "esia"``, ``[esia]`` pointing at
the sandbox, and the sandbox's registered system = the gateway's GOST key and certificate
(generated under ``<data_dir>/esia-sandbox`` on first start, the dev defaults of
``[esia]``). Our ESIA client is the real one: GOST ``client_secret`` to the sandbox,
GOST-signed JWTs back, verified against the sandbox's certificates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from gateway.admin.clients import register_client
from gateway.app import build_services
from gateway.app import create_app
from gateway.config.loader import config_from_dict
from gateway.core.types import Client
from gateway.dev.servers import ServerThread
from gateway.http.deps import Services
from providers.upstream.esia.settings import sandbox_dir
from providers.upstream.esia_sandbox import SandboxConfig
from providers.upstream.esia_sandbox import SystemSpec
from providers.upstream.esia_sandbox import create_sandbox_app
from tests.features.esia_journey.browser import Browser
from tests.features.esia_journey.browser import SchoolClient

ESIA_CLIENT_ID = "VHOD_TEST"
TIMEOUT_SECONDS = 3.0
"""ESIA timeouts of the shared stack: roomy, so that a loaded machine never fails a login
(the T93 module sets its own short ones)."""
SCOPES = ("openid", "profile", "children", "diary", "offline_access")


class JourneyStack:
    """A running gateway + sandbox pair (:meth:`stop` ends both)."""

    def __init__(self, root: Path, **esia: Any) -> None:
        self.gateway_server = ServerThread.bind("127.0.0.1", 0, "gateway")
        self.sandbox_server = ServerThread.bind("127.0.0.1", 0, "sandbox")
        self.gateway_url = self.gateway_server.url
        self.sandbox_url = self.sandbox_server.url
        self.data_dir = root / "var"
        section: dict[str, Any] = {
            "base_url": self.sandbox_url,
            "issuer": f"{self.sandbox_url}/",
            "client_id": ESIA_CLIENT_ID,
            "connect_timeout_seconds": TIMEOUT_SECONDS,
            "read_timeout_seconds": TIMEOUT_SECONDS,
            "breaker_failure_threshold": 100,
        }
        section.update(esia)
        self.config = config_from_dict(
            {
                "server": {"data_dir": str(self.data_dir), "issuer": self.gateway_url},
                "upstream": {"provider": "esia"},
                "esia": section,
                "logging": {"level": "WARNING"},
            }
        )
        sandbox_config = SandboxConfig(
            issuer=f"{self.sandbox_url}/",
            public_url=self.sandbox_url,
            systems=(
                SystemSpec(
                    ESIA_CLIENT_ID,
                    (f"{self.gateway_url}/login/callback/esia",),
                    token_alg="GOST3410_2012_256",
                ),
            ),
        )
        try:
            self.sandbox_server.serve(
                create_sandbox_app(sandbox_dir(self.data_dir), sandbox_config)
            )
            self.services: Services = build_services(self.config, prepare_stores=True)
            self.app = create_app(services=self.services)
            self.gateway_server.serve(self.app)
        except BaseException:
            self.stop()
            raise
        self.school = self.register("school")
        self.library = self.register("library")

    def register(self, client_id: str) -> SchoolClient:
        redirect = f"https://{client_id}.example/cb"
        after_logout = f"https://{client_id}.example/signed-out"
        secret = f"{client_id}-secret-0123456789-0123456789-0123456789"
        register_client(
            self.services.uow,
            self.services.clock,
            self.services.pepper,
            self.services.config.scopes,
            Client(
                client_id=client_id,
                redirect_uris=(redirect,),
                scopes=SCOPES,
                name=f"Школа {client_id}",
                post_logout_redirect_uris=(after_logout,),
            ),
            secret,
        )
        return SchoolClient(client_id, secret, redirect, after_logout)

    def browser(self) -> Browser:
        return Browser(self.gateway_url, self.sandbox_url)

    def stop(self) -> None:
        self.gateway_server.stop()
        self.sandbox_server.stop()
        services = getattr(self, "services", None)
        if services is not None:
            services.engine.dispose()

    # ------------------------------------------------------------------ sandbox admin

    def faults(self, **faults: Any) -> None:
        response = requests.post(f"{self.sandbox_url}/sandbox/faults", json=faults, timeout=10)
        assert response.status_code == 200, response.text

    def clear_faults(self) -> None:
        requests.delete(f"{self.sandbox_url}/sandbox/faults", timeout=10)

    # ------------------------------------------------------------------ checking tokens

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a JWT verified against the gateway's published JWKS (over HTTP)."""
        jwks = requests.get(f"{self.gateway_url}/jwks", timeout=10).json()
        decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["RS256", "ES256"])
        return dict(decoded.claims)

    def stored_bytes(self) -> bytes:
        """Everything the durable store wrote (SQLite file, WAL and journal)."""
        return b"".join(p.read_bytes() for p in sorted(self.data_dir.glob("vhod.db*")))
