"""Typed adapters between vhod's records and Authlib's model contracts.

Authlib ships no type information, so its classes are ``Any`` to mypy; every subclass
here is a thin, typed shell whose methods call vhod code only (STYLE.md habit 18).

* :class:`VhodOAuth2Request` — an Authlib ``OAuth2Request`` over an
  :class:`~gateway.oauth.context.IncomingRequest` (or stored parameters, to resume an
  authorization request after the login journey), never over ``flask.request``.
* :class:`ClientModel` — ``ClientMixin`` over :class:`gateway.core.types.Client`:
  exact redirect-URI match (RFC 9700 §4.1.3), the one registered authentication method,
  client secrets compared as keyed digests in constant time.
* :class:`CodeModel` and :class:`RefreshTokenModel` — ``AuthorizationCodeMixin`` and
  ``TokenMixin`` over the stored records.
"""

from __future__ import annotations

import hmac
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749 import OAuth2Payload
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749 import TokenMixin

from gateway.core.types import Client
from gateway.core.types import RefreshToken
from gateway.oauth.records import CodeRecord


class _Payload(OAuth2Payload):  # type: ignore[misc]
    """Request parameters: first value of each name (``data``) and all values
    (``datalist``, for the duplicate-parameter checks of RFC 6749 §3.1)."""

    def __init__(self, params: tuple[tuple[str, str], ...]) -> None:
        data: dict[str, str] = {}
        datalist: defaultdict[str, list[str]] = defaultdict(list)
        for name, value in params:
            data.setdefault(name, value)
            datalist[name].append(value)
        self._data = data
        self._datalist = datalist

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class VhodOAuth2Request(OAuth2Request):  # type: ignore[misc]
    """Authlib's request object, built from neutral parameters.

    :param uri: the endpoint URL derived from the configured issuer.
    """

    def __init__(
        self,
        method: str,
        uri: str,
        params: tuple[tuple[str, str], ...],
        *,
        authorization: str | None = None,
        remote_addr: str = "unknown",
    ) -> None:
        headers = {"Authorization": authorization} if authorization else {}
        super().__init__(method, uri, headers=headers)
        self.payload = _Payload(params)
        self.vhod_remote_addr = remote_addr

    @property
    def form(self) -> dict[str, str]:
        data: dict[str, str] = self.payload.data
        return data

    @property
    def args(self) -> dict[str, str]:
        data: dict[str, str] = self.payload.data
        return data


class ClientModel(ClientMixin):  # type: ignore[misc]
    """A registered client as Authlib sees it.

    :param secret_digest: computes the keyed digest of a presented secret.
    """

    def __init__(self, client: Client, secret_digest: Callable[[str], str]) -> None:
        self.client = client
        self._secret_digest = secret_digest

    @property
    def client_id(self) -> str:
        return self.client.client_id

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_default_redirect_uri(self) -> str | None:
        """No default: OIDC Core §3.1.2.1 makes ``redirect_uri`` REQUIRED."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scope when every value is registered for the client, else
        ``None`` (Authlib answers ``invalid_scope``)."""
        if not scope:
            return None
        requested = scope.split()
        if not set(requested) <= set(self.client.scopes):
            return None
        return " ".join(dict.fromkeys(requested))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string comparison, no normalisation (RFC 9700 §4.1.3; RFC 3986 §6.2.1)."""
        return redirect_uri in self.client.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        """Compare keyed digests in constant time (``hmac.compare_digest``)."""
        stored = self.client.secret_digest
        if stored is None:
            return False
        return hmac.compare_digest(self._secret_digest(client_secret), stored)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Only the method the client registered (RFC 7591 ``token_endpoint_auth_method``)
        is accepted, at every endpoint; never ``none`` (no public clients)."""
        del endpoint
        return method == self.client.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.client.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.client.grant_types


class CodeModel(AuthorizationCodeMixin):  # type: ignore[misc]
    """A consumed authorization code's record."""

    def __init__(self, record: CodeRecord) -> None:
        self.record = record

    def get_redirect_uri(self) -> str:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return " ".join(self.record.scopes)

    def get_nonce(self) -> str | None:
        return self.record.nonce

    def get_auth_time(self) -> int:
        return self.record.auth_time

    def get_acr(self) -> str:
        return self.record.acr

    def get_amr(self) -> list[str]:
        return list(self.record.amr)


class RefreshTokenModel(TokenMixin):  # type: ignore[misc]
    """A refresh token being exchanged (already checked against its client)."""

    def __init__(self, token: RefreshToken, now: float) -> None:
        self.token = token
        self._now = now

    def check_client(self, client: Any) -> bool:
        return bool(getattr(client, "client_id", None) == self.token.client_id)

    def get_scope(self) -> str:
        return " ".join(self.token.scopes)

    def get_expires_in(self) -> int:
        return max(0, int(self.token.expires_at - self._now))

    def is_expired(self) -> bool:
        return self.token.expires_at <= self._now

    def is_revoked(self) -> bool:
        return self.token.used_at is not None
