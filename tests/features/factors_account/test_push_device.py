"""Push devices: enrolment from ``/account/factors`` (T84), a login approved with the
number the page shows (T80), a wrong number kills the challenge, and the device
endpoints' JSON refusals (400/403/413/429, never a stack trace)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from providers.factors.device import Device
from providers.factors.device import DeviceRequestFailed
from providers.factors.manage import DEVICE_REQUESTS_PER_MINUTE
from tests.features.factors_account.conftest import FACTORS
from tests.features.factors_account.conftest import AccountFactors
from tests.features.factors_account.conftest import ClientTransport
from tests.features.factors_account.conftest import shown_number
from tests.helpers.journey import JourneyActions

MFA = "urn:vhod:acr:esia-mfa"
ENROL = "/factors/push/enrol"
PENDING = "/factors/push/pending"
ANSWER = "/factors/push/answer"


def _enrolled_device(factors: AccountFactors, device: Device) -> str:
    factors.sign_in()
    page = factors.post("/push")
    text = page.get_data(as_text=True)
    assert "<svg" in text
    assert page.headers["Cache-Control"] == "no-store"
    return device.enrol(factors.push_token(), label="Телефон 1")


def _push_page(actions: JourneyActions) -> Any:
    page = actions.login_via_fake(client_id="school", acr_values=MFA, prompt="login")
    assert page.request.path.endswith("/factor"), page.request.path
    sent = actions.pick_factor(page, "push")
    assert sent.status_code == 200
    return sent


def test_enrolled_device_approves_a_login_with_the_shown_number(
    factors: AccountFactors, actions: JourneyActions, device: Device
) -> None:
    device_id = _enrolled_device(factors, device)
    assert "push" in factors.enrolled_kinds()
    assert factors.audit("factor.enrolled")[-1]["factor"] == "push"
    assert "подключено устройство" in factors.outbox("email")[0].text
    assert "Телефон 1" in factors.client.get(FACTORS).get_data(as_text=True)

    page = _push_page(actions)
    number = shown_number(page)
    (pending,) = device.pending()
    assert "number" not in pending  # the device never learns it
    (pushed,) = factors.outbox("push")  # the dev relay: the challenge id only
    assert pending["challenge_id"][:8] in pushed.text
    assert re.search(rf"\b{number}\b", pushed.text) is None
    waiting = actions.answer_factor(page)
    assert waiting.status_code == 200  # not approved yet: the page asks again
    assert device.approve(number) == "approved"
    answered = actions.follow(actions.answer_factor(waiting))
    if answered.status_code == 200 and answered.request.path.endswith("/consent"):
        answered = actions.give_consent(answered)
    assert "code" in actions.redirect_params(answered)
    with factors.services.uow() as uow:
        credential = uow.credentials.get(device_id)
    assert credential is not None
    assert credential.last_used_at is not None


def test_a_wrong_number_kills_the_challenge(
    factors: AccountFactors, actions: JourneyActions, device: Device
) -> None:
    _enrolled_device(factors, device)
    page = _push_page(actions)
    number = shown_number(page)
    (pending,) = device.pending()
    with pytest.raises(DeviceRequestFailed) as refused:
        device.approve(10 if number != 10 else 11, pending["challenge_id"])
    assert refused.value.status == 403
    with pytest.raises(DeviceRequestFailed):
        device.approve(number, pending["challenge_id"])  # too late: dead
    assert actions.answer_factor(page).status_code == 400


def test_an_enrolment_token_works_once(factors: AccountFactors, app: Any, services: Any) -> None:
    factors.sign_in()
    token = factors.push_token()
    first = Device(_transport(app), clock=services.clock.now)
    first.enrol(token)
    with pytest.raises(DeviceRequestFailed) as refused:
        Device(_transport(app), clock=services.clock.now).enrol(token)
    assert refused.value.status == 403


def _transport(app: Any) -> ClientTransport:
    return ClientTransport(app.test_client())


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        (ENROL, b"not json", 400, "invalid_request"),
        (ENROL, b"[1, 2]", 400, "invalid_request"),
        (ENROL, json.dumps({"public_key": {}}).encode(), 400, "invalid_request"),
        (ENROL, json.dumps({"token": "nope", "public_key": {}}).encode(), 403, "access_denied"),
        (PENDING, json.dumps({"device_id": "x"}).encode(), 400, "invalid_request"),
        (
            PENDING,
            json.dumps(
                {"device_id": "x", "timestamp": 1, "nonce": "n" * 20, "signature": "s"}
            ).encode(),
            403,
            "access_denied",
        ),
        (ANSWER, json.dumps({"device_id": 5}).encode(), 400, "invalid_request"),
        (ENROL, b"{" + b" " * 5000 + b"}", 413, "invalid_request"),
    ],
)
def test_device_endpoints_answer_json_errors(
    client: Any, path: str, body: bytes, status: int, error: str
) -> None:
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == status
    assert response.mimetype == "application/json"
    answer = response.get_json()
    assert answer["error"] == error
    assert answer["error_description"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_bad_key_is_a_bad_request(factors: AccountFactors, client: Any) -> None:
    factors.sign_in()
    token = factors.push_token()
    response = client.post(ENROL, json={"token": token, "public_key": {"kty": "RSA"}, "label": "x"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_device_endpoints_need_no_csrf_but_refuse_get(client: Any) -> None:
    assert client.get(PENDING).status_code == 405


def test_a_device_asking_too_often_is_slowed_down(factors: AccountFactors, device: Device) -> None:
    _enrolled_device(factors, device)
    for _ in range(DEVICE_REQUESTS_PER_MINUTE):
        device.pending()
    with pytest.raises(DeviceRequestFailed) as limited:
        device.pending()
    assert limited.value.status == 429
    response = device._transport.client.post(  # type: ignore[attr-defined]
        PENDING, json={"device_id": device.device_id}
    )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"] == "slow_down"
