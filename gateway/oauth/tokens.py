"""Issuing and checking tokens: id tokens, access tokens (RFC 9068 JWT or opaque),
refresh tokens, logout tokens; pairwise subjects; revocation markers.

**Subjects.** ``sub`` is never the internal subject id: it is a keyed digest of (sector,
subject id) under the server pepper — pairwise per client sector (OIDC Core §8.1; the
client's ``sector`` groups clients that may correlate, by default a sector per client),
or one value for all clients when ``oauth.pairwise_subjects`` is off ("public").
Stable for as long as the pepper is; the pepper must never be rotated.

**Acting for a child** (issue 11 item 5): every token of a grant that acts for a child —
ID token, access token, and what userinfo and introspection answer — has ``sub`` = the
child's pairwise id for the client and ``act`` = ``{"sub": <the person's pairwise id>}``
(:meth:`TokenService.token_subject`).

**Access tokens** (RFC 9068 §2): header ``typ: at+jwt``, ``kid``; claims ``iss, sub, aud,
exp, iat, jti, client_id, scope`` and, for a person, ``auth_time, acr, amr, sid`` and
``act`` (RFC 8693 §4.1) when a parent acts for a child — then ``sub`` is the child's
pairwise id and ``act.sub`` the parent's. ``aud`` is the client's registered resource,
else the client id. ``gid`` names the grant (a random id, not personal data) so that
userinfo and introspection can refuse tokens of a revoked grant. No personal data beyond
``sub`` (SECURITY.md T98). Opaque tokens carry the same facts in the ephemeral store under
the token's keyed digest. Client-credentials tokens have ``sub`` = client id (RFC 9068
§2.2) and no person claims.

**Revocation markers** (ephemeral store): a revoked grant id lives in ``revoked_grant``
for as long as any access token of it can (``access_token_ttl + leeway``); a revoked JWT
access token's ``jti`` in ``revoked_jti`` until its ``exp``. Refresh tokens are checked
against the durable ``grants`` table instead.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.config.schema import OAuthSettings
from gateway.core.errors import StoreUnavailable
from gateway.core.ids import keyed_digest
from gateway.core.ids import new_code
from gateway.core.ids import new_id
from gateway.core.ids import subject_digest
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import GrantRevoker
from gateway.core.ports import RestoreEpoch
from gateway.core.types import Client
from gateway.core.types import TokenFormat
from gateway.oauth.deferred import StaleAuthentication
from gateway.oauth.deferred import pending
from gateway.oauth.jose import TYP_ACCESS_TOKEN
from gateway.oauth.jose import TYP_ID_TOKEN
from gateway.oauth.jose import TYP_LOGOUT_TOKEN
from gateway.oauth.jose import InvalidJwt
from gateway.oauth.jose import Jose
from gateway.oauth.jose import looks_like_jwt
from gateway.oauth.records import NS_ACCESS_TOKEN
from gateway.oauth.records import NS_REVOKED_GRANT
from gateway.oauth.records import NS_REVOKED_JTI
from gateway.oauth.records import OpaqueAccessToken
from gateway.oauth.records import Principal

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TTL_SECONDS = 120
"""``exp`` of a logout token (OIDC Back-Channel Logout §2.4; ≤ 2 min [POLICY])."""

DIGEST_CODE = "code"
DIGEST_ACCESS_TOKEN = "access_token"
DIGEST_REFRESH_TOKEN = "refresh_token"
DIGEST_PAR = "request_uri"
DIGEST_PAIRWISE = "pairwise"
PUBLIC_SECTOR = "\x00public"


@dataclass(frozen=True)
class AccessTokenInfo:
    """A valid access token's meaning (for userinfo and introspection)."""

    client_id: str
    scopes: tuple[str, ...]
    sub: str
    aud: str | list[str]
    iat: int
    exp: int
    jti: str
    grant_id: str | None
    subject_id: str | None
    """Internal subject id: known for opaque tokens; for JWTs look up ``grant_id``."""
    claims: dict[str, Any]
    """The claims as issued (JWT payload or the opaque record's equivalent)."""


class GrantRevocationMarks:
    """The ``revoked_grant`` markers alone: the :class:`gateway.core.ports.GrantRevoker`
    that other use cases (consent withdrawal) get, with nothing but the ephemeral store.

    A marker lives as long as any access token of the grant can (``access_token_ttl +
    leeway``, plus the code lifetime for a grant revoked by a code replay before its
    tokens were issued).
    """

    def __init__(self, ephemeral: EphemeralStore, settings: OAuthSettings) -> None:
        self._ephemeral = ephemeral
        self._ttl = (
            settings.access_token_ttl_seconds + settings.leeway_seconds + settings.code_ttl_seconds
        )

    def mark_grant_revoked(self, grant_id: str) -> None:
        self._ephemeral.put(NS_REVOKED_GRANT, grant_id, b"1", self._ttl)

    def is_grant_revoked(self, grant_id: str) -> bool:
        return self._ephemeral.get(NS_REVOKED_GRANT, grant_id) is not None


class TokenService:
    """Mint and check tokens with vhod's keys and clock."""

    def __init__(
        self,
        *,
        issuer: str,
        settings: OAuthSettings,
        clock: Clock,
        ephemeral: EphemeralStore,
        jose: Jose,
        pepper: bytes,
        restore_epoch: RestoreEpoch | None = None,
    ) -> None:
        self.issuer = issuer
        self._settings = settings
        self._clock = clock
        self._ephemeral = ephemeral
        self._jose = jose
        self._pepper = pepper
        self._marks = GrantRevocationMarks(ephemeral, settings)
        self._restore_epoch = restore_epoch

    # ------------------------------------------------------------------ identifiers

    def digest(self, purpose: str, value: str) -> str:
        """The keyed digest a credential is stored under."""
        return keyed_digest(self._pepper, purpose, value)

    def subject(self, client: Client, subject_id: str) -> str:
        """The ``sub`` value ``client`` sees for ``subject_id`` (OIDC Core §8.1)."""
        sector = client.sector_id if self._settings.pairwise_subjects else PUBLIC_SECTOR
        return keyed_digest(self._pepper, DIGEST_PAIRWISE, f"{sector}\x00{subject_id}")

    def token_subject(self, client: Client, principal: Principal) -> tuple[str, dict[str, str]]:
        """``sub`` of a person's tokens and their ``act`` (RFC 8693 §4.1): the person's
        pairwise id and no ``act``; acting for a child, the child's pairwise id and
        ``{"sub": <the person's pairwise id>}``."""
        own = self.subject(client, principal.subject_id)
        if principal.acting_for:
            return self.subject(client, principal.acting_for), {"sub": own}
        return own, {}

    def audit_subject(self, subject_id: str) -> str:
        """How a subject appears in audit events (``gateway.core.ids.subject_digest``)."""
        return subject_digest(self._pepper, subject_id)

    def audience(self, client: Client) -> str:
        """``aud`` of the client's access tokens: its registered resource, else its id."""
        return client.resource or client.client_id

    # ------------------------------------------------------------------ issuing

    def access_token(
        self,
        client: Client,
        scopes: tuple[str, ...],
        principal: Principal | None,
        audience: str | None = None,
    ) -> tuple[str, int]:
        """A new access token and its lifetime in seconds.

        :param principal: the person (authorization code, refresh, token exchange) or
            ``None`` (client credentials).
        :param audience: ``aud`` (a token exchange's checked ``resource``/``audience``);
            by default :meth:`audience`.
        """
        now = int(self._clock.now())
        ttl = self._settings.access_token_ttl_seconds
        jti = new_id()
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": client.client_id,
            "aud": audience or self.audience(client),
            "client_id": client.client_id,
            "scope": " ".join(scopes),
            "iat": now,
            "exp": now + ttl,
            "jti": jti,
        }
        if principal is not None:
            claims.update(self._person_claims(client, principal))
        if client.token_format is TokenFormat.OPAQUE:
            token = new_code()
            record = OpaqueAccessToken(
                client_id=client.client_id,
                scopes=scopes,
                sub=claims["sub"],
                aud=claims["aud"],
                iat=now,
                exp=now + ttl,
                jti=jti,
                grant_id=principal.grant_id if principal else None,
                subject_id=principal.subject_id if principal else None,
                acr=claims.get("acr"),
                amr=tuple(claims.get("amr", ())),
                sid=claims.get("sid"),
                act_sub=claims["act"]["sub"] if "act" in claims else None,
            )
            self._store_opaque(token, record.to_bytes(), ttl + self._settings.leeway_seconds)
            return token, ttl
        return self._jose.sign(claims, client.access_token_alg, TYP_ACCESS_TOKEN), ttl

    def _store_opaque(self, token: str, record: bytes, ttl: int) -> None:
        """Store an opaque token's record; with a deferred check pending, check it in the
        same round trip (``gateway.oauth.deferred``) and take the record back when it
        fails."""
        key = self.digest(DIGEST_ACCESS_TOKEN, token)
        check = pending()
        if check is None:
            self._ephemeral.put(NS_ACCESS_TOKEN, key, record, ttl)
            return
        values = self._ephemeral.put_and_get_many((NS_ACCESS_TOKEN, key, record, ttl), check.keys)
        check.settled = True
        if not check.accept(values):
            with contextlib.suppress(StoreUnavailable):  # unknown outside this process
                self._ephemeral.delete(NS_ACCESS_TOKEN, key)
            raise StaleAuthentication()

    def _person_claims(self, client: Client, principal: Principal) -> dict[str, Any]:
        claims: dict[str, Any] = {"gid": principal.grant_id}
        claims["sub"], act = self.token_subject(client, principal)
        if act:
            claims["act"] = act
        add_login_claims(claims, principal)
        return claims

    def id_token(
        self,
        client: Client,
        principal: Principal,
        *,
        nonce: str | None,
        access_token: str | None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """An ID token (OIDC Core §2, §3.1.3.6): ``iss sub aud exp iat auth_time nonce acr
        amr sid azp at_hash``; ``sub`` is the authenticated person's pairwise id — acting
        for a child, the child's, with ``act.sub`` the person's (RFC 8693 §4.1).

        :param extra: claims of granted scopes that belong in the ID token (``children``).
        """
        now = int(self._clock.now())
        sub, act = self.token_subject(client, principal)
        claims: dict[str, Any] = {
            **(extra or {}),
            "iss": self.issuer,
            "sub": sub,
            "aud": client.client_id,
            "azp": client.client_id,
            "iat": now,
            "exp": now + self._settings.id_token_ttl_seconds,
        }
        if act:
            claims["act"] = act
        add_login_claims(claims, principal)
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["at_hash"] = half_hash(access_token)
        return self._jose.sign(claims, client.id_token_alg, TYP_ID_TOKEN)

    def refresh_token(self) -> tuple[str, str]:
        """A new refresh token (256 bits) and the digest it is stored under."""
        token = new_code()
        return token, self.digest(DIGEST_REFRESH_TOKEN, token)

    def logout_token(self, client: Client, sid: str, sub: str) -> str:
        """A logout token (OIDC Back-Channel Logout §2.4): ``typ: logout+jwt``, ``iss aud
        iat exp jti events sid sub``, never ``nonce``."""
        now = int(self._clock.now())
        claims = {
            "iss": self.issuer,
            "aud": client.client_id,
            "iat": now,
            "exp": now + LOGOUT_TOKEN_TTL_SECONDS,
            "jti": new_id(),
            "events": {BACKCHANNEL_EVENT: {}},
            "sid": sid,
            "sub": sub,
        }
        return self._jose.sign(claims, client.id_token_alg, TYP_LOGOUT_TOKEN)

    # ------------------------------------------------------------------ checking

    def opaque_key(self, token: str) -> tuple[str, str] | None:
        """Where an opaque access token's record is stored (``None`` for a JWT or a value
        that cannot be a token): for a use case that reads it ahead."""
        if not token or len(token) > 8192 or looks_like_jwt(token):
            return None
        return NS_ACCESS_TOKEN, self.digest(DIGEST_ACCESS_TOKEN, token)

    def check_access_token(
        self, token: str, read: Callable[[str, str], bytes | None] | None = None
    ) -> AccessTokenInfo | None:
        """The token's meaning, or ``None`` when it is unknown, badly signed, of another
        type, expired (beyond ``leeway_seconds``; RFC 7519 §4.1.4) or revoked.

        :param read: how to read the opaque token's record (the introspection endpoint's
            read ahead; by default the ephemeral store).
        """
        if not token or len(token) > 8192:
            return None
        jwt = looks_like_jwt(token)
        info = self._check_jwt(token) if jwt else self._check_opaque(token, read)
        if info is None:
            return None
        if info.exp + self._settings.leeway_seconds < self._clock.now():
            return None
        if info.grant_id is not None and self.is_grant_revoked(info.grant_id):
            return None
        if self.predates_restore(info.iat):
            return None
        # A revoked JWT is remembered by its jti; a revoked opaque token has no record.
        if jwt and self._ephemeral.get(NS_REVOKED_JTI, info.jti) is not None:
            return None
        return info

    def _check_jwt(self, token: str) -> AccessTokenInfo | None:
        try:
            _header, claims = self._jose.verify(token, (TYP_ACCESS_TOKEN,))
        except InvalidJwt:
            return None
        try:
            info = AccessTokenInfo(
                client_id=str(claims["client_id"]),
                scopes=tuple(str(claims.get("scope", "")).split()),
                sub=str(claims["sub"]),
                aud=claims["aud"],
                iat=int(claims["iat"]),
                exp=int(claims["exp"]),
                jti=str(claims["jti"]),
                grant_id=str(claims["gid"]) if "gid" in claims else None,
                subject_id=None,
                claims=claims,
            )
        except (KeyError, TypeError, ValueError):
            return None
        if claims.get("iss") != self.issuer:
            return None
        return info

    def _check_opaque(
        self, token: str, read: Callable[[str, str], bytes | None] | None
    ) -> AccessTokenInfo | None:
        raw = (read or self._ephemeral.get)(
            NS_ACCESS_TOKEN, self.digest(DIGEST_ACCESS_TOKEN, token)
        )
        if raw is None:
            return None
        record = OpaqueAccessToken.from_bytes(raw)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": record.sub,
            "aud": record.aud,
            "client_id": record.client_id,
            "scope": " ".join(record.scopes),
            "iat": record.iat,
            "exp": record.exp,
            "jti": record.jti,
        }
        for name, value in (("acr", record.acr), ("sid", record.sid)):
            if value:
                claims[name] = value
        if record.amr:
            claims["amr"] = list(record.amr)
        if record.act_sub:
            claims["act"] = {"sub": record.act_sub}
        return AccessTokenInfo(
            client_id=record.client_id,
            scopes=record.scopes,
            sub=record.sub,
            aud=record.aud,
            iat=record.iat,
            exp=record.exp,
            jti=record.jti,
            grant_id=record.grant_id,
            subject_id=record.subject_id,
            claims=claims,
        )

    # ------------------------------------------------------------------ revocation

    def mark_grant_revoked(self, grant_id: str) -> None:
        """Make every access token of the grant fail at userinfo and introspection."""
        self._marks.mark_grant_revoked(grant_id)

    def is_grant_revoked(self, grant_id: str) -> bool:
        return self._marks.is_grant_revoked(grant_id)

    def predates_restore(self, issued_at: float) -> bool:
        """Issued before the last database restore (``vhod db restored``; R15): dead."""
        return issued_at < self.restore_cutoff()

    def restore_cutoff(self) -> float:
        """What was issued before this is dead (R15; 0 when no restore happened). Read
        it before a transaction: on the embedded default it may read the ephemeral store,
        i.e. take a second database connection."""
        return 0.0 if self._restore_epoch is None else self._restore_epoch.not_before()

    def revoke_access_token(self, info: AccessTokenInfo, token: str) -> None:
        """Revoke one access token (RFC 7009 §2.1): an opaque token's record is deleted
        (one atomic step: the token is unknown from then on); a JWT's ``jti`` is remembered
        until the token expires."""
        if not looks_like_jwt(token):
            self._ephemeral.delete(NS_ACCESS_TOKEN, self.digest(DIGEST_ACCESS_TOKEN, token))
            return
        ttl = max(1, int(info.exp + self._settings.leeway_seconds - self._clock.now()) + 1)
        self._ephemeral.put(NS_REVOKED_JTI, info.jti, b"1", ttl)

    def peek_other_jwt(self, token: str) -> str | None:
        """``"id_token"`` or ``"logout_token"`` when ``token`` is one of ours of that kind
        (signature checked; expiry not), else ``None`` — for RFC 7009
        ``unsupported_token_type``."""
        if not looks_like_jwt(token):
            return None
        for typ, name in ((TYP_ID_TOKEN, "id_token"), (TYP_LOGOUT_TOKEN, "logout_token")):
            try:
                self._jose.verify(token, (typ,))
            except InvalidJwt:
                continue
            return name
        return None

    def verify_id_token(self, token: str) -> dict[str, Any]:
        """The claims of an ID token we issued — expired ones included (OIDC Core
        §3.1.2.1 ``id_token_hint``; RP-Initiated Logout §2).

        :raises InvalidJwt: not ours, not an ID token, or malformed claims.
        """
        _header, claims = self._jose.verify(token, (TYP_ID_TOKEN,))
        if claims.get("iss") != self.issuer or "events" in claims:
            raise InvalidJwt("not an id token of this issuer")
        if not isinstance(claims.get("sub"), str) or not claims.get("aud"):
            raise InvalidJwt("malformed id token")
        return claims


def add_login_claims(claims: dict[str, Any], principal: Principal) -> None:
    """Add how the person signed in — ``auth_time``, ``acr``, ``amr``, ``sid`` — to the
    claims of an access token (RFC 9068 §2.2.1) or an ID token (OIDC Core §2; Front- and
    Back-Channel Logout ``sid``): the same claims, from the same login, in both. Claims
    the login does not have are left out rather than sent empty."""
    if principal.auth_time is not None:
        claims["auth_time"] = principal.auth_time
    if principal.acr:
        claims["acr"] = principal.acr
    if principal.amr:
        claims["amr"] = list(principal.amr)
    if principal.sid:
        claims["sid"] = principal.sid


def half_hash(value: str) -> str:
    """``at_hash`` (OIDC Core §3.1.3.6): left half of SHA-256, base64url (RS256, ES256)."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def audiences(claims: dict[str, Any]) -> list[str]:
    """``aud`` as a list (RFC 7519 §4.1.3 allows a string or an array)."""
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []


_: type[GrantRevoker] = GrantRevocationMarks
