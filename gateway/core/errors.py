"""The one error tree of vhod.

Three audiences, as in fosite's ``RFC6749Error``:

* ``description`` — fixed, public, ASCII (RFC 6749 §5.2 restricts ``error_description``
  to ``%x20-21 / %x23-5B / %x5D-7E``);
* ``hint`` — specific, public, ASCII; appended to the description;
* ``debug`` — private; only ever logged, never sent.

Protocol errors are named after their RFC codes. Internal errors (store outage, upstream
failures, replay) are mapped to protocol errors or pages in one place:
``gateway.http.errors``. Raise a new instance every time; never mutate a shared one.
"""

from __future__ import annotations

from collections.abc import Sequence


class GatewayError(Exception):
    """Base of every error vhod raises on purpose."""


# --------------------------------------------------------------------------- protocol


class ProtocolError(GatewayError):
    """An OAuth 2.0 / OpenID Connect error with an RFC error code.

    :param hint: public, specific explanation (ASCII).
    :param debug: private detail for the log only.
    """

    error: str = "server_error"
    status: int = 400
    description: str = "The request could not be processed."

    def __init__(self, hint: str | None = None, *, debug: str | None = None) -> None:
        super().__init__(self.error if hint is None else f"{self.error}: {hint}")
        self.hint = hint
        self.debug = debug

    @property
    def public_description(self) -> str:
        """Description plus hint, safe for ``error_description``."""
        text = self.description if self.hint is None else f"{self.description} {self.hint}"
        return "".join(c if _is_allowed_description_char(c) else " " for c in text)


def _is_allowed_description_char(c: str) -> bool:
    o = ord(c)
    return o in (0x20, 0x21) or 0x23 <= o <= 0x5B or 0x5D <= o <= 0x7E


class InvalidRequestError(ProtocolError):
    error = "invalid_request"
    description = "The request is missing a parameter or is otherwise malformed."


class InvalidClientError(ProtocolError):
    """Client authentication failed (RFC 6749 §5.2: 401 when the client used a header)."""

    error = "invalid_client"
    status = 401
    description = "Client authentication failed."


class InvalidGrantError(ProtocolError):
    error = "invalid_grant"
    description = "The grant is invalid, expired, revoked or was issued to another client."


class UnauthorizedClientError(ProtocolError):
    error = "unauthorized_client"
    description = "The client is not authorized to use this grant type."


class UnsupportedGrantTypeError(ProtocolError):
    error = "unsupported_grant_type"
    description = "The grant type is not supported."


class UnsupportedResponseTypeError(ProtocolError):
    error = "unsupported_response_type"
    description = "The response type is not supported."


class InvalidScopeError(ProtocolError):
    error = "invalid_scope"
    description = "The requested scope is invalid, unknown or not allowed."


class InvalidTargetError(ProtocolError):
    error = "invalid_target"
    description = "The requested resource is invalid or not allowed."


class AccessDeniedError(ProtocolError):
    error = "access_denied"
    status = 403
    description = "The request was denied."


class LoginRequiredError(ProtocolError):
    error = "login_required"
    description = "The user must sign in."


class ConsentRequiredError(ProtocolError):
    error = "consent_required"
    description = "The user must give consent."


class InteractionRequiredError(ProtocolError):
    error = "interaction_required"
    description = "The user must interact with the authorization server."


class InvalidRequestUriError(ProtocolError):
    error = "invalid_request_uri"
    description = "The request_uri is invalid, expired or already used."


class InvalidTokenError(ProtocolError):
    error = "invalid_token"
    status = 401
    description = "The access token is invalid, expired or revoked."


class InsufficientScopeError(ProtocolError):
    error = "insufficient_scope"
    status = 403
    description = "The access token does not carry the required scope."


class UnsupportedTokenTypeError(ProtocolError):
    error = "unsupported_token_type"
    description = "The token type is not supported."


class ServerError(ProtocolError):
    error = "server_error"
    status = 500
    description = "The server encountered an unexpected condition."


class TemporarilyUnavailableError(ProtocolError):
    """RFC 6749 §4.1.2.1: the 503 that can travel through a redirect."""

    error = "temporarily_unavailable"
    status = 503
    description = "The service is temporarily unavailable. Try again later."


class SlowDownError(ProtocolError):
    error = "slow_down"
    status = 429
    description = "Too many requests. Slow down."


# --------------------------------------------------------------------------- internal


class StoreUnavailable(GatewayError):
    """A store (Redis, SQL) could not be reached or failed mid-operation.

    The HTTP layer answers 503 with ``Retry-After``; nothing is half written because
    every durable use case commits once and every ephemeral write is a single command.
    """

    def __init__(self, store: str, debug: str = "") -> None:
        super().__init__(f"{store} store unavailable")
        self.store = store
        self.debug = debug


class ReplayDetected(GatewayError):
    """A one-time item (code, refresh token, step result) was used a second time.

    :param value: what the tombstone remembers of the item (e.g. the grant id), so that
        the caller can revoke what was issued from it.
    """

    def __init__(self, namespace: str, value: bytes = b"") -> None:
        super().__init__(f"replay detected in {namespace}")
        self.namespace = namespace
        self.value = value


class UpstreamError(GatewayError):
    """Base of failures of an upstream identity provider (ESIA)."""

    def __init__(self, reason: str, debug: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.debug = debug


class UpstreamUnavailable(UpstreamError):
    """The upstream timed out, answered 5xx, or its circuit breaker is open."""


class UpstreamDenied(UpstreamError):
    """The person or the upstream refused (cancelled login, unconfirmed account...)."""


class UpstreamProtocolError(UpstreamError):
    """The upstream answered something we cannot accept (bad signature, wrong state...)."""


class JourneyRejected(GatewayError):
    """A login journey cannot be resumed: unknown or expired journey, another browser's
    journey, a missing, foreign or replayed upstream ``state`` (SECURITY.md T90).

    :param reason: a stable code for the log and audit (``state_missing``,
        ``state_replayed``, ``binding_mismatch``...); the person sees one generic page.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"journey rejected: {reason}")
        self.reason = reason


class FactorFailed(GatewayError):
    """A second factor was not passed. Every cause gets the same answer for the user.

    :param reason: a stable code for the log only (``code_mismatch``, ``code_expired``,
        ``code_missing``, ``code_used``, ``code_attempts_exhausted``...); never shown.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RateLimited(GatewayError):
    """Too many attempts; ``retry_after`` seconds until the window resets."""

    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(f"rate limited: {what}")
        self.what = what
        self.retry_after = retry_after


class DestinationRefused(GatewayError):
    """A message may not go to this destination: not a number, not an allowed range
    (``+7 8xx``, premium or shared-cost, foreign), SECURITY.md T87. Nothing was sent.

    :param reason: a stable code for the log (``phone_invalid``, ``phone_not_allowed``).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"destination refused: {reason}")
        self.reason = reason


class NotFound(GatewayError):
    """A record asked for by id does not exist."""


class Conflict(GatewayError):
    """A record with the same identity already exists."""


class ValidationFailed(GatewayError):
    """Input from outside (CLI, admin API, uploaded file) failed validation.

    :param problems: every problem at once, each naming the field.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class ConfigError(ValidationFailed):
    """The configuration is invalid: one line per problem, ``[section] option: problem``."""
