"""ESIA's answers and our own checks → vhod's upstream error tree, by reason code.

ESIA reports errors two ways (ESIA.md §7): at the authorize endpoint as a redirect to our
callback with ``error``, ``error_description=ESIA-NNNNNN: text`` and ``state``; at the token
endpoint as HTTP 400 JSON ``{"error", "error_description", "state"}``. The six-digit code
decides; the ``error`` string only when there is no code.

* ``UpstreamDenied`` (the person or ESIA refused):

  - ``esia_cancelled``: 007004, or ``access_denied`` without a code (the person pressed
    "cancel" or refused consent);
  - ``esia_unconfirmed_account``: 007055 (login with an unconfirmed account);
  - ``esia_second_factor_unavailable``: 007046 (2FA required but not possible);
  - ``esia_no_permission``: 007019, 007060–007062, 007194 (no permission, role, user type).

* ``UpstreamUnavailable`` (try again later; counts against the circuit breaker):

  - ``esia_unavailable``: 007007, 007008, HTTP 5xx, ``server_error`` /
    ``temporarily_unavailable`` without a code, connection failures;
  - ``esia_timeout``: no answer within the configured timeout;
  - ``esia_circuit_open``: the breaker is open after repeated failures (no request sent).

* ``UpstreamProtocolError`` (our configuration or ESIA's answer is wrong):

  - ``esia_client_rejected``: 007002, 007005, 007053, 008010 (certificate, signature,
    ``client_certificate_hash`` or mnemonic not accepted);
  - ``esia_code_rejected``: 007011, 007012 (code invalid, expired or reused);
  - ``esia_clock_skew``: 007015 (``timestamp`` outside ESIA's window);
  - ``esia_redirect_uri_rejected``: 007023;
  - ``esia_request_rejected``: any other ESIA code (0070xx, 0367xx) or error.

Our own checks raise ``UpstreamProtocolError`` with ``esia_state_mismatch``,
``esia_token_invalid``, ``esia_bad_response``; an open circuit breaker raises
``UpstreamUnavailable("esia_circuit_open")``.

The reason is public (the HTTP layer renders a page from it, see ``messages.toml``); the
``debug`` text is for the log only and carries codes, never ESIA's free text, which may
echo request data.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from gateway.core.errors import UpstreamDenied
from gateway.core.errors import UpstreamError
from gateway.core.errors import UpstreamProtocolError
from gateway.core.errors import UpstreamUnavailable
from providers.messages import load_messages

__all__ = [
    "REASONS",
    "error_from_esia",
    "esia_code",
    "messages",
]

ESIA_CANCELLED = "esia_cancelled"
ESIA_UNCONFIRMED_ACCOUNT = "esia_unconfirmed_account"
ESIA_SECOND_FACTOR_UNAVAILABLE = "esia_second_factor_unavailable"
ESIA_NO_PERMISSION = "esia_no_permission"
ESIA_UNAVAILABLE = "esia_unavailable"
ESIA_TIMEOUT = "esia_timeout"
ESIA_CIRCUIT_OPEN = "esia_circuit_open"
ESIA_CLIENT_REJECTED = "esia_client_rejected"
ESIA_CODE_REJECTED = "esia_code_rejected"
ESIA_CLOCK_SKEW = "esia_clock_skew"
ESIA_REDIRECT_URI_REJECTED = "esia_redirect_uri_rejected"
ESIA_REQUEST_REJECTED = "esia_request_rejected"
ESIA_STATE_MISMATCH = "esia_state_mismatch"
ESIA_TOKEN_INVALID = "esia_token_invalid"
ESIA_BAD_RESPONSE = "esia_bad_response"

REASONS = (
    ESIA_CANCELLED,
    ESIA_UNCONFIRMED_ACCOUNT,
    ESIA_SECOND_FACTOR_UNAVAILABLE,
    ESIA_NO_PERMISSION,
    ESIA_UNAVAILABLE,
    ESIA_TIMEOUT,
    ESIA_CIRCUIT_OPEN,
    ESIA_CLIENT_REJECTED,
    ESIA_CODE_REJECTED,
    ESIA_CLOCK_SKEW,
    ESIA_REDIRECT_URI_REJECTED,
    ESIA_REQUEST_REJECTED,
    ESIA_STATE_MISMATCH,
    ESIA_TOKEN_INVALID,
    ESIA_BAD_RESPONSE,
)
"""Every reason code this package raises; ``messages.toml`` has a text for each."""

_CODE = re.compile(r"ESIA-(\d{6})")

_BY_CODE: dict[str, tuple[type[UpstreamError], str]] = {
    "007004": (UpstreamDenied, ESIA_CANCELLED),
    "007055": (UpstreamDenied, ESIA_UNCONFIRMED_ACCOUNT),
    "007046": (UpstreamDenied, ESIA_SECOND_FACTOR_UNAVAILABLE),
    "007019": (UpstreamDenied, ESIA_NO_PERMISSION),
    "007060": (UpstreamDenied, ESIA_NO_PERMISSION),
    "007061": (UpstreamDenied, ESIA_NO_PERMISSION),
    "007062": (UpstreamDenied, ESIA_NO_PERMISSION),
    "007194": (UpstreamDenied, ESIA_NO_PERMISSION),
    "007007": (UpstreamUnavailable, ESIA_UNAVAILABLE),
    "007008": (UpstreamUnavailable, ESIA_UNAVAILABLE),
    "007002": (UpstreamProtocolError, ESIA_CLIENT_REJECTED),
    "007005": (UpstreamProtocolError, ESIA_CLIENT_REJECTED),
    "007053": (UpstreamProtocolError, ESIA_CLIENT_REJECTED),
    "008010": (UpstreamProtocolError, ESIA_CLIENT_REJECTED),
    "007011": (UpstreamProtocolError, ESIA_CODE_REJECTED),
    "007012": (UpstreamProtocolError, ESIA_CODE_REJECTED),
    "007015": (UpstreamProtocolError, ESIA_CLOCK_SKEW),
    "007023": (UpstreamProtocolError, ESIA_REDIRECT_URI_REJECTED),
}

_BY_ERROR: dict[str, tuple[type[UpstreamError], str]] = {
    "access_denied": (UpstreamDenied, ESIA_CANCELLED),
    "server_error": (UpstreamUnavailable, ESIA_UNAVAILABLE),
    "temporarily_unavailable": (UpstreamUnavailable, ESIA_UNAVAILABLE),
}

# Codes that, per the circuit breaker, say "ESIA is unwell" rather than "this request".
UNAVAILABLE_CODES = frozenset({"007007", "007008"})


def esia_code(description: str | None) -> str | None:
    """The six-digit ``ESIA-NNNNNN`` code of an ``error_description``, if any."""
    if not description:
        return None
    match = _CODE.search(description)
    return match.group(1) if match else None


def error_from_esia(error: str | None, description: str | None, where: str) -> UpstreamError:
    """The vhod error for an ESIA error answer (ESIA.md §7).

    :param error: the OAuth ``error`` value (``access_denied``, ``invalid_request``…).
    :param description: ``error_description``, usually ``ESIA-NNNNNN: text``.
    :param where: ``"authorize"`` or ``"token"`` (only for the debug text).
    :returns: an exception to raise; its ``reason`` is public, its ``debug`` names the
        endpoint, the ``error`` value and the ESIA code only.
    """
    code = esia_code(description)
    safe_error = error if error and re.fullmatch(r"[a-z_]{1,40}", error) else "?"
    debug = f"{where}: error={safe_error} code={code or '-'}"
    if code is not None and code in _BY_CODE:
        cls, reason = _BY_CODE[code]
    elif code is not None:
        cls, reason = UpstreamProtocolError, ESIA_REQUEST_REJECTED
    elif error is not None and error in _BY_ERROR:
        cls, reason = _BY_ERROR[error]
    else:
        cls, reason = UpstreamProtocolError, ESIA_REQUEST_REJECTED
    return cls(reason, debug)


@cache
def messages() -> dict[str, dict[str, str]]:
    """The people-facing texts per reason, ``{"ru": {...}, "en": {...}}``.

    Keys are ``<reason>`` (the explanation) and ``<reason>_title``; the HTTP layer merges
    them into its catalogue (``gateway.http.i18n.register_messages``).
    """
    return load_messages(Path(__file__).parent / "messages.toml")
