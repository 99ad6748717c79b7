"""``gateway.core.factors``: the amr vocabulary (RFC 8176) and the acr words."""

from __future__ import annotations

import pytest

from gateway.config import schema
from gateway.core.factors import ACR_ESIA
from gateway.core.factors import ACR_ESIA_MFA
from gateway.core.factors import FactorKind
from gateway.core.factors import amr_for
from gateway.core.factors import combine_amr


@pytest.mark.parametrize(
    ("kind", "amr"),
    [("sms", "sms"), ("email", "email"), ("totp", "otp"), ("recovery", "otp"), ("push", "swk")],
)
def test_amr_for_each_kind(kind: str, amr: str) -> None:
    assert amr_for(kind) == amr
    assert amr_for(FactorKind(kind)) == amr


def test_combine_amr_adds_mfa_for_two_distinct_methods() -> None:
    assert combine_amr(["pwd"], ["otp"]) == ("pwd", "otp", "mfa")
    assert combine_amr(["pwd"], []) == ("pwd",)
    assert combine_amr([], ["otp", "otp"]) == ("otp",)
    assert combine_amr(["pwd", "mfa"], ["swk", "otp"]) == ("pwd", "swk", "otp", "mfa")
    assert combine_amr(["sc", "mfa"], []) == ("sc", "mfa")


def test_acr_words_are_shared_with_the_config() -> None:
    assert schema.ACR_ESIA == ACR_ESIA == "urn:vhod:acr:esia"
    assert schema.ACR_ESIA_MFA == ACR_ESIA_MFA == "urn:vhod:acr:esia-mfa"
