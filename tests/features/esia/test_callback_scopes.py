"""The ESIA scopes of a login are remembered between the authorize and token steps.

The port's ``complete()`` does not carry the school system's scopes, yet ESIA wants the
same ``scope`` at the token endpoint (ESIA.md §3.1). With the ephemeral store (workers
share it) or, without one, in process memory.
"""

from __future__ import annotations

import pytest

from gateway.core.clock import SystemClock
from gateway.core.errors import UpstreamProtocolError
from gateway.store.memory import MemoryEphemeralStore
from providers.upstream.esia.provider import build_esia_provider
from tests.helpers.esia import CALLBACK
from tests.helpers.esia import EsiaSandbox

CHILDREN = ("openid", "children")


def test_scopes_kept_in_the_ephemeral_store_across_provider_instances(
    sandbox: EsiaSandbox,
) -> None:
    store = MemoryEphemeralStore(SystemClock())
    config = sandbox.gateway_config()
    worker_a = build_esia_provider(config, ephemeral=store)
    worker_b = build_esia_provider(config, ephemeral=store)
    state, result = sandbox.authorize(worker_a, "parent", CHILDREN)
    identity = worker_b.complete(result.query, state, CALLBACK)  # no scopes passed
    assert len(identity.children) == 3
    with pytest.raises(UpstreamProtocolError) as info:
        worker_b.complete(result.query, state, CALLBACK)  # a replayed callback
    assert info.value.reason == "esia_state_mismatch"


def test_scopes_kept_in_process_without_a_store(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider()
    state, result = sandbox.authorize(provider, "parent", CHILDREN)
    identity = provider.complete(result.query, state, CALLBACK)
    assert len(identity.children) == 3


def test_unknown_scopes_fall_back_to_a_login_without_children(sandbox: EsiaSandbox) -> None:
    first = sandbox.provider()
    state, result = sandbox.authorize(first, "single", ("openid",))
    other_process = sandbox.provider()
    identity = other_process.complete(result.query, state, CALLBACK)
    assert identity.account_level == "confirmed"
