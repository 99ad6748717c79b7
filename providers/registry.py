"""The plug-in registry: names → factories. The only way a provider enters the gateway.

Config selects names (``[upstream] provider = "esia"``), never import paths (STYLE.md habit
14; the counter-example is SATOSA's ``pydoc.locate`` on module strings). A new upstream is
added here, in code, with a factory that builds it from :class:`UpstreamDeps`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.config.schema import GatewayConfig
from gateway.core.errors import ConfigError
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import UpstreamProvider
from providers.upstream.esia.provider import build_esia_provider
from providers.upstream.fake import FakeUpstream


@dataclass(frozen=True)
class UpstreamDeps:
    """What an upstream factory may use."""

    config: GatewayConfig
    ephemeral: EphemeralStore
    clock: Clock
    pepper: bytes


UpstreamFactory = Callable[[UpstreamDeps], UpstreamProvider]


def _fake(deps: UpstreamDeps) -> UpstreamProvider:
    if deps.config.is_production:
        raise ConfigError(["[upstream] provider: 'fake' is refused in production mode"])
    return FakeUpstream(deps.ephemeral, deps.clock, deps.pepper, deps.config.server.issuer)


def _esia(deps: UpstreamDeps) -> UpstreamProvider:
    """ESIA from ``[esia]``: the signer from its key and certificate (the sandbox's demo
    files under ``<data_dir>/esia-sandbox`` when left empty, refused in production)."""
    return build_esia_provider(deps.config, deps.clock)


UPSTREAMS: Mapping[str, UpstreamFactory] = {
    "esia": _esia,
    "fake": _fake,
}
"""Every upstream the gateway can use, by the name config selects."""


def build_upstreams(deps: UpstreamDeps) -> dict[str, UpstreamProvider]:
    """The upstream providers the config enables, by name.

    :raises ConfigError: for a name missing from :data:`UPSTREAMS`, or a provider that
        refuses the mode (``fake`` in production).
    """
    name = deps.config.upstream.provider
    factory = UPSTREAMS.get(name)
    if factory is None:
        raise ConfigError([f"[upstream] provider: no upstream named {name!r} is registered"])
    return {name: factory(deps)}
