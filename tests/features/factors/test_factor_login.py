"""The second factor in the login journey over HTTP (fake upstream, Flask test client):
SECURITY.md L (T73–T76, T83) and M (T85, T89), acr/amr in every token, step-up inside an
SSO session, ``payments`` only at esia-mfa."""

from __future__ import annotations

import re
from typing import Any

import pyotp

from gateway.core.factors import ACR_ESIA
from gateway.core.factors import ACR_ESIA_MFA
from gateway.core.factors import Credential
from gateway.core.factors import FactorKind
from gateway.core.factors import credential_context
from providers.factors.recovery import RecoveryCodes
from providers.factors.senders.outbox import DevOutbox
from providers.factors.totp import TotpFactor
from tests.helpers.journey import hidden_fields
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient

PARENT_PHONE_MASK = "…01"  # the fake persona "parent" has +79001000001


def _outbox(kit: OAuthKit, kind: str | None = None) -> list[Any]:
    return DevOutbox(kit.services.ephemeral, kit.services.clock).messages(kind)


def _factor_page(kit: OAuthKit, rc: RegisteredClient, **overrides: str) -> Any:
    """Authorize and sign in at the fake upstream; the page the browser lands on."""
    first = kit.get_authorize(rc, **overrides)
    page = kit.journey.login_via_fake("parent", response=first)
    assert page.status_code == 200, page.status_code
    assert page.request.path.endswith("/factor"), page.request.path
    return page


def _text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def _audit(kit: OAuthKit, event: str) -> list[dict[str, Any]]:
    with kit.services.uow() as uow:
        return [dict(e.fields) for e in uow.audit.iter_all() if e.event == event]


# ---------------------------------------------------------------- acr / amr


def test_sms_factor_raises_acr_and_amr_in_every_token(
    kit: OAuthKit, school: RegisteredClient
) -> None:
    tokens = kit.login_tokens(school, acr_values=ACR_ESIA_MFA)
    _, id_claims = kit.verify(tokens["id_token"])
    assert id_claims["acr"] == ACR_ESIA_MFA
    assert id_claims["amr"] == ["pwd", "sms", "mfa"]
    _, access = kit.verify(tokens["access_token"])
    assert access["acr"] == ACR_ESIA_MFA
    assert access["amr"] == ["pwd", "sms", "mfa"]
    body = kit.introspect(school, tokens["access_token"]).get_json()
    assert body["active"] is True
    assert body["acr"] == ACR_ESIA_MFA
    assert body["amr"] == ["pwd", "sms", "mfa"]
    assert _audit(kit, "factor.passed")[-1]["factor"] == "sms"


def test_without_a_factor_acr_stays_esia(kit: OAuthKit, school: RegisteredClient) -> None:
    tokens = kit.login_tokens(school)
    _, id_claims = kit.verify(tokens["id_token"])
    assert id_claims["acr"] == ACR_ESIA
    assert id_claims["amr"] == ["pwd"]


def test_payments_is_granted_only_at_esia_mfa(
    local: OAuthKit, local_school: RegisteredClient
) -> None:
    page = _factor_page(local, local_school, scope="openid payments")
    assert "code=" not in _text(page)
    response = _consented(local, local.journey.pass_factor(page, "sms"))
    assert "code=" in response.headers["Location"]
    tokens = local.login_tokens(local_school, scope="openid payments")
    assert "payments" in tokens["scope"].split()
    assert local.verify(tokens["access_token"])[1]["acr"] == ACR_ESIA_MFA


def test_step_up_in_an_sso_session_asks_only_the_factor(
    kit: OAuthKit, school: RegisteredClient
) -> None:
    kit.login_tokens(school)  # signed in at esia level
    first = kit.get_authorize(school, acr_values=ACR_ESIA_MFA)
    page = kit.journey.follow(first)
    assert page.request.path.endswith("/factor"), "the upstream must not be visited again"
    response = kit.journey.pass_factor(page, "sms")
    location = response.headers["Location"]
    assert "code=" in location
    # The SSO session now carries esia-mfa: the next request needing it is served at once.
    again = kit.journey.follow(kit.get_authorize(school, acr_values=ACR_ESIA_MFA))
    assert again.status_code in (302, 303)
    assert "code=" in again.headers["Location"]


def test_email_code(local: OAuthKit, local_school: RegisteredClient) -> None:
    page = _factor_page(local, local_school, acr_values=ACR_ESIA_MFA)
    response = _consented(local, local.journey.pass_factor(page, "email"))
    assert "code=" in response.headers["Location"]
    message = _outbox(local, "email")[0]
    assert message.to == "p…@example.invalid"  # masked
    assert re.search(r"\b\d{6}\b", message.text)


def test_totp_with_a_real_generator(local: OAuthKit, local_school: RegisteredClient) -> None:
    svc = local.services
    totp = TotpFactor(svc.config.totp, svc.ephemeral, svc.sealer, svc.clock)
    subject = _subject_of(local, local_school)
    with svc.uow() as uow:
        offer = totp.begin_enrolment(uow.credentials, subject)
        uow.commit()
    generator = pyotp.TOTP(offer.secret)
    with svc.uow(read_only=True) as uow:
        code = generator.at(svc.clock.now())
        pending = totp.check_enrolment(
            uow.credentials, subject, offer.credential.credential_id, code
        )
    with svc.uow() as uow:
        totp.activate(uow.credentials, pending)
        uow.commit()
    svc.clock.advance(31)
    page = _factor_page(local, local_school, acr_values=ACR_ESIA_MFA)
    assert "Код из приложения-аутентификатора" in _text(page)
    started = local.journey.pick_factor(page, "totp")
    response = local.journey.answer_factor(started, generator.at(svc.clock.now()))
    tokens = local.exchange(local_school, _authorized(local, response))
    assert local.verify(tokens.get_json()["id_token"])[1]["amr"] == ["pwd", "otp", "mfa"]


def test_recovery_code_is_single_use_audited_and_told(
    local: OAuthKit, local_school: RegisteredClient
) -> None:
    svc = local.services
    subject = _subject_of(local, local_school)
    with svc.uow() as uow:
        codes = RecoveryCodes(svc.sealer, svc.pepper, svc.clock).regenerate(
            uow.credentials, subject
        )
        uow.commit()
    page = _factor_page(local, local_school, acr_values=ACR_ESIA_MFA)
    started = local.journey.pick_factor(page, "recovery")
    response = local.journey.answer_factor(started, codes[0])
    assert "code=" in response.headers["Location"]
    assert _audit(local, "factor.recovery_code_used")[-1]["remaining"] == 9
    assert "осталось кодов: 9" in _outbox(local, "email")[0].text
    # The same code again: refused like any wrong code.
    page = _factor_page(local, local_school, prompt="login", acr_values=ACR_ESIA_MFA)
    started = local.journey.pick_factor(page, "recovery")
    again = local.journey.answer_factor(started, codes[0])
    assert again.status_code == 400
    assert "Код не подошёл" in _text(again)


# ---------------------------------------------------------------- T83: no bypass


def test_t83_no_code_without_the_factor(local: OAuthKit, local_school: RegisteredClient) -> None:
    page = _factor_page(local, local_school, acr_values=ACR_ESIA_MFA)
    jid = page.request.path.split("/")[2]
    fields = hidden_fields(_text(page))
    # Straight to the consent form: the journey is not waiting there.
    consent = local.client.post(
        f"/login/{jid}/consent",
        data={"csrf_token": fields["csrf_token"], "step": fields["step"], "decision": "approve"},
    )
    assert consent.status_code == 400
    assert "Location" not in consent.headers
    # An answer before any factor was started is a failure, not a pass.
    blind = local.client.post(
        f"/login/{jid}/factor",
        data={"csrf_token": fields["csrf_token"], "step": fields["step"], "code": "000000"},
    )
    assert blind.status_code in (400, 200)
    assert "Location" not in blind.headers
    # A forged step token is refused.
    forged = local.client.post(
        f"/login/{jid}/factor",
        data={"csrf_token": fields["csrf_token"], "step": "x" * 43, "code": "123456"},
    )
    assert forged.status_code == 400
    assert "Location" not in forged.headers
    # Another browser cannot continue this journey.
    stranger = local.client.application.test_client()
    assert stranger.get(f"/login/{jid}/factor").status_code == 400


def test_t83_prompt_none_never_downgrades(kit: OAuthKit, school: RegisteredClient) -> None:
    kit.login_tokens(school)
    response = kit.get_authorize(school, acr_values=ACR_ESIA_MFA, prompt="none")
    assert "error=interaction_required" in response.headers["Location"]


# ---------------------------------------------------------------- T73–T75: codes


def test_t75_wrong_codes_look_alike_then_the_account_is_locked(
    local: OAuthKit, local_school: RegisteredClient
) -> None:
    page = _factor_page(local, local_school, acr_values=ACR_ESIA_MFA)
    started = local.journey.pick_factor(page, "sms")
    code = local.journey.outbox_code("sms")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    answers = []
    current = started
    for _ in range(5):
        current = local.journey.answer_factor(current, wrong)
        answers.append(current)
    assert [a.status_code for a in answers] == [400] * 5
    assert len({_notice(a) for a in answers}) == 1  # one message for every failure
    locked = local.journey.answer_factor(current, code)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "Location" not in locked.headers


def test_t73_expired_code_is_refused(local: OAuthKit, local_school: RegisteredClient) -> None:
    page = _factor_page(local, local_school, acr_values=ACR_ESIA_MFA)
    started = local.journey.pick_factor(page, "sms")
    code = local.journey.outbox_code("sms")
    local.services.clock.advance(local.services.config.sms.code_ttl_seconds + 1)
    late = local.journey.answer_factor(started, code)
    assert late.status_code == 400
    assert "Location" not in late.headers


def test_t74_resend_kills_the_old_code(local: OAuthKit, local_school: RegisteredClient) -> None:
    page = _factor_page(local, local_school, acr_values=ACR_ESIA_MFA)
    first = local.journey.pick_factor(page, "sms")
    old = local.journey.outbox_code("sms")
    local.services.clock.advance(local.services.config.sms.resend_cooldown_seconds + 1)
    second = local.journey.pick_factor(first, "sms")
    new = local.journey.outbox_code("sms")
    if old == new:  # one chance in a million: nothing to show
        return
    refused = local.journey.answer_factor(second, old)
    assert refused.status_code == 400
    accepted = local.journey.answer_factor(refused, new)
    assert accepted.headers["Location"].endswith("/consent")  # on to the consent page


# ---------------------------------------------------------------- M: SMS pumping


def test_t85_resend_within_the_cooldown_is_429_without_a_send(
    local: OAuthKit, local_school: RegisteredClient
) -> None:
    page = _factor_page(local, local_school, acr_values=ACR_ESIA_MFA)
    first = local.journey.pick_factor(page, "sms")
    assert len(_outbox(local, "sms")) == 1
    again = local.journey.pick_factor(first, "sms")
    assert again.status_code == 429
    assert int(again.headers["Retry-After"]) > 0
    assert len(_outbox(local, "sms")) == 1


def test_t89_code_goes_only_to_the_esia_verified_number(
    local: OAuthKit, local_school: RegisteredClient
) -> None:
    page = _factor_page(local, local_school, acr_values=ACR_ESIA_MFA)
    fields = hidden_fields(_text(page))
    response = local.client.post(
        page.request.path + "/send",
        data={
            "csrf_token": fields["csrf_token"],
            "step": fields["step"],
            "kind": "sms",
            "phone": "+79991112233",
            "to": "+79991112233",
        },
    )
    assert response.status_code == 200
    (message,) = _outbox(local, "sms")
    assert message.to == PARENT_PHONE_MASK


def test_t89_no_send_before_the_esia_step(local: OAuthKit, local_school: RegisteredClient) -> None:
    local.get_authorize(local_school, acr_values=ACR_ESIA_MFA)  # waiting at the upstream
    response = local.client.post(
        "/login/unknown-journey/factor/send", data={"kind": "sms", "step": "x"}
    )
    assert response.status_code in (400, 403)
    assert _outbox(local, "sms") == []


# ---------------------------------------------------------------- T76: the SMS number


def _enrol_phone(local: OAuthKit, subject: str, phone: str) -> None:
    svc = local.services
    with svc.uow() as uow:
        credential_id = "cred-" + phone[-4:]
        uow.credentials.add(
            Credential(
                credential_id=credential_id,
                subject_id=subject,
                kind=FactorKind.SMS,
                label="SMS",
                created_at=svc.clock.now(),
                sealed=svc.sealer.seal(phone.encode(), credential_context(credential_id)),
                active=True,
            )
        )
        uow.commit()


def test_t76_first_sms_enrols_the_number(local: OAuthKit, local_school: RegisteredClient) -> None:
    local.login_tokens(local_school, acr_values=ACR_ESIA_MFA)
    subject = _subject_of(local, local_school)
    with local.services.uow() as uow:
        (enrolled,) = uow.credentials.list_for(subject, FactorKind.SMS)
    opened = local.services.sealer.open(enrolled.sealed, credential_context(enrolled.credential_id))
    assert opened == b"+79001000001"
    assert _audit(local, "factor.phone_enrolled")


def test_t76_a_new_esia_number_with_another_factor_is_not_offered(
    local: OAuthKit, local_school: RegisteredClient
) -> None:
    subject = _subject_of(local, local_school)
    _enrol_phone(local, subject, "+79005550000")  # the number ESIA had before
    svc = local.services
    with svc.uow() as uow:
        RecoveryCodes(svc.sealer, svc.pepper, svc.clock).regenerate(uow.credentials, subject)
        uow.commit()
    page = _factor_page(local, local_school, prompt="login", acr_values=ACR_ESIA_MFA)
    assert 'value="sms"' not in _text(page)
    assert 'value="recovery"' in _text(page)


def test_t76_a_new_esia_number_as_the_only_factor_is_enrolled_and_the_old_one_told(
    local: OAuthKit, local_school: RegisteredClient
) -> None:
    subject = _subject_of(local, local_school)
    _enrol_phone(local, subject, "+79005550000")
    page = _factor_page(local, local_school, prompt="login", acr_values=ACR_ESIA_MFA)
    response = local.journey.pass_factor(page, "sms")
    assert "code=" in response.headers["Location"]
    assert _audit(local, "factor.phone_changed")
    told = [m for m in _outbox(local, "sms") if m.to == "…00"]
    assert told, "the old number hears of the change"
    assert re.search(r"\b\d{6}\b", told[0].text) is None  # never a code to the old number


# ---------------------------------------------------------------- helpers


def _consented(kit: OAuthKit, response: Any) -> Any:
    """Approve the consent page when the journey shows it."""
    if response.status_code == 200 and response.request.path.endswith("/consent"):
        return kit.journey.give_consent(response)
    return response


def _notice(response: Any) -> str:
    found = re.search(r'<p class="notice"[^>]*>(.*?)</p>', _text(response), re.S)
    return found.group(1).strip() if found else ""


def _authorized(kit: OAuthKit, response: Any) -> Any:
    from tests.helpers.oauth import Authorized
    from tests.helpers.oauth import query_of

    location = response.headers["Location"]
    query = query_of(location)
    return Authorized(query["code"][0], kit.verifier, "", "", location)


def _subject_of(kit: OAuthKit, rc: RegisteredClient) -> str:
    """The parent's internal subject id (after a first plain login)."""
    tokens = kit.login_tokens(rc)
    sub = kit.verify(tokens["id_token"])[1]["sub"]
    with kit.services.uow(read_only=True) as uow:
        found = uow.grants.find_subject(rc.client_id, sub)
    assert found is not None
    return found


def test_status_for_the_waiting_page(local: OAuthKit, local_school: RegisteredClient) -> None:
    page = _factor_page(local, local_school, acr_values=ACR_ESIA_MFA)
    status_url = page.request.path + "/status"
    assert local.client.get(status_url).get_json() == {"state": "none"}
    local.journey.pick_factor(page, "sms")
    assert local.client.get(status_url).get_json() == {"state": "pending"}
    stranger = local.client.application.test_client()
    assert stranger.get(status_url).status_code == 400  # another browser learns nothing
