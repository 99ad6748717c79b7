"""Unsafe-but-allowed settings in dev mode: each produces a loud startup WARNING.

Production mode refuses these outright (``schema.production_problems``).
"""

from __future__ import annotations

from gateway.config.schema import DEV_SECRET_PREFIX
from gateway.config.schema import GatewayConfig


def startup_warnings(config: GatewayConfig) -> list[str]:
    if config.is_production:
        return []
    warnings = ["dev mode: not for real personal data"]
    if not config.server.issuer.startswith("https://"):
        warnings.append("[server] issuer is http: tokens travel without TLS")
    if config.store.ephemeral_url.startswith("memory://"):
        warnings.append("[store] ephemeral_url is memory://: state is per process and lost")
    if config.upstream.provider == "fake":
        warnings.append("[upstream] provider is 'fake': anyone can sign in as anyone")
    for name in ("pepper", "key_encryption_key", "session_secret", "blind_index_key"):
        value = getattr(config.secrets, name)
        if value is not None and value.get_secret_value().startswith(DEV_SECRET_PREFIX):
            warnings.append(f"[secrets] {name} is a generated dev-only secret")
    return warnings
