"""Real gateway processes for fault tests (SECURITY.md §5 R5, R7, R13): ``vhod serve``
(its default server, granian, or ``server="gunicorn"``; one worker) on a free port of
127.0.0.1, with its own config file, stopped by its PID (the process group it leads:
main process and workers, nothing else); and a browser over
real HTTP (``requests``) that walks the login with the fake upstream.

The shared Redis and PostgreSQL are never stopped; tests that need a store to go away
start their own (``tests.helpers.processes``).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import requests

from tests.helpers.journey import hidden_fields
from tests.helpers.journey import pkce_pair

VHOD = Path(sys.executable).with_name("vhod")
_GATEWAY_PREFIXES = ("/login", "/account", "/authorize", "/logout")


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    lines: list[str] = []
    for name, options in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in options.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    tomllib.loads(path.read_text(encoding="utf-8"))  # fail here, not in the server
    return path


class GatewayProcess:
    """``vhod serve --workers 1`` under ``config`` on ``port``; ``env`` adds variables
    (``VHOD_CRASH_AT``, ``LD_PRELOAD``/``FAKETIME`` …); output goes to ``log``;
    ``server`` picks the HTTP server (``vhod serve --server``; default: the config's)."""

    def __init__(
        self,
        config: Path,
        port: int,
        log: Path,
        env: dict[str, str] | None = None,
        wrapper: tuple[str, ...] = (),
        server: str | None = None,
    ) -> None:
        self.config = config
        self.port = port
        self.log = log
        self.env = env or {}
        self.wrapper = wrapper
        self.server = server
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> GatewayProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VHOD_", "VHOD__"))} | {
            "VHOD_CONFIG": str(self.config),
            **self.env,
        }
        argv = [*self.wrapper, str(VHOD), "serve", "--port", str(self.port), "--workers", "1"]
        if self.server is not None:
            argv += ["--server", self.server]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"vhod serve exited: {self.output()[-2000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"vhod serve not ready on {self.port}: {self.output()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL the server's process group (its main process and workers) by its PID."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


@contextlib.contextmanager
def gateway_process(
    config: Path, port: int, log: Path, env: dict[str, str] | None = None
) -> Iterator[GatewayProcess]:
    server = GatewayProcess(config, port, log, env)
    try:
        yield server.start()
    finally:
        server.kill()


def base_config(
    tmp_path: Path, port: int, store: dict[str, Any] | None = None, **sections: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """A dev config for a served process: issuer on ``port``, data under ``tmp_path``."""
    config: dict[str, dict[str, Any]] = {
        "server": {
            "issuer": f"http://127.0.0.1:{port}",
            "data_dir": str(tmp_path / "var"),
            "workers": 1,
            "threads": 2,
        },
        "logging": {"level": "WARNING"},
    }
    if store:
        config["store"] = store
    for name, options in sections.items():
        config.setdefault(name, {}).update(options)
    return config


class HttpBrowser:
    """A browser over real HTTP: one cookie jar, any gateway instance (``base``)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.verifier = ""

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base + path, allow_redirects=False, timeout=30)

    def post(self, path: str, data: dict[str, str]) -> requests.Response:
        return self.http.post(self.base + path, data=data, allow_redirects=False, timeout=30)

    @staticmethod
    def local(response: requests.Response) -> str | None:
        if response.status_code not in (301, 302, 303, 307, 308):
            return None
        parts = urlsplit(response.headers["Location"])
        if parts.netloc and not parts.netloc.startswith(("127.0.0.1", "localhost")):
            return None
        if not parts.path.startswith(_GATEWAY_PREFIXES):
            return None
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def follow(self, response: requests.Response) -> requests.Response:
        for _ in range(10):
            target = self.local(response)
            if target is None:
                return response
            response = self.get(target)
        raise AssertionError("too many redirects")

    def authorize(
        self, client_id: str, redirect_uri: str, **extra: str | None
    ) -> requests.Response:
        """``GET /authorize`` with PKCE, ``state`` and ``nonce``; ``extra`` adds parameters
        (``None`` drops one)."""
        self.verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid profile",
            "state": "st-" + self.verifier[:8],
            "nonce": "n-" + self.verifier[8:16],
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        return self.get(
            "/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})
        )

    def fake_login(self, page: requests.Response, persona: str = "parent") -> requests.Response:
        """On the fake upstream's page, pick ``persona``; the callback's answer, followed."""
        assert page.status_code == 200, (page.status_code, page.text[:300])
        assert urlsplit(page.url).path == "/login/fake", page.url
        fields = hidden_fields(page.text)
        answer = self.post(
            "/login/fake",
            {"csrf_token": fields["csrf_token"], "state": fields["state"], "persona": persona},
        )
        return self.follow(answer)

    def consent(self, page: requests.Response) -> requests.Response:
        fields = hidden_fields(page.text)
        return self.post(
            urlsplit(page.url).path,
            {"csrf_token": fields["csrf_token"], "step": fields["step"], "decision": "approve"},
        )

    def pick_factor(self, page: requests.Response, kind: str) -> requests.Response:
        path = urlsplit(page.url).path.removesuffix("/send")
        fields = hidden_fields(page.text)
        return self.post(
            path + "/send",
            {"csrf_token": fields["csrf_token"], "step": fields["step"], "kind": kind},
        )

    def answer_factor(self, page: requests.Response, code: str) -> requests.Response:
        path = urlsplit(page.url).path.removesuffix("/send")
        fields = hidden_fields(page.text)
        return self.post(
            path, {"csrf_token": fields["csrf_token"], "step": fields["step"], "code": code}
        )

    def login(self, client_id: str, redirect_uri: str, **extra: str | None) -> str:
        """The whole login (fake upstream unless an SSO session is reused, consent when
        asked); the code."""
        response = self.follow(self.authorize(client_id, redirect_uri, **extra))
        if response.status_code == 200 and urlsplit(response.url).path == "/login/fake":
            response = self.fake_login(response)
        if response.status_code == 200 and urlsplit(response.url).path.endswith("/consent"):
            response = self.consent(response)
        return code_of(response)


def code_of(response: requests.Response) -> str:
    assert response.status_code in (302, 303), (response.status_code, response.text[:300])
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert "code" in query, response.headers["Location"]
    return query["code"][0]


def code_in_text(text: str) -> str:
    found = re.search(r"\b(\d{6})\b", text)
    assert found is not None, "no code in the message"
    return found.group(1)
