"""Token exchange (RFC 8693) for a parent's access token → a token about one of their
children (issue 11 item 6; DESIGN.md "Identity model": acting for a child).

Authlib 1.x ships no RFC 8693 grant, so this is our own grant class on Authlib's
``BaseGrant`` + ``TokenEndpointMixin``, like the other modules of this package.

Request (``POST /token``, the client authenticated with its registered method; the client
must be registered for the grant type)::

    grant_type=urn:ietf:params:oauth:grant-type:token-exchange
    subject_token=<the parent's access token, issued to this client>
    subject_token_type=urn:ietf:params:oauth:token-type:access_token
    child_sub=<the child's pairwise id for this client, as in the ``children`` claim>
    requested_token_type=urn:ietf:params:oauth:token-type:access_token   (optional)
    scope=openid diary                                                   (optional)
    resource=<the client's registered resource> | audience=<the same>   (optional)

``child_sub`` is vhod's own parameter (RFC 8693 §2.1 leaves the target of delegation to
the server): the child named by the ``sub`` the client saw for it in the ``children``
claim (or in a token acting for it). Response (RFC 8693 §2.2.1)::

    {"access_token": "...", "issued_token_type":
     "urn:ietf:params:oauth:token-type:access_token", "token_type": "Bearer",
     "expires_in": 600, "scope": "openid diary"}

The token is an ordinary vhod access token (RFC 9068 JWT or opaque, per client) with
``sub`` = the child's pairwise id and ``act`` = ``{"sub": <the parent's pairwise id>}``;
no refresh token. A grant is recorded for it (the parent, the child, the scopes, the
parent's ``sid`` — so logout ends it —, no refresh tokens) and ``token.issued_for_child``
is audited.

Checks, in order:

* ``subject_token_type`` / ``requested_token_type`` other than the access-token type,
  ``actor_token``, a missing ``subject_token`` or ``child_sub`` → ``invalid_request``;
* ``resource`` / ``audience`` other than the client's own audience (its registered
  resource, else its id; as ``/authorize``, RFC 8707) → ``invalid_target``;
* ``scope``: each value delegable in the catalogue, registered for the client and in the
  subject token's scope (the parent's consent to this client) → else ``invalid_scope``;
  without ``scope``: the subject token's delegable scopes (``offline_access`` dropped);
* ``invalid_grant`` — one answer, whatever the cause, so that nothing tells whether a
  child exists (SECURITY.md T94): the subject token is not a live access token of a
  person issued to this client, acts for a child already (no chains), lacks the
  ``children`` or ``child`` scope (the parent never let this client see their children),
  or ``child_sub`` is not one of the parent's usable guardianships at a school the client
  is bound to (``gateway.core.children.links_for_client``).
"""

from __future__ import annotations

import logging
from typing import Any
from typing import ClassVar

from authlib.oauth2.rfc6749.grants import BaseGrant
from authlib.oauth2.rfc6749.grants import TokenEndpointMixin

from gateway.core.children import links_for_client
from gateway.core.errors import InvalidGrantError
from gateway.core.errors import InvalidRequestError
from gateway.core.errors import InvalidScopeError
from gateway.core.errors import InvalidTargetError
from gateway.core.errors import UnauthorizedClientError
from gateway.core.ids import new_id
from gateway.core.types import CLIENT_AUTH_METHODS
from gateway.core.types import TOKEN_EXCHANGE
from gateway.core.types import Client
from gateway.core.types import Grant
from gateway.oauth.adapters import ClientModel
from gateway.oauth.children import audit_issued_for_child
from gateway.oauth.grants.base import context_of
from gateway.oauth.grants.base import principal_of
from gateway.oauth.tokens import AccessTokenInfo

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
CHILD_PARAM = "child_sub"
"""vhod's parameter naming the child (its pairwise ``sub`` for the client)."""
CHILDREN_SCOPES = frozenset({"children", "child"})
"""A subject token needs one of them: the parent let this client know their children."""
NOT_EXCHANGED = frozenset({"offline_access"})
NO_DETAIL = "The subject token cannot be exchanged for this child."
MAX_PARAM = 512


class TokenExchange(BaseGrant, TokenEndpointMixin):  # type: ignore[misc]
    """RFC 8693: a parent's access token → an access token acting for one child."""

    GRANT_TYPE = TOKEN_EXCHANGE
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(CLIENT_AUTH_METHODS)

    def validate_token_request(self) -> None:
        client: ClientModel = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError("The client is not registered for token exchange.")
        self.request.client = client
        form = self.request.form
        subject_token = form.get("subject_token", "")
        child_sub = form.get(CHILD_PARAM, "")
        if not subject_token or not child_sub or len(child_sub) > MAX_PARAM:
            raise InvalidRequestError(f"subject_token and {CHILD_PARAM} are required.")
        if form.get("subject_token_type") != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError("subject_token_type must be an access token.")
        if form.get("requested_token_type", ACCESS_TOKEN_TYPE) != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError("Only access tokens are issued.")
        if form.get("actor_token") or form.get("actor_token_type"):
            raise InvalidRequestError("actor_token is not supported.")
        audience = self._audience(client.client)
        info = context_of(self).tokens.check_access_token(subject_token)
        scopes = self._scopes(client.client, info)
        grant = self._grant(client.client, info, child_sub, scopes)
        self.request.vhod_grant = grant
        self.request.vhod_audience = audience

    def _audience(self, client: Client) -> str:
        """``resource`` / ``audience`` (RFC 8693 §2.1; RFC 8707): only the client's own."""
        own = context_of(self).tokens.audience(client)
        for name in ("resource", "audience"):
            value = self.request.form.get(name)
            if value is not None and value != own:
                raise InvalidTargetError("Unknown resource.")
        return own

    def _scopes(self, client: Client, info: AccessTokenInfo | None) -> tuple[str, ...]:
        catalogue = context_of(self).config.scopes
        held = () if info is None else info.scopes
        requested = self.request.form.get("scope")
        if requested is None:
            return tuple(
                s
                for s in held
                if s in catalogue and catalogue[s].delegable and s not in NOT_EXCHANGED
            )
        wanted = tuple(dict.fromkeys(requested.split()))
        for scope in wanted:
            settings = catalogue.get(scope)
            if settings is None or not settings.delegable or scope in NOT_EXCHANGED:
                raise InvalidScopeError("A scope that cannot be used when acting for a child.")
            if scope not in client.scopes:
                raise InvalidScopeError("Scope not registered for the client.")
        if info is not None and not set(wanted) <= set(held):
            raise InvalidScopeError("The scope exceeds the subject token's.")
        return wanted

    def _grant(
        self,
        client: Client,
        info: AccessTokenInfo | None,
        child_sub: str,
        scopes: tuple[str, ...],
    ) -> Grant:
        """The new grant acting for the child, or one ``invalid_grant`` for every cause."""
        ctx = context_of(self)
        now = ctx.clock.now()
        if info is None or info.grant_id is None or info.client_id != client.client_id:
            raise self._refused("subject_token")
        if not CHILDREN_SCOPES & set(info.scopes):
            raise self._refused("no_children_scope")
        with ctx.uow(read_only=True) as uow:
            parent = uow.grants.get(info.grant_id)
            if parent is None or parent.revoked_at is not None or parent.acting_for:
                raise self._refused("subject_grant")
            links = links_for_client(
                uow.guardianships, uow.schools, parent.subject_id, client.client_id, now
            )
        child = next(
            (g.child_id for g in links if ctx.tokens.subject(client, g.child_id) == child_sub),
            None,
        )
        if child is None:
            raise self._refused("no_guardianship")
        return Grant(
            grant_id=new_id(),
            client_id=client.client_id,
            subject_id=parent.subject_id,
            sub=child_sub,
            scopes=scopes,
            created_at=now,
            expires_at=now + ctx.settings.access_token_ttl_seconds,
            sid=parent.sid,
            acr=parent.acr,
            amr=parent.amr,
            auth_time=parent.auth_time,
            acting_for=child,
        )

    def _refused(self, reason: str) -> InvalidGrantError:
        context_of(self).event(
            "token_exchange.refused",
            logging.WARNING,
            client_id=self.request.client.client_id,
            reason=reason,
        )
        return InvalidGrantError(NO_DETAIL)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """Record the grant and audit it (one transaction, committed before the answer),
        then issue the access token."""
        ctx = context_of(self)
        grant: Grant = self.request.vhod_grant
        client: ClientModel = self.request.client
        now = ctx.clock.now()
        with ctx.uow() as uow:
            uow.grants.add(grant)
            audit_issued_for_child(ctx, uow, now, grant, "token_exchange")
            uow.commit()
        token, ttl = ctx.tokens.access_token(
            client.client, grant.scopes, principal_of(grant), self.request.vhod_audience
        )
        body = {
            "access_token": token,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": " ".join(grant.scopes),
        }
        headers: list[tuple[str, str]] = self.TOKEN_RESPONSE_HEADER
        return 200, body, headers
