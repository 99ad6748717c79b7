"""The refresh token grant (RFC 6749 §6) with rotation and reuse detection.

Rotation on every use, the used token marked by a conditional ``UPDATE`` together with
the next link (exactly one concurrent exchange wins); reuse of a used token revokes the
family (RFC 9700 §4.14.2; T36–T38); idle and absolute expiry (T40); a narrower ``scope``
is allowed and the new refresh token keeps the original scope (T39). A family that acts
for a child keeps the child (``Grant.acting_for``: the new tokens' ``sub`` and ``act`` as
before) and is checked against the guardianship first: a link ended meanwhile is
``invalid_grant`` and leaves the token unused (issue 11 item 5).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any
from typing import ClassVar

from authlib.oauth2.rfc6749 import RefreshTokenGrant

from gateway.core.errors import InvalidGrantError
from gateway.core.errors import InvalidScopeError
from gateway.core.faults import crash_point
from gateway.core.ports import UnitOfWork
from gateway.core.types import CLIENT_AUTH_METHODS
from gateway.core.types import Grant
from gateway.core.types import RefreshToken
from gateway.core.types import Rotation
from gateway.oauth.adapters import ClientModel
from gateway.oauth.adapters import RefreshTokenModel
from gateway.oauth.children import audit_issued_for_child
from gateway.oauth.children import still_linked
from gateway.oauth.families import revoke_grant
from gateway.oauth.grants.base import context_of
from gateway.oauth.grants.base import principal_of
from gateway.oauth.records import Principal
from gateway.oauth.tokens import DIGEST_REFRESH_TOKEN


class RefreshGrant(RefreshTokenGrant):  # type: ignore[misc]
    """Refresh with rotation and reuse detection."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(CLIENT_AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshTokenModel:
        """Find, check and atomically use the token (RFC 6749 §6; RFC 9700 §4.14.2).

        The ordinary case — every check of :class:`~gateway.core.types.Rotation` holds —
        is one atomic write, the use with the next link (``rotate``: on PostgreSQL one
        statement whose ``WHERE`` holds the checks). Anything else — and a child's grant,
        checked against the guardianship — is read (token and grant, one statement) and
        checked to find its answer; nothing is written for a token that fails a check.
        Another client's token is ``invalid_grant`` and left untouched (T39a), and so is a
        token whose grant holds a scope the client is no longer registered for (T41b). A
        token used before — sequentially, or by a concurrent request whose use won —
        revokes its whole family (T37, T38). For a child's grant the use and the next link
        (``use_and_link``) are in a transaction with the audit of a token issued for a
        child. Either way, if issuing the tokens then fails, the new link (made here,
        given out by :meth:`issue_token`) was never given out, the chain is broken and the
        person signs in again (fail closed; never two live chains).
        """
        ctx = context_of(self)
        client: ClientModel = self.request.client
        now = ctx.clock.now()
        digest = ctx.tokens.digest(DIGEST_REFRESH_TOKEN, refresh_token)
        requested = set((self.request.payload.scope or "").split())
        cutoff = ctx.tokens.restore_cutoff()
        following, following_digest = ctx.tokens.refresh_token()
        terms = Rotation(
            client_id=client.client_id,
            client_scopes=frozenset(client.client.scopes),
            requested_scopes=frozenset(requested),
            now=now,
            cutoff=cutoff,
            idle_until=now + ctx.settings.refresh_idle_seconds,
            next_digest=following_digest,
        )
        # One unit for the read and, for most grants, the write (one atomic statement); a
        # child's grant writes in a transaction of its own, with its audit (below).
        with ctx.uow(atomic_statements=True) as uow:
            # The ordinary case first: every check holds, and the use and the next link
            # are one write (one statement on PostgreSQL). Anything else is answered below.
            rotated = uow.refresh_tokens.rotate(digest, terms)
            if rotated is not None:
                uow.commit()
                return self._rotated(*rotated, following, now)
            found = uow.refresh_tokens.find(digest)
            if found is None or found[0].client_id != client.client_id:
                raise InvalidGrantError("Unknown refresh token.")
            stored, grant = found
            if not requested <= set(stored.scopes):
                raise InvalidScopeError("The scope exceeds the original grant.")
            if not set(stored.scopes) <= set(client.client.scopes):
                raise InvalidGrantError("A granted scope is no longer registered for the client.")
            if grant is not None and not still_linked(
                uow, grant.subject_id, grant.acting_for, client.client_id, now
            ):
                ctx.event("refresh_token.child_unlinked", client_id=client.client_id)
                raise InvalidGrantError("The refresh token expired or was revoked.")
            # The grant as committed is the authority on its revocation: every revocation
            # commits before it marks the grant's access tokens in the ephemeral store.
            live = (
                grant is not None
                and grant.revoked_at is None
                and stored.expires_at > now
                and grant.expires_at > now
                and grant.created_at >= cutoff
            )
            reused = stored.used_at is not None
            rotate = not reused and live and grant is not None
            if rotate and grant is not None and grant.acting_for is None:
                reused, rotate = not self._rotate(uow, stored, grant, terms), False
        if rotate and grant is not None:
            with ctx.uow() as tx:
                reused = not self._rotate(tx, stored, grant, terms)
        if reused:
            self._punish_reuse(grant)
        if grant is None or not live:
            raise InvalidGrantError("The refresh token expired or was revoked.")
        return self._rotated(stored, grant, following, now)

    def _rotated(
        self, stored: RefreshToken, grant: Grant, following: str, now: float
    ) -> RefreshTokenModel:
        """``stored``, used at ``now``; ``grant`` and ``following``, the next link of the
        chain, kept for :meth:`issue_token`."""
        self.request.vhod_grant = grant
        self.request.vhod_next_refresh = following
        return RefreshTokenModel(replace(stored, used_at=now), now)

    def _rotate(self, uow: UnitOfWork, stored: RefreshToken, grant: Grant, terms: Rotation) -> bool:
        """Use ``stored`` and add the next link, with the audit of a child's grant, in
        ``uow``; commit. ``False``: a concurrent exchange used the token first."""
        ctx = context_of(self)
        link = terms.link(stored, grant)
        if not uow.refresh_tokens.use_and_link(stored.digest, terms.now, link):
            return False
        audit_issued_for_child(ctx, uow, terms.now, grant, self.GRANT_TYPE)
        uow.commit()
        return True

    def issue_token(self, user: Principal, refresh_token: RefreshTokenModel) -> dict[str, Any]:
        """The access token (narrowed to a requested ``scope``) and the next refresh
        token, stored with the old one's use (:meth:`authenticate_refresh_token`)."""
        scope = self.request.payload.scope or refresh_token.get_scope()
        token: dict[str, Any] = self.generate_token(
            user=user, scope=scope, include_refresh_token=False
        )
        token["refresh_token"] = self.request.vhod_next_refresh
        return token

    def _validate_token_scope(self, token: RefreshTokenModel) -> None:
        """Checked before the token is used (see :meth:`authenticate_refresh_token`), so
        that a too wide ``scope`` does not burn the token (RFC 6749 §6; T39c)."""

    def _punish_reuse(self, grant: Grant | None) -> None:
        ctx = context_of(self)
        ctx.event("refresh_token.reused", logging.WARNING, client_id=self.request.client.client_id)
        if grant is not None and grant.revoked_at is None:
            revoke_grant(ctx, grant, "refresh_reuse")
        raise InvalidGrantError("The refresh token was already used.")

    def authenticate_user(self, refresh_token: RefreshTokenModel) -> Principal:
        grant: Grant = self.request.vhod_grant
        return principal_of(grant)

    def save_token(self, token: dict[str, Any]) -> None:
        """Nothing left to store: the next link of the chain — original scope (a narrower
        request narrows only the access token; T39d), idle expiry bounded by the family's
        absolute expiry — was committed with the old token's use."""
        ctx = context_of(self)
        grant: Grant = self.request.vhod_grant
        crash_point("token.refresh_rotated")
        ctx.event("token.refreshed", client_id=grant.client_id, grant_id=grant.grant_id)

    def revoke_old_credential(self, refresh_token: RefreshTokenModel) -> None:
        """Nothing to do: the old token was marked used atomically when it was checked."""
