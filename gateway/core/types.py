"""Plain, frozen data passed between the layers. No framework types cross a port."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from dataclasses import field
from typing import Any


class TokenFormat(enum.StrEnum):
    JWT = "jwt"
    OPAQUE = "opaque"


class KeyState(enum.StrEnum):
    """Signing-key lifecycle: published first, then used, then kept for verification."""

    NEXT = "next"
    ACTIVE = "active"
    RETIRED = "retired"


class JourneyKind(enum.StrEnum):
    """``authorize``: a client asked for a code; ``account``: vhod's own pages (no client,
    no code, no consent)."""

    AUTHORIZE = "authorize"
    ACCOUNT = "account"


@dataclass(frozen=True)
class KeyInfo:
    """What ``vhod keys list`` and the admin pages show about a signing key: never
    private parts.

    :param published: in the JWKS now (``next``, ``active``, or ``retired`` within the
        keep window).
    :param published_until: for a retired key, when it leaves the JWKS.
    """

    kid: str
    alg: str
    state: KeyState
    created_at: float
    activated_at: float | None
    retired_at: float | None
    published: bool
    published_until: float | None


@dataclass(frozen=True)
class KeyChange:
    """One state change: ``before`` is ``None`` for a key created now."""

    kid: str
    alg: str
    before: KeyState | None
    after: KeyState


@dataclass(frozen=True)
class KeyChanges:
    """What a key rotation (or the first keys) changed."""

    at: float
    changes: tuple[KeyChange, ...]

    def describe(self) -> list[str]:
        """One line per change, for the CLI: ``RS256 <kid>: next -> active``."""
        return [
            f"{c.alg} {c.kid}: {c.before.value if c.before else 'created'} -> {c.after.value}"
            for c in self.changes
        ]


CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
"""RFC 8693 token exchange: a parent's access token for one acting for a child."""
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", TOKEN_EXCHANGE)


@dataclass(frozen=True)
class Client:
    """A registered relying party (a school information system).

    ``secret_digest`` is the keyed HMAC of the client secret; the secret itself is never
    stored. ``sector`` groups clients that share pairwise ``sub`` values (defaults to the
    client id, i.e. a sector per client). ``min_acr`` is the weakest acr the client accepts
    (one of ``gateway.core.factors.ACR_VALUES``; ``None``: no minimum of its own) — the policy
    asks for a second factor below it, whatever the request says.
    """

    client_id: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")
    secret_digest: str | None = None
    name: str = ""
    token_endpoint_auth_method: str = "client_secret_basic"
    token_format: TokenFormat = TokenFormat.JWT
    access_token_alg: str = "ES256"
    id_token_alg: str = "RS256"
    post_logout_redirect_uris: tuple[str, ...] = ()
    backchannel_logout_uri: str | None = None
    sector: str | None = None
    jwks: str | None = None
    resource: str | None = None
    require_par: bool = False
    introspection_allowed: bool = False
    disabled: bool = False
    created_at: float = 0.0
    min_acr: str | None = None

    @property
    def sector_id(self) -> str:
        return self.sector or self.client_id


@dataclass(frozen=True)
class SigningKey:
    """A signing key record. The private JWK is sealed; the public JWK is plain JSON."""

    kid: str
    alg: str
    state: KeyState
    public_jwk: str
    sealed_private_jwk: bytes
    created_at: float
    activated_at: float | None = None
    retired_at: float | None = None


@dataclass(frozen=True)
class DataKey:
    """A data-encryption key of the sealing key ring, wrapped by the key-encryption key."""

    key_id: str
    wrapped: bytes
    created_at: float


@dataclass(frozen=True)
class AuditEvent:
    """One row of the hash-chained audit table.

    ``hash = SHA-256(prev_hash || canonical(seq, at, event, fields))``; see
    ``gateway.core.audit``.
    """

    seq: int
    at: float
    event: str
    fields: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AdminInvite:
    """A one-time link that makes whoever signs in through it an admin."""

    digest: str
    created_at: float
    expires_at: float
    note: str = ""
    used_at: float | None = None
    used_by: str | None = None


@dataclass(frozen=True)
class UpstreamIdentity:
    """A person as an upstream provider (ESIA) described them, protocol-neutral.

    ``subject`` is the upstream's stable id (ESIA oid as a string); it never leaves the
    gateway and is stored only as a keyed digest. ``attributes`` is the allow-listed
    personal data (see ``providers.upstream.esia.mapping``).
    """

    provider: str
    subject: str
    account_level: str
    amr: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)
    children: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class AuthContext:
    """How and when the person authenticated (OIDC ``acr``, ``amr``, ``auth_time``)."""

    acr: str
    amr: tuple[str, ...]
    auth_time: int


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated authorization request (after client, redirect_uri, scope and PKCE checks).

    Built by ``gateway.oauth`` and carried by the journey until the login is done; then
    ``gateway.oauth`` resumes it to issue the code. ``params`` are the original request
    parameters (as validated), so the OAuth library can rebuild its request object.
    """

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    state: str | None = None
    nonce: str | None = None
    prompt: tuple[str, ...] = ()
    max_age: int | None = None
    acr_values: tuple[str, ...] = ()
    ui_locales: str | None = None
    login_hint: str | None = None
    id_token_hint_subject: str | None = None
    """Internal subject id that a valid ``id_token_hint`` named (never the raw hint)."""
    resource: tuple[str, ...] = ()
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JourneyOutcome:
    """What a finished login journey hands back to ``gateway.oauth`` to issue a code."""

    subject_id: str
    sid: str
    auth: AuthContext
    granted_scopes: tuple[str, ...]
    acting_for: str | None = None
    """Internal subject id of the child the person acts for (``child`` scope)."""


@dataclass(frozen=True)
class SsoSession:
    """vhod's own browser session (server side, in the ephemeral store).

    ``clients`` lists the relying parties that received tokens in this session, so that
    logout can notify each of them (back-channel logout).
    """

    sid: str
    subject_id: str
    auth: AuthContext
    created_at: float
    last_seen: float
    upstream: str = ""
    clients: tuple[str, ...] = ()


class AccountLevel(enum.StrEnum):
    """How far an upstream account was verified (ESIA: simplified, standard, confirmed;
    ``child`` is ESIA's child account, ``urn:esia:sbj:lvl = KD``)."""

    SIMPLIFIED = "simplified"
    STANDARD = "standard"
    CONFIRMED = "confirmed"
    CHILD = "child"


@dataclass(frozen=True)
class Subject:
    """A person known to vhod (internal id). ``sealed_profile`` is the allow-listed
    profile (names, birth date...) as JSON sealed with context ``subject:<subject_id>``;
    only ``gateway.journey`` opens it."""

    subject_id: str
    created_at: float
    account_level: str
    roles: tuple[str, ...] = ()
    sealed_profile: bytes | None = None
    updated_at: float = 0.0


@dataclass(frozen=True)
class Consent:
    """A person's consent that ``client_id`` receives ``scopes`` (for themselves, or for
    the child ``acting_for``). Remembered for the next login; revocable."""

    consent_id: str
    subject_id: str
    client_id: str
    scopes: tuple[str, ...]
    granted_at: float
    acting_for: str | None = None
    policy_version: str | None = None
    revoked_at: float | None = None
    revoked_reason: str | None = None


@dataclass(frozen=True)
class Grant:
    """One authorization as redeemed at the token endpoint: the family of every token
    issued from one code (access tokens, the refresh-token chain, id tokens).

    Revoking the grant kills the whole family (code replay, refresh-token reuse, logout,
    consent withdrawal). ``sub`` is the pairwise subject identifier the client received;
    it is kept so that an ``id_token_hint`` can be mapped back to ``subject_id``.
    ``expires_at`` bounds the refresh-token family (``refresh_absolute_seconds``).
    """

    grant_id: str
    client_id: str
    subject_id: str
    sub: str
    scopes: tuple[str, ...]
    created_at: float
    expires_at: float
    sid: str | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()
    auth_time: int | None = None
    acting_for: str | None = None
    revoked_at: float | None = None

    @property
    def offline(self) -> bool:
        """Survives the end of the SSO session (``offline_access``)."""
        return "offline_access" in self.scopes

    def link_expiry(self, idle_until: float) -> float:
        """A new refresh token's expiry: its idle expiry, bounded by the family's absolute
        one (RFC 9700 §4.14.2; SECURITY.md T40)."""
        return min(idle_until, self.expires_at)


@dataclass(frozen=True)
class RefreshToken:
    """A refresh token, stored by its keyed digest only; one link of a grant's rotation
    chain (``generation`` counts the links). ``used_at`` is set when it is exchanged."""

    digest: str
    grant_id: str
    client_id: str
    generation: int
    scopes: tuple[str, ...]
    created_at: float
    expires_at: float
    used_at: float | None = None


@dataclass(frozen=True)
class Rotation:
    """The terms of an ordinary refresh-token rotation (RFC 6749 §6; SECURITY.md T36–T41):
    what :meth:`admits` holds of a stored token and its grant before the token may be
    used and ``next_digest`` added as the next link of its chain (:meth:`link`).

    Anything it does not admit — an unknown, used or expired token, another client's, a
    grant revoked, expired or older than the restore cutoff, a scope beyond the token's or
    the client's, a grant that acts for a child (checked against the guardianship) —
    is for the refresh grant's full path to answer (``gateway.oauth.grants.
    refresh_token``)."""

    client_id: str
    client_scopes: frozenset[str]
    requested_scopes: frozenset[str]
    now: float
    cutoff: float
    idle_until: float
    next_digest: str

    def admits(self, token: RefreshToken, grant: Grant | None) -> bool:
        return (
            grant is not None
            and token.used_at is None
            and token.client_id == self.client_id
            and token.expires_at > self.now
            and self.requested_scopes <= set(token.scopes)
            and set(token.scopes) <= self.client_scopes
            and grant.revoked_at is None
            and grant.expires_at > self.now
            and grant.created_at >= self.cutoff
            and grant.acting_for is None
        )

    def link(self, token: RefreshToken, grant: Grant) -> RefreshToken:
        """The next link of ``token``'s chain."""
        return RefreshToken(
            digest=self.next_digest,
            grant_id=token.grant_id,
            client_id=token.client_id,
            generation=token.generation + 1,
            scopes=token.scopes,
            created_at=self.now,
            expires_at=grant.link_expiry(self.idle_until),
        )


@dataclass(frozen=True)
class LogoutDelivery:
    """One pending back-channel logout notification (OIDC Back-Channel Logout 1.0).

    The logout token is signed at each attempt (it lives two minutes), so the row keeps
    only what goes into it: the client, the session id and the pairwise ``sub``.
    """

    delivery_id: str
    client_id: str
    sid: str
    sub: str
    created_at: float
    next_attempt_at: float
    attempts: int = 0
