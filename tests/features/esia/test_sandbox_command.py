"""``vhod sandbox`` serves like ESIA's front end: HTTP/1.1 with connections kept alive."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.helpers.processes import free_port
from tests.helpers.processes import wait_for_port


def test_sandbox_command_keeps_connections_alive_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "vhod.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path / "var"}"\n', encoding="utf-8")
    env = dict(os.environ, VHOD_CONFIG=str(config))
    env.pop("VHOD_DATA_DIR", None)
    vhod = [sys.executable, "-c", "from gateway.cli import main; main()"]
    proc = subprocess.Popen(
        [*vhod, "sandbox", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, timeout=30)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/sandbox/personas")
        first = conn.getresponse()
        assert first.status == 200
        assert first.getheader("Connection", "").lower() != "close"
        first.read()
        sock = conn.sock
        conn.request("GET", "/sandbox/personas")  # the same connection, not a new one
        second = conn.getresponse()
        assert second.status == 200
        second.read()
        assert conn.sock is sock
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, errors = proc.communicate(timeout=20)
    assert proc.returncode == 0, errors.decode(errors="replace")
