"""ESIA's error answers as the sandbox gives them: six-digit codes, descriptions as ESIA
writes them, and the OAuth ``error`` each code goes with (ESIA.md §7)."""

from __future__ import annotations

__all__ = ["ERROR_NAMES", "ESIA_MESSAGES", "EsiaFailure"]

ESIA_MESSAGES = {
    "002000": "Internal error",
    "007002": "The client certificate does not match the mnemonic or is not registered",
    "007003": "The request contains an invalid or repeated parameter",
    "007004": "The resource owner or authorization server denied the request.",
    "007005": "The client is not authorized to request an access token using this method.",
    "007006": "The requested scope is invalid, unknown, or malformed.",
    "007007": "The authorization server encountered an unexpected condition",
    "007008": "The authorization server is currently unable to handle the request",
    "007009": "The authorization server does not support this method",
    "007011": "The provided authorization grant is invalid, expired or revoked",
    "007012": "The authorization grant type is not supported",
    "007013": "The request does not contain the scope",
    "007014": "The request doesn't contain the mandatory parameter",
    "007015": "The request contains a wrong timestamp",
    "007019": "The system has no permission for the requested scope",
    "007023": "The redirect_uri is not registered for the system",
    "007053": "OAuthErrorEnum.clientSecretWrong",
    "007055": "Вход в систему осуществляется с неподтвержденной учетной записью",
}
"""Descriptions as ESIA writes them (English or enum names, ESIA.md §7)."""

ERROR_NAMES = {
    "007004": "access_denied",
    "007005": "unauthorized_client",
    "007006": "invalid_scope",
    "007007": "server_error",
    "007008": "temporarily_unavailable",
    "007009": "unsupported_response_type",
    "007011": "invalid_grant",
    "007012": "unsupported_grant_type",
    "007019": "invalid_scope",
    "007053": "access_denied",
    "007055": "access_denied",
}
"""``error`` per code; the rest is ``invalid_request`` (inferred per RFC 6749, ESIA.md §7)."""


class EsiaFailure(Exception):
    """An ESIA error answer: ``code`` is the six-digit ESIA code."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail

    @property
    def error(self) -> str:
        return ERROR_NAMES.get(self.code, "invalid_request")

    @property
    def description(self) -> str:
        text = ESIA_MESSAGES.get(self.code, "Error")
        if self.detail:
            text = f"{text} [{self.detail}]"
        return f"ESIA-{self.code}: {text}"
