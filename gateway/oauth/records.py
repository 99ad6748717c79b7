"""What the OAuth provider keeps in the ephemeral store, as plain JSON records.

Every record is stored under the keyed digest of the credential it belongs to
(:func:`gateway.core.ids.keyed_digest`), never under the credential itself, so a dump
of the store lets nobody redeem anything (DESIGN.md "Storage", STYLE.md habit 11):

* ``code`` — :class:`CodeRecord`, consumed atomically at the token endpoint; its
  tombstone keeps the record, so a replay knows which grant to revoke;
* ``at`` — :class:`OpaqueAccessToken` for clients with ``token_format = "opaque"``;
* ``par`` — :class:`PushedRequest` (RFC 9126);
* ``logout`` — :class:`PendingLogout`, a logout waiting for the person's confirmation.

Expiry times are stored as well as enforced by TTL: Redis expires keys by its own clock,
and the records are checked against vhod's clock too (tests move time with
``FixedClock``).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

import orjson

from gateway.core.types import Grant

NS_CODE = "code"
NS_ACCESS_TOKEN = "at"
NS_PAR = "par"
NS_LOGOUT = "logout"
NS_REVOKED_GRANT = "revoked_grant"
NS_REVOKED_JTI = "revoked_jti"
NS_JTI = "client_jti"
NS_CLIENT_AUTH_FAILURES = "client_auth_fail"
NS_CLIENT_AUTH_FAILURES_IP = "client_auth_fail_ip"


def _dumps(data: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON (orjson: the records are written on every token request)."""
    return orjson.dumps(data)


def _loads(raw: bytes) -> dict[str, Any]:
    data = orjson.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("record is not a JSON object")
    return data


@dataclass(frozen=True)
class CodeRecord:
    """An authorization code's grant, bound to its client and redirect URI (RFC 6749
    §4.1.3, §10.5) and to its PKCE challenge (RFC 7636 §4.4)."""

    grant_id: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    subject_id: str
    sid: str
    acr: str
    amr: tuple[str, ...]
    auth_time: int
    issued_at: float
    expires_at: float
    nonce: str | None = None
    acting_for: str | None = None

    def to_bytes(self) -> bytes:
        return _dumps(vars(self))

    @classmethod
    def from_bytes(cls, raw: bytes) -> CodeRecord:
        data = _loads(raw)
        data["scopes"] = tuple(data["scopes"])
        data["amr"] = tuple(data["amr"])
        return cls(**data)

    def grant(self, sub: str, family_expires_at: float) -> Grant:
        """The grant (token family) this code starts."""
        return Grant(
            grant_id=self.grant_id,
            client_id=self.client_id,
            subject_id=self.subject_id,
            sub=sub,
            scopes=self.scopes,
            created_at=self.issued_at,
            expires_at=family_expires_at,
            sid=self.sid,
            acr=self.acr,
            amr=self.amr,
            auth_time=self.auth_time,
            acting_for=self.acting_for,
        )


@dataclass(frozen=True)
class OpaqueAccessToken:
    """An opaque access token's meaning (RFC 7662 §2.2 members plus internal ids)."""

    client_id: str
    scopes: tuple[str, ...]
    sub: str
    aud: str
    iat: int
    exp: int
    jti: str
    grant_id: str | None = None
    subject_id: str | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()
    sid: str | None = None
    act_sub: str | None = None

    def to_bytes(self) -> bytes:
        return _dumps(vars(self))

    @classmethod
    def from_bytes(cls, raw: bytes) -> OpaqueAccessToken:
        data = _loads(raw)
        data["scopes"] = tuple(data["scopes"])
        data["amr"] = tuple(data.get("amr") or ())
        return cls(**data)


@dataclass(frozen=True)
class PushedRequest:
    """A pushed authorization request (RFC 9126 §2): the client it is bound to and the
    validated parameters, in order."""

    client_id: str
    params: tuple[tuple[str, str], ...]
    expires_at: float

    def to_bytes(self) -> bytes:
        return _dumps(
            {
                "client_id": self.client_id,
                "params": [list(p) for p in self.params],
                "expires_at": self.expires_at,
            }
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> PushedRequest:
        data = _loads(raw)
        params = tuple((str(k), str(v)) for k, v in data["params"])
        return cls(client_id=data["client_id"], params=params, expires_at=data["expires_at"])


@dataclass(frozen=True)
class PendingLogout:
    """A logout request waiting for the person's confirmation (RP-Initiated Logout §2)."""

    post_logout_redirect_uri: str | None = None
    state: str | None = None
    client_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return _dumps(vars(self))

    @classmethod
    def from_bytes(cls, raw: bytes) -> PendingLogout:
        return cls(**_loads(raw))


@dataclass(frozen=True)
class Principal:
    """Who a token is about and how they authenticated (Authlib's ``user``)."""

    subject_id: str
    grant_id: str
    sid: str | None
    acr: str | None
    amr: tuple[str, ...]
    auth_time: int | None
    acting_for: str | None = None
    nonce: str | None = None
