from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gateway.core.types import AuthContext
from gateway.journey import codec
from gateway.journey.state import Journey
from gateway.journey.state import JourneyState
from providers.upstream.fake import FakeUpstream
from tests.unit.journey.conftest import request_for


def full_request() -> Any:
    req = request_for(
        scopes=("openid", "profile", "email", "diary", "schedule", "homework"),
        prompt=("consent",),
        max_age=3600,
        acr_values=("urn:vhod:acr:esia",),
        ui_locales="ru",
        login_hint="parent",
    )
    params = {
        "response_type": "code",
        "client_id": req.client_id,
        "redirect_uri": req.redirect_uri,
        "scope": " ".join(req.scopes),
        "state": req.state or "",
        "nonce": req.nonce or "",
        "code_challenge": req.code_challenge,
        "code_challenge_method": "S256",
        "prompt": "consent",
        "max_age": "3600",
        "acr_values": "urn:vhod:acr:esia",
        "ui_locales": "ru",
        "login_hint": "parent",
    }
    return replace(req, params=params)


def pending(req: Any) -> Journey:
    return Journey(
        jid="j" * 22,
        binding="b" * 64,
        created_at=1_790_000_000.0,
        request=req,
        state=JourneyState.UPSTREAM_PENDING,
        upstream="fake",
        upstream_state="7a1b9a4e-1f7e-4d44-8f0e-3a7f6d1c2b3a",
        history=(JourneyState.STARTED,),
    )


def test_round_trip_while_waiting_for_upstream(services: Any) -> None:
    journey = pending(full_request())
    sealed = codec.encode(journey, services.sealer)
    assert codec.decode(sealed, journey.jid, services.sealer) == journey


def test_journey_waiting_for_upstream_stays_under_2_kb(services: Any) -> None:
    sealed = codec.encode(pending(full_request()), services.sealer)
    assert len(sealed) <= codec.MAX_PENDING_BYTES


def test_round_trip_with_identity(services: Any, fake: FakeUpstream) -> None:
    journey = replace(
        pending(request_for()).advance(JourneyState.UPSTREAM_DONE),
        identity=fake.identity("parent"),
        subject_id="s1",
        auth=AuthContext("urn:vhod:acr:esia", ("pwd",), 1_790_000_000),
        fresh_login=True,
        consent_given=True,
        ready=True,
    )
    sealed = codec.encode(journey, services.sealer)
    assert codec.decode(sealed, journey.jid, services.sealer) == journey


def test_personal_data_is_not_readable_in_the_stored_bytes(
    services: Any, fake: FakeUpstream
) -> None:
    journey = replace(pending(request_for()), identity=fake.identity("parent"))
    sealed = codec.encode(journey, services.sealer)
    for value in ("Тестова", "Анна", "fake-1000001", "parent@example.invalid"):
        assert value.encode() not in sealed


def test_other_journey_id_or_tampering_does_not_open(services: Any) -> None:
    journey = pending(request_for())
    sealed = codec.encode(journey, services.sealer)
    with pytest.raises(codec.JourneyDecodeError):
        codec.decode(sealed, "another-journey-id", services.sealer)
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(codec.JourneyDecodeError):
        codec.decode(tampered, journey.jid, services.sealer)
    other_context = services.sealer.seal(b"{}", "not-journey")
    with pytest.raises(codec.JourneyDecodeError):
        codec.decode(other_context, journey.jid, services.sealer)
