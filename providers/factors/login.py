"""vhod's second factors behind one port: :class:`LoginFactors` implements
:class:`~gateway.core.factors.SecondFactors` for the login journey's factor step.

What is offered (the factor the person chose on ``/account`` first, then this order:
push and TOTP are not restricted authenticators, SMS is — NIST 800-63B §5.1.3.3,
SECURITY.md T76):

* ``push`` — an enrolled device (:mod:`.push`): the page shows two digits, the device must
  answer with them and its key's signature (T80–T82);
* ``totp`` — an enrolled authenticator app (:mod:`.totp`);
* ``sms`` — a code to the mobile **ESIA verified** (T89). The verified number at first use
  becomes the enrolled number (a ``sms`` credential holding it sealed); a different ESIA
  number later is a new authenticator: while the person has another factor, SMS to the new
  number is offered only after that factor re-authenticated them (then the new number is
  enrolled and the old one told); a person whose only factor was SMS was just re-proofed
  by ESIA, and the new number is enrolled at once — the old number is told either way;
* ``email`` — a code to the e-mail address ESIA verified;
* ``recovery`` — one of the person's single-use recovery codes (:mod:`.recovery`).

Every verification runs under :class:`~.base.Lockout` (reserve, then verify; per account
and per factor, T75); every failure is the same :class:`FactorFailed` for the person.
SMS sends pass :class:`~.sms_limits.SmsLimits` first (T85–T88): a refusal means no provider
call. A send that surely did not go out gives the limits back; one that may have gone out
is never repeated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gateway.core.errors import DestinationRefused
from gateway.core.errors import FactorFailed
from gateway.core.factors import Credential
from gateway.core.factors import FactorChallenge
from gateway.core.factors import FactorKind
from gateway.core.factors import FactorOption
from gateway.core.factors import FactorSubject
from gateway.core.factors import amr_for
from gateway.core.factors import credential_context
from gateway.core.ids import new_id
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWorkFactory
from providers.factors.base import Lockout
from providers.factors.codes import OneTimeCodes
from providers.factors.codes import code_message
from providers.factors.push import APPROVED
from providers.factors.push import PENDING
from providers.factors.push import PushFactor
from providers.factors.recovery import RecoveryCodes
from providers.factors.senders.base import EmailSender
from providers.factors.senders.base import SendFailed
from providers.factors.senders.base import SmsSender
from providers.factors.senders.outbox import mask_email
from providers.factors.sms_limits import SmsLimits
from providers.factors.sms_limits import mask_phone
from providers.factors.totp import TotpFactor

__all__ = ["LoginFactors", "Notices"]

log = logging.getLogger("vhod.factors")

SMS_LABEL = "SMS"


class Notices:
    """Messages to the person about their factors, through a channel other than the
    one that changed (ESIA-verified phone or e-mail): never a code, never personal data
    beyond the masked destination the message goes to."""

    def __init__(self, sms: SmsSender, email: EmailSender, service: str) -> None:
        self._sms = sms
        self._email = email
        self._service = service

    def tell(self, who: FactorSubject, text: str, *, phone: str | None = None) -> None:
        """Send ``text`` by e-mail when ESIA verified one, else by SMS (to ``phone`` or the
        verified mobile). A failure is logged, never raised: the change stands."""
        message = f"{self._service}: {text}"
        try:
            if who.email and phone is None:
                self._email.send(who.email, message)
            elif phone or who.phone:
                self._sms.send(phone or who.phone or "", message)
        except SendFailed as err:
            log_event(log, "factor.notice_failed", logging.WARNING, reason=err.reason)


class LoginFactors:
    """:class:`~gateway.core.factors.SecondFactors` over vhod's factor providers."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        sealer: Sealer,
        clock: Clock,
        lockout: Lockout,
        sms_codes: OneTimeCodes,
        email_codes: OneTimeCodes,
        sms_limits: SmsLimits,
        sms: SmsSender,
        email: EmailSender,
        totp: TotpFactor,
        push: PushFactor,
        recovery: RecoveryCodes,
        notices: Notices,
        service: str = "vhod",
    ) -> None:
        self._uow = uow
        self._sealer = sealer
        self._clock = clock
        self._lockout = lockout
        self._codes = {FactorKind.SMS: sms_codes, FactorKind.EMAIL: email_codes}
        self._limits = sms_limits
        self._sms = sms
        self._email = email
        self._totp = totp
        self._push = push
        self._recovery = recovery
        self._notices = notices
        self._service = service

    # ------------------------------------------------------------------ the port

    def options(self, who: FactorSubject) -> tuple[FactorOption, ...]:
        with self._uow(read_only=True) as uow:
            held = [c for c in uow.credentials.list_for(who.subject_id) if c.active]
            preferred = uow.credentials.preferred(who.subject_id)
        kinds = {c.kind for c in held}
        options: list[FactorOption] = []
        if FactorKind.PUSH in kinds:
            options.append(FactorOption(FactorKind.PUSH.value))
        if FactorKind.TOTP in kinds:
            options.append(FactorOption(FactorKind.TOTP.value))
        if who.phone and self._sms_allowed(who, held):
            options.append(FactorOption(FactorKind.SMS.value, mask_phone(who.phone)))
        if who.email:
            options.append(FactorOption(FactorKind.EMAIL.value, mask_email(who.email)))
        if FactorKind.RECOVERY in kinds:
            options.append(FactorOption(FactorKind.RECOVERY.value))
        # The person's chosen factor first (a preference, not a secret), if on offer now.
        options.sort(key=lambda o: preferred is None or o.kind != preferred.value)
        return tuple(options)

    def start(self, who: FactorSubject, kind: str) -> FactorChallenge:
        factor = self._offered(who, kind)
        self._lockout.check(who.subject_id, factor.value)
        if factor is FactorKind.SMS:
            return self._send_sms(who)
        if factor is FactorKind.EMAIL:
            return self._send_email(who)
        if factor is FactorKind.PUSH:
            with self._uow(read_only=True) as uow:
                challenge = self._push.start(uow.credentials, who.subject_id)
            return FactorChallenge(
                factor.value, number=challenge.number, challenge_id=challenge.challenge_id
            )
        return FactorChallenge(factor.value)

    def status(self, who: FactorSubject, challenge: FactorChallenge) -> str:
        if challenge.kind != FactorKind.PUSH.value or challenge.challenge_id is None:
            return PENDING
        return self._push.status(challenge.challenge_id, who.subject_id).state

    def verify(self, who: FactorSubject, challenge: FactorChallenge, answer: str) -> str:
        factor = self._offered(who, challenge.kind)
        if factor is FactorKind.PUSH:
            self._push_answered(who, challenge)
        self._lockout.reserve(who.subject_id, factor.value)
        try:
            self._check(who, factor, challenge, answer)
        except FactorFailed:
            log_event(log, "factor.rejected", logging.WARNING, factor=factor.value)
            raise
        self._lockout.succeeded(who.subject_id, factor.value)
        return amr_for(factor)

    # ------------------------------------------------------------------ per factor

    def _offered(self, who: FactorSubject, kind: str) -> FactorKind:
        if kind not in {o.kind for o in self.options(who)}:
            raise FactorFailed("factor_not_offered")
        return FactorKind(kind)

    def _check(
        self, who: FactorSubject, factor: FactorKind, challenge: FactorChallenge, answer: str
    ) -> None:
        if factor in self._codes:
            self._codes[factor].verify(who.transaction, answer)
            if factor is FactorKind.SMS:
                self._enrol_phone(who)
            return
        if factor is FactorKind.PUSH:
            self._push.finish(challenge.challenge_id or "", who.subject_id)
            return
        if factor is FactorKind.TOTP:
            self._check_totp(who, answer)
            return
        with self._uow() as uow:
            remaining = self._recovery.use(uow.credentials, who.subject_id, answer)
            uow.audit.append(
                self._clock.now(),
                "factor.recovery_code_used",
                {"journey": who.transaction, "remaining": remaining},
            )
            uow.commit()
        self._notices.tell(
            who, f"для входа использован резервный код; осталось кодов: {remaining}."
        )

    def _check_totp(self, who: FactorSubject, answer: str) -> None:
        """TOTP's replay guard writes to the ephemeral store, which on the embedded default
        shares SQLite with the durable store: the code is matched in a read-only unit of
        work, and the credential's use is written after it. A replayed code is told."""
        with self._uow(read_only=True) as uow:
            try:
                matched = self._totp.match(uow.credentials, who.subject_id, answer)
            except FactorFailed as failed:
                if failed.reason == "totp_replayed":
                    self._notices.tell(who, "код из приложения был введён повторно и отклонён.")
                raise
        with self._uow() as uow:
            uow.credentials.use(matched.credential_id, self._clock.now())
            uow.commit()

    def _push_answered(self, who: FactorSubject, challenge: FactorChallenge) -> None:
        """A push challenge still waiting is not a failure (the page asks again later);
        a denied, wrong-number or expired one is."""
        status = self._push.status(challenge.challenge_id or "", who.subject_id)
        if status.state == PENDING:
            raise FactorFailed("pending")
        if status.state != APPROVED:
            self._lockout.reserve(who.subject_id, FactorKind.PUSH.value)
            raise FactorFailed(f"push_{status.state}")

    def _send_sms(self, who: FactorSubject) -> FactorChallenge:
        phone = who.phone or ""
        try:
            reservation = self._limits.reserve(
                phone=phone, account=who.subject_id, ip=who.client_ip, session=who.transaction
            )
        except DestinationRefused as err:
            raise FactorFailed(err.reason) from err
        issued = self._codes[FactorKind.SMS].issue(who.transaction)
        self._deliver(
            lambda: self._sms.send(phone, code_message(issued.code, self._service, "sms")),
            release=lambda: self._limits.release(reservation),
        )
        log_event(log, "factor.code_sent", channel="sms", to=mask_phone(phone))
        return FactorChallenge(FactorKind.SMS.value, hint=mask_phone(phone))

    def _send_email(self, who: FactorSubject) -> FactorChallenge:
        address = who.email or ""
        issued = self._codes[FactorKind.EMAIL].issue(who.transaction)
        self._deliver(
            lambda: self._email.send(address, code_message(issued.code, self._service, "email"))
        )
        log_event(log, "factor.code_sent", channel="email")
        return FactorChallenge(FactorKind.EMAIL.value, hint=mask_email(address))

    @staticmethod
    def _deliver(send: Callable[[], None], release: Callable[[], None] | None = None) -> None:
        """Hand a code over once. A send that surely did not go out gives the SMS limits
        back; either way the person sees the uniform failure and may try again later."""
        try:
            send()
        except SendFailed as err:
            if not err.maybe_sent and release is not None:
                release()
            log_event(log, "factor.send_failed", logging.ERROR, reason=err.reason)
            raise FactorFailed("send_failed") from err

    # ------------------------------------------------------------------ the SMS number

    def _sms_allowed(self, who: FactorSubject, held: list[Credential]) -> bool:
        """SMS goes to the ESIA-verified number; a number other than the enrolled one is
        offered only to a person with no other factor (ESIA just re-proofed them)."""
        enrolled = [c for c in held if c.kind is FactorKind.SMS]
        if not enrolled or any(self._phone_of(c) == who.phone for c in enrolled):
            return True
        return not any(c.kind is not FactorKind.SMS for c in held)

    def _phone_of(self, credential: Credential) -> str:
        opened = self._sealer.open(credential.sealed, credential_context(credential.credential_id))
        return opened.decode()

    def _enrol_phone(self, who: FactorSubject) -> None:
        """After an SMS code passed: the number it went to is the enrolled one (first use,
        or a new ESIA number), and a replaced number is told of the change."""
        phone = who.phone or ""
        now = self._clock.now()
        with self._uow() as uow:
            enrolled = uow.credentials.list_for(who.subject_id, FactorKind.SMS)
            if any(self._phone_of(c) == phone for c in enrolled):
                uow.credentials.use(
                    next(c for c in enrolled if self._phone_of(c) == phone).credential_id, now
                )
                uow.commit()
                return
            old = [self._phone_of(c) for c in enrolled]
            uow.credentials.remove_all_for(who.subject_id, FactorKind.SMS)
            credential_id = new_id()
            uow.credentials.add(
                Credential(
                    credential_id=credential_id,
                    subject_id=who.subject_id,
                    kind=FactorKind.SMS,
                    label=SMS_LABEL,
                    created_at=now,
                    sealed=self._sealer.seal(phone.encode(), credential_context(credential_id)),
                    active=True,
                    last_used_at=now,
                )
            )
            event = "factor.phone_changed" if old else "factor.phone_enrolled"
            uow.audit.append(now, event, {"journey": who.transaction, "factor": "sms"})
            uow.commit()
        for previous in old:
            self._notices.tell(
                who, "номер для кодов входа изменён на номер из Госуслуг.", phone=previous
            )
