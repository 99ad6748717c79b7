"""Protocol errors the core tree does not name, and the one translation from Authlib.

Authlib raises its own ``OAuth2Error`` classes from inside its grants and endpoints.
They never leave ``gateway.oauth``: :func:`from_authlib` turns each into a new instance
of the matching class of :mod:`gateway.core.errors`. Authlib's description goes to
``debug`` (logged, never sent) because some of its messages quote request input; the
public text is always our fixed ASCII description.
"""

from __future__ import annotations

from typing import Any

from gateway.core.errors import AccessDeniedError
from gateway.core.errors import ConsentRequiredError
from gateway.core.errors import InsufficientScopeError
from gateway.core.errors import InteractionRequiredError
from gateway.core.errors import InvalidClientError
from gateway.core.errors import InvalidGrantError
from gateway.core.errors import InvalidRequestError
from gateway.core.errors import InvalidRequestUriError
from gateway.core.errors import InvalidScopeError
from gateway.core.errors import InvalidTokenError
from gateway.core.errors import LoginRequiredError
from gateway.core.errors import ProtocolError
from gateway.core.errors import ServerError
from gateway.core.errors import UnauthorizedClientError
from gateway.core.errors import UnsupportedGrantTypeError
from gateway.core.errors import UnsupportedResponseTypeError
from gateway.core.errors import UnsupportedTokenTypeError


class RequestNotSupportedError(ProtocolError):
    """OIDC Core §6 / §3.1.2.6: request objects (``request``) are not supported."""

    error = "request_not_supported"
    description = "Request objects are not supported."


class RequestUriNotSupportedError(ProtocolError):
    """OIDC Core §6.2: ``request_uri`` is supported only for pushed requests (RFC 9126)."""

    error = "request_uri_not_supported"
    description = "The request_uri parameter is supported only for pushed requests."


_BY_CODE: dict[str, type[ProtocolError]] = {
    cls.error: cls
    for cls in (
        AccessDeniedError,
        ConsentRequiredError,
        InsufficientScopeError,
        InteractionRequiredError,
        InvalidClientError,
        InvalidGrantError,
        InvalidRequestError,
        InvalidRequestUriError,
        InvalidScopeError,
        InvalidTokenError,
        LoginRequiredError,
        UnauthorizedClientError,
        UnsupportedGrantTypeError,
        UnsupportedResponseTypeError,
        UnsupportedTokenTypeError,
    )
}


def from_authlib(error: Any) -> ProtocolError:
    """A new :class:`ProtocolError` for an Authlib ``OAuth2Error`` (unknown codes:
    ``server_error``)."""
    code = str(getattr(error, "error", "") or "")
    cls = _BY_CODE.get(code, ServerError)
    description = getattr(error, "description", None)
    return cls(debug=f"authlib:{code}:{description}"[:300])
