"""T79: TOTP enrolment on ``/account/factors`` — the key and QR code shown once on a
no-store page, active only after a valid code, sealed at rest, re-enrolment replaces the
old key; then a login asking for ``urn:vhod:acr:esia-mfa`` passes with the app."""

from __future__ import annotations

from typing import Any

import pyotp

from gateway.core.factors import FactorKind
from tests.features.factors_account.conftest import FACTORS
from tests.features.factors_account.conftest import AccountFactors
from tests.helpers.journey import JourneyActions

MFA = "urn:vhod:acr:esia-mfa"


def _totp_rows(services: Any, subject_id: str) -> list[Any]:
    with services.uow() as uow:
        return list(uow.credentials.list_for(subject_id, FactorKind.TOTP))


def test_totp_key_and_qr_shown_once_active_only_after_a_valid_code(
    factors: AccountFactors, services: Any
) -> None:
    factors.sign_in()
    secret, credential_id, page = factors.begin_totp()
    text = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "<svg" in text
    assert "<script" not in text
    assert len(secret) == 32  # 160 bits of base32
    subject_id = factors.subject_id()
    (pending,) = _totp_rows(services, subject_id)
    assert not pending.active
    assert secret.encode() not in pending.sealed  # sealed at rest
    assert "totp" not in factors.enrolled_kinds()

    wrong = factors.confirm_totp(credential_id, "000000")
    assert wrong.status_code == 400
    assert secret[:8] not in wrong.get_data(as_text=True)  # never shown again
    assert not _totp_rows(services, subject_id)[0].active

    done = factors.confirm_totp(credential_id, pyotp.TOTP(secret).at(services.clock.now()))
    assert done.status_code == 303
    assert done.headers["Location"] == f"{FACTORS}?done=totp_added"
    assert factors.enrolled_kinds() == ["totp"]
    assert factors.audit("factor.enrolled")[-1]["factor"] == "totp"
    assert "приложение-аутентификатор" in factors.outbox("email")[0].text
    listing = factors.client.get(FACTORS).get_data(as_text=True)
    assert "Приложение-аутентификатор" in listing
    assert secret[:8] not in listing


def test_reenrolment_replaces_the_old_key(factors: AccountFactors, services: Any) -> None:
    factors.sign_in()
    old_secret = factors.enrol_totp()
    # With a factor enrolled, the next change asks for it first (T84).
    response = factors.post("/totp")
    back = factors.step_up_with_totp(response, old_secret)
    assert back.request.path == FACTORS
    services.clock.advance(30)
    new_secret = factors.enrol_totp()
    assert new_secret != old_secret
    rows = _totp_rows(services, factors.subject_id())
    assert len(rows) == 1
    assert rows[0].active
    assert factors.audit("factor.enrolled")[-1]["replaced"] == 1


def test_login_with_mfa_passes_with_the_enrolled_app(
    factors: AccountFactors, actions: JourneyActions, services: Any
) -> None:
    factors.sign_in()
    secret = factors.enrol_totp()
    services.clock.advance(30)
    page = actions.follow(actions.authorize(client_id="school", acr_values=MFA, prompt="login"))
    page = actions.login_via_fake(response=page) if page.request.path == "/login/fake" else page
    assert page.request.path.endswith("/factor"), page.request.path
    sent = actions.pick_factor(page, "totp")
    answered = actions.follow(actions.answer_factor(sent, factors.totp_code(secret)))
    if answered.status_code == 200 and answered.request.path.endswith("/consent"):
        answered = actions.give_consent(answered)
    assert "code" in actions.redirect_params(answered)
    with services.uow() as uow:
        (row,) = uow.credentials.list_for(factors.subject_id(), FactorKind.TOTP)
    assert row.last_used_at == services.clock.now()
