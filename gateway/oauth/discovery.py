"""The OpenID Provider metadata (OIDC Discovery 1.0 §3; RFC 8414 §2).

Every URL is the configured issuer plus a fixed path (never derived from ``Host``;
SECURITY.md T71). What is advertised is exactly what is enforced:

* ``response_types_supported: ["code"]``, ``response_modes_supported: ["query"]``,
  ``grant_types_supported`` without ``implicit``/``password`` (RFC 9700 §2.1.2, §2.4);
* ``code_challenge_methods_supported: ["S256"]`` (RFC 9700 §2.1.1);
* ``authorization_response_iss_parameter_supported: true`` (RFC 9207 §3);
* PAR (RFC 9126 §5) with ``require_pushed_authorization_requests: false`` — it is
  required per client (``require_par``) instead;
* ``request_parameter_supported: false``, ``request_uri_parameter_supported: false``:
  request objects are not supported and ``request_uri`` is accepted only for pushed
  requests (RFC 9126 §4 request URIs are not the OIDC §6.2 kind);
* ``claims_parameter_supported: false``;
* ``subject_types_supported``: ``pairwise`` (or ``public`` when pairwise subjects are
  switched off);
* ID tokens RS256 (default) or ES256, never ``none``;
* RP-initiated and back-channel logout, with ``sid``.
"""

from __future__ import annotations

from typing import Any

from gateway.config.schema import ACR_VALUES
from gateway.config.schema import GatewayConfig
from gateway.core.types import CLIENT_AUTH_METHODS
from gateway.core.types import GRANT_TYPES
from gateway.oauth.clientauth import ASSERTION_ALGS
from gateway.oauth.context import PATH_AUTHORIZE
from gateway.oauth.context import PATH_INTROSPECT
from gateway.oauth.context import PATH_JWKS
from gateway.oauth.context import PATH_LOGOUT
from gateway.oauth.context import PATH_PAR
from gateway.oauth.context import PATH_REVOKE
from gateway.oauth.context import PATH_TOKEN
from gateway.oauth.context import PATH_USERINFO
from gateway.oauth.jose import SIGNING_ALGS

STANDARD_CLAIMS = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid")


def metadata(config: GatewayConfig) -> dict[str, Any]:
    """The discovery document for ``config``."""
    issuer = config.server.issuer
    claims: list[str] = list(STANDARD_CLAIMS)
    for scope in config.scopes.values():
        claims.extend(c for c in scope.claims if c not in claims)
    auth_methods = list(CLIENT_AUTH_METHODS)
    return {
        "issuer": issuer,
        "authorization_endpoint": issuer + PATH_AUTHORIZE,
        "token_endpoint": issuer + PATH_TOKEN,
        "userinfo_endpoint": issuer + PATH_USERINFO,
        "jwks_uri": issuer + PATH_JWKS,
        "pushed_authorization_request_endpoint": issuer + PATH_PAR,
        "require_pushed_authorization_requests": False,
        "introspection_endpoint": issuer + PATH_INTROSPECT,
        "revocation_endpoint": issuer + PATH_REVOKE,
        "end_session_endpoint": issuer + PATH_LOGOUT,
        "scopes_supported": list(config.scopes),
        "claims_supported": claims,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": list(ACR_VALUES),
        "subject_types_supported": ["pairwise" if config.oauth.pairwise_subjects else "public"],
        "id_token_signing_alg_values_supported": list(SIGNING_ALGS),
        "userinfo_signing_alg_values_supported": [],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "authorization_response_iss_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "claims_parameter_supported": False,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
        "ui_locales_supported": ["ru", "en"],
    }
