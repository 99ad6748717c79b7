"""ESIA error codes → our error tree, and the people-facing texts for every reason."""

from __future__ import annotations

import pytest

from gateway.core.errors import UpstreamDenied
from gateway.core.errors import UpstreamError
from gateway.core.errors import UpstreamProtocolError
from gateway.core.errors import UpstreamUnavailable
from providers.upstream.esia.errors import REASONS
from providers.upstream.esia.errors import error_from_esia
from providers.upstream.esia.errors import esia_code
from providers.upstream.esia.errors import messages


@pytest.mark.parametrize(
    ("error", "description", "cls", "reason"),
    [
        ("access_denied", "ESIA-007004: denied", UpstreamDenied, "esia_cancelled"),
        ("access_denied", None, UpstreamDenied, "esia_cancelled"),
        ("access_denied", "ESIA-007055: Вход ...", UpstreamDenied, "esia_unconfirmed_account"),
        ("invalid_request", "ESIA-007046: x", UpstreamDenied, "esia_second_factor_unavailable"),
        ("invalid_scope", "ESIA-007019: x", UpstreamDenied, "esia_no_permission"),
        ("invalid_request", "ESIA-007194: x", UpstreamDenied, "esia_no_permission"),
        ("server_error", "ESIA-007007: x", UpstreamUnavailable, "esia_unavailable"),
        ("temporarily_unavailable", "ESIA-007008: x", UpstreamUnavailable, "esia_unavailable"),
        ("server_error", None, UpstreamUnavailable, "esia_unavailable"),
        (
            "access_denied",
            "ESIA-007053: OAuthErrorEnum.clientSecretWrong",
            UpstreamProtocolError,
            "esia_client_rejected",
        ),
        ("unauthorized_client", "ESIA-007005: x", UpstreamProtocolError, "esia_client_rejected"),
        ("invalid_request", "ESIA-007002: x", UpstreamProtocolError, "esia_client_rejected"),
        ("invalid_request", "ESIA-008010: x", UpstreamProtocolError, "esia_client_rejected"),
        ("invalid_grant", "ESIA-007011: x", UpstreamProtocolError, "esia_code_rejected"),
        ("invalid_request", "ESIA-007015: x", UpstreamProtocolError, "esia_clock_skew"),
        ("invalid_request", "ESIA-007023: x", UpstreamProtocolError, "esia_redirect_uri_rejected"),
        ("invalid_request", "ESIA-007014: x", UpstreamProtocolError, "esia_request_rejected"),
        ("invalid_request", "ESIA-036701: x", UpstreamProtocolError, "esia_request_rejected"),
        ("weird\r\nerror", "no code", UpstreamProtocolError, "esia_request_rejected"),
        (None, None, UpstreamProtocolError, "esia_request_rejected"),
    ],
)
def test_mapping(
    error: str | None, description: str | None, cls: type[UpstreamError], reason: str
) -> None:
    err = error_from_esia(error, description, "authorize")
    assert type(err) is cls
    assert err.reason == reason
    assert "\n" not in err.debug
    assert "Вход" not in err.debug  # ESIA's free text never reaches the log


def test_esia_code() -> None:
    assert esia_code("ESIA-007014: The request doesn't contain [x]") == "007014"
    assert esia_code("nothing") is None
    assert esia_code(None) is None


def test_every_reason_has_ru_and_en_texts() -> None:
    catalogue = messages()
    for lang in ("ru", "en"):
        for reason in REASONS:
            assert catalogue[lang][reason], (lang, reason)
            assert catalogue[lang][f"{reason}_title"], (lang, reason)
    assert "центр" in catalogue["ru"]["esia_unconfirmed_account"]
    assert "service centre" in catalogue["en"]["esia_unconfirmed_account"]
    assert set(catalogue["ru"]) == set(catalogue["en"])
