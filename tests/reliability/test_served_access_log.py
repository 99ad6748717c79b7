"""The access log of a real ``vhod serve``, under granian (the default) and gunicorn: one
line per request, ``<client> "<method> <path>" <status> <bytes> <ms>ms``, and never the
query string (codes, states and tokens travel there)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests

from tests.helpers.gateway_process import GatewayProcess
from tests.helpers.processes import free_port
from tests.reliability.servers import prepared_config

pytestmark = pytest.mark.slow

SECRET = "s3cr3t-c0de-in-the-query"


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_access_line_without_query_string(tmp_path: Path, server: str) -> None:
    port = free_port()
    config = prepared_config(tmp_path, port)
    process = GatewayProcess(config, port, tmp_path / "serve.log", server=server).start()
    try:
        paths = (
            f"/login/callback/fake?code={SECRET}&state={SECRET}",
            f"/.well-known/openid-configuration?code={SECRET}",
        )
        for path in paths:
            requests.get(process.base + path, allow_redirects=False, timeout=10)
        posted = requests.post(
            process.base + f"/token?code={SECRET}", data={"grant_type": "x"}, timeout=10
        )
        assert posted.status_code in (400, 401)
        deadline = time.monotonic() + 10
        pattern = re.compile(
            r'^127\.0\.0\.1 "(GET|POST) (/login/callback/fake|/\.well-known/openid-configuration'
            r'|/token)" \d{3} \d+ \d+ms$',
            re.MULTILINE,
        )
        while len(pattern.findall(process.output())) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        output = process.output()
        assert len(pattern.findall(output)) == 3, output[-3000:]
        assert SECRET not in output
        assert f", {server})" in output  # the server `vhod serve` announced
    finally:
        process.kill()
