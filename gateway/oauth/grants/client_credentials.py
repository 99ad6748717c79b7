"""The client credentials grant (RFC 6749 §4.4) for school back-ends: tokens about the
client itself — no refresh token, no id token, scopes limited to the client's
registration (never the person-bound ``openid``/``offline_access``)."""

from __future__ import annotations

from typing import Any
from typing import ClassVar

from authlib.oauth2.rfc6749 import ClientCredentialsGrant

from gateway.core.errors import InvalidScopeError
from gateway.core.types import CLIENT_AUTH_METHODS
from gateway.oauth.adapters import ClientModel
from gateway.oauth.grants.base import PERSON_ONLY_SCOPES
from gateway.oauth.grants.base import context_of


class ClientCredentials(ClientCredentialsGrant):  # type: ignore[misc]
    """RFC 6749 §4.4 for school back-ends: tokens about the client itself."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(CLIENT_AUTH_METHODS)

    def validate_token_request(self) -> None:
        super().validate_token_request()
        client: ClientModel = self.request.client
        requested = self.request.payload.scope
        allowed = [s for s in client.client.scopes if s not in PERSON_ONLY_SCOPES]
        if requested:
            wanted = list(dict.fromkeys(requested.split()))
            if not set(wanted) <= set(allowed):
                raise InvalidScopeError("Scope not registered for client credentials.")
        else:
            wanted = allowed
        self.request.vhod_scopes = tuple(wanted)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        scopes: tuple[str, ...] = self.request.vhod_scopes
        token = self.generate_token(scope=" ".join(scopes), include_refresh_token=False)
        client: ClientModel = self.request.client
        context_of(self).event(
            "token.issued", client_id=client.client_id, grant_type="client_credentials"
        )
        headers: list[tuple[str, str]] = self.TOKEN_RESPONSE_HEADER
        return 200, token, headers
