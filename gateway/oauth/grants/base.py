"""What every grant shares: the OAuth context behind a grant, who a token is about
(:func:`principal_of`), the next refresh token of a chain (:func:`refresh_link`), and the
PKCE / query helpers the authorization endpoint uses too."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from typing import Protocol
from urllib.parse import urlencode

from gateway.core.types import Grant
from gateway.core.types import RefreshToken
from gateway.oauth.context import OAuthContext
from gateway.oauth.records import Principal
from gateway.oauth.tokens import DIGEST_REFRESH_TOKEN

S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
"""An S256 challenge is the unpadded base64url of 32 bytes (RFC 7636 §4.2)."""
VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
"""RFC 7636 §4.1: 43–128 unreserved characters."""
PERSON_ONLY_SCOPES = frozenset({"openid", "offline_access"})


def append_query(uri: str, params: list[tuple[str, str]]) -> str:
    """``uri`` with ``params`` appended to its query, the registered part untouched."""
    if not params:
        return uri
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def context_of(grant: Any) -> OAuthContext:
    """The OAuth context the server carries (``AuthorizationServer.vhod``)."""
    ctx: OAuthContext = grant.server.vhod
    return ctx


class Authenticated(Protocol):
    """What a code record and a stored grant both say about the person's login."""

    @property
    def subject_id(self) -> str: ...
    @property
    def grant_id(self) -> str: ...
    @property
    def sid(self) -> str | None: ...
    @property
    def acr(self) -> str | None: ...
    @property
    def amr(self) -> tuple[str, ...]: ...
    @property
    def auth_time(self) -> int | None: ...
    @property
    def acting_for(self) -> str | None: ...


def principal_of(source: Authenticated, nonce: str | None = None) -> Principal:
    """The person a token is about, from a redeemed code's record or a stored grant.

    :param nonce: the authorization request's ``nonce`` — for the ID token of the code
        response only (OIDC Core §3.1.3.6); a refreshed ID token carries none.
    """
    return Principal(
        subject_id=source.subject_id,
        grant_id=source.grant_id,
        sid=source.sid,
        acr=source.acr,
        amr=source.amr,
        auth_time=source.auth_time,
        acting_for=source.acting_for,
        nonce=nonce,
    )


def refresh_link(
    ctx: OAuthContext,
    token: str,
    grant: Grant,
    *,
    generation: int,
    scopes: tuple[str, ...],
    now: float,
) -> RefreshToken:
    """The stored form of ``grant``'s next refresh token (its digest only): idle expiry
    bounded by the family's absolute expiry, ``grant.expires_at`` (RFC 9700 §4.14.2;
    SECURITY.md T40)."""
    return RefreshToken(
        digest=ctx.tokens.digest(DIGEST_REFRESH_TOKEN, token),
        grant_id=grant.grant_id,
        client_id=grant.client_id,
        generation=generation,
        scopes=scopes,
        created_at=now,
        expires_at=grant.link_expiry(now + ctx.settings.refresh_idle_seconds),
    )
