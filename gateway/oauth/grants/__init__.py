"""Authlib grants and extensions, made to meet SECURITY.md where Authlib's defaults do not
(SECURITY.md §6). Their persistence hooks call ports only. One module per grant:

* :mod:`.base` — what every grant shares: the OAuth context of a grant, the
  :class:`~gateway.oauth.records.Principal` a token is about, the refresh-token link,
  PKCE and query helpers.
* :mod:`.extensions` — :class:`S256CodeChallenge` (PKCE, ``S256`` only),
  :class:`IdTokenExtension` (the ID token of code and refresh responses) and
  :class:`VhodIssuerParameter` (RFC 9207 ``iss``).
* :mod:`.authorization_code` — :class:`CodeGrant` (RFC 6749 §4.1).
* :mod:`.refresh_token` — :class:`RefreshGrant` (RFC 6749 §6, rotation and reuse
  detection).
* :mod:`.client_credentials` — :class:`ClientCredentials` (RFC 6749 §4.4).

* :mod:`.token_exchange` — :class:`TokenExchange` (RFC 8693: a parent's access token for
  one acting for a child, ``Principal.acting_for``).

A new grant is one more module here: an Authlib grant class whose hooks build the
token's subject with :func:`.base.principal_of`, persist through
``context_of(grant).uow`` and log through ``context_of(grant).event``; it is registered
in ``gateway.oauth.server.build_authorization_server`` and re-exported below.
"""

from __future__ import annotations

from gateway.oauth.grants.authorization_code import CodeGrant
from gateway.oauth.grants.base import PERSON_ONLY_SCOPES
from gateway.oauth.grants.base import S256_CHALLENGE
from gateway.oauth.grants.base import VERIFIER
from gateway.oauth.grants.base import append_query
from gateway.oauth.grants.base import principal_of
from gateway.oauth.grants.base import s256
from gateway.oauth.grants.client_credentials import ClientCredentials
from gateway.oauth.grants.extensions import IdTokenExtension
from gateway.oauth.grants.extensions import S256CodeChallenge
from gateway.oauth.grants.extensions import VhodIssuerParameter
from gateway.oauth.grants.refresh_token import RefreshGrant
from gateway.oauth.grants.token_exchange import TokenExchange

__all__ = [
    "PERSON_ONLY_SCOPES",
    "S256_CHALLENGE",
    "VERIFIER",
    "ClientCredentials",
    "CodeGrant",
    "IdTokenExtension",
    "RefreshGrant",
    "S256CodeChallenge",
    "TokenExchange",
    "VhodIssuerParameter",
    "append_query",
    "principal_of",
    "s256",
]
