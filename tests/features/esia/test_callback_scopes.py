"""The token step asks ESIA for the same scopes as the authorize step (ESIA.md §3.1).

The provider keeps nothing between ``authorization_url`` and ``complete``: both derive the
ESIA scopes from the school system's scopes the journey passes, so any worker, or another
process, can take the callback.
"""

from __future__ import annotations

import pytest

from gateway.core.errors import UpstreamError
from tests.helpers.esia import CALLBACK
from tests.helpers.esia import EsiaSandbox

CHILDREN = ("openid", "children")


def test_another_provider_instance_completes_a_login_with_children(
    sandbox: EsiaSandbox,
) -> None:
    worker_a, worker_b = sandbox.provider(), sandbox.provider()
    state, result = sandbox.authorize(worker_a, "parent", CHILDREN)
    identity = worker_b.complete(result.query, state, CALLBACK, CHILDREN)
    assert len(identity.children) == 3


def test_other_scopes_at_the_token_step_are_refused_by_esia(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider()
    state, result = sandbox.authorize(provider, "parent", CHILDREN)
    with pytest.raises(UpstreamError):
        provider.complete(result.query, state, CALLBACK, ("openid",))


def test_a_replayed_callback_is_refused(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider()
    state, result = sandbox.authorize(provider, "single", ("openid",))
    assert provider.complete(result.query, state, CALLBACK, ("openid",)).account_level
    with pytest.raises(UpstreamError):  # ESIA's code is single-use
        provider.complete(result.query, state, CALLBACK, ("openid",))
