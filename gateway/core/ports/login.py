"""Login ports: upstream providers, SSO sessions, claims and grant revocation marks."""

from __future__ import annotations

from typing import Any
from typing import Protocol

from gateway.core.children import ChildClaim
from gateway.core.types import SsoSession
from gateway.core.types import UpstreamIdentity


class UpstreamProvider(Protocol):
    """An upstream identity provider (ESIA, or ``FakeUpstream`` in tests and dev).

    The journey sends the browser to :meth:`authorization_url` and later hands the
    callback's query parameters to :meth:`complete`. One fixed callback URI per provider
    (``/login/callback/<name>``) so that it can be registered upstream; the journey is
    found again through ``state``.
    """

    name: str

    def authorization_url(self, state: str, scopes: tuple[str, ...], redirect_uri: str) -> str:
        """Where to send the browser. Example: ``return f"{base}/ac?state={state}"``."""
        ...

    def complete(
        self,
        params: dict[str, str],
        expected_state: str,
        redirect_uri: str,
        scopes: tuple[str, ...],
    ) -> UpstreamIdentity:
        """Exchange the callback for the person; raise ``UpstreamDenied`` /
        ``UpstreamUnavailable`` / ``UpstreamProtocolError``. ``scopes``: the same client
        scopes as given to :meth:`authorization_url` for this ``state`` (an upstream that
        derives its own scopes from them derives the same again; nothing is kept between
        the two calls)."""
        ...

    def logout_url(self, post_logout_redirect_uri: str) -> str | None:
        """Where to end the upstream session too, or ``None``."""
        ...


class SsoSessions(Protocol):
    """Server-side SSO sessions (idle and absolute timeouts; cookie handled by HTTP)."""

    def current(self, cookie_value: str | None) -> SsoSession | None:
        """The live session the cookie names, touching its idle timer; else ``None``."""
        ...

    def add_client(self, sid: str, client_id: str) -> None:
        """Remember that ``client_id`` received tokens in session ``sid``."""
        ...

    def end(self, sid: str) -> SsoSession | None:
        """End the session; return what it was (for back-channel logout), if it lived."""
        ...


class ClaimsSource(Protocol):
    """Personal claims of a subject, limited to what ``scopes`` allow (userinfo, id_token)."""

    def claims(self, subject_id: str, scopes: tuple[str, ...]) -> dict[str, Any]:
        """Example: ``return {"given_name": "Иван"} if "profile" in scopes else {}``."""
        ...

    def children(self, parent_id: str, client_id: str) -> list[ChildClaim]:
        """The children ``parent_id`` may act for at ``client_id`` (the ``children`` claim:
        first name, school, class — ``gateway.core.children.links_for_client``)."""
        ...


class GrantRevoker(Protocol):
    """Makes the access tokens of a grant stop working at once (SECURITY.md T97).

    The caller first revokes the grants durably (``uow.grants.revoke_where``) in the same
    transaction as its own change (e.g. a withdrawn consent), so refresh tokens die with
    it; then it calls this for each revoked grant id. ``gateway.oauth``'s
    ``TokenService`` implements it.
    """

    def mark_grant_revoked(self, grant_id: str) -> None:
        """Example: ``store.put("revoked_grant", grant_id, b"1", ttl)``."""
        ...
