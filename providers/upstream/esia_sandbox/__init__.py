"""The ESIA sandbox: an ESIA emulator for vhod's dev stack and tests (its own app and port).

Never imported by the gateway; only ``gateway.cli_sandbox`` (``vhod sandbox``), the dev
runner and the tests use it. See ``app.py`` for what it serves.
"""

from __future__ import annotations

from providers.upstream.esia_sandbox.app import create_sandbox_app
from providers.upstream.esia_sandbox.config import SandboxConfig
from providers.upstream.esia_sandbox.config import SystemSpec
from providers.upstream.esia_sandbox.config import sandbox_config_for
from providers.upstream.esia_sandbox.server import SandboxServer
from providers.upstream.esia_sandbox.server import run_sandbox

__all__ = [
    "SandboxConfig",
    "SandboxServer",
    "SystemSpec",
    "create_sandbox_app",
    "run_sandbox",
    "sandbox_config_for",
]
