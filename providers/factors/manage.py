"""Enrolled factors of a person: listing, enrolment, removal, the preferred factor, the
admin reset, and the push devices' requests (``FactorManagement``).

``/account`` lists and changes the person's own factors here (it checks that the person
signed in afresh first, SECURITY.md T84); the admin side resets a person's factors
(``vhod admins reset-factors``); the push device endpoints hand their JSON here. Every
change is audited (``factor.enrolled``, ``factor.removed``, ``factor.recovery_regenerated``,
``factor.preferred``, ``factor.reset``: a subject digest and the factor kind, never personal
data) and announced to the person through :class:`~providers.factors.login.Notices` — to
the e-mail address or mobile ESIA verified, read from the subject's sealed profile.

Device requests are limited per device (:data:`DEVICE_REQUESTS_PER_MINUTE`): a device (or
someone holding its id) that asks more often gets :class:`RateLimited`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from gateway.core.errors import FactorFailed
from gateway.core.errors import RateLimited
from gateway.core.factors import Credential
from gateway.core.factors import CredentialRepository
from gateway.core.factors import EnrolledFactor
from gateway.core.factors import FactorKind
from gateway.core.factors import FactorSubject
from gateway.core.factors import PushOffer
from gateway.core.factors import TotpOffer
from gateway.core.factors import verified_channels
from gateway.core.ids import subject_digest
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWork
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.profiles import open_profile
from providers.factors.login import Notices
from providers.factors.push import ENROL_PATH
from providers.factors.push import PushFactor
from providers.factors.recovery import RecoveryCodes
from providers.factors.totp import TotpFactor
from providers.factors.totp import qr_svg

__all__ = ["DEVICE_REQUESTS_PER_MINUTE", "ManagedFactors"]

log = logging.getLogger("vhod.factors")

DEVICE_REQUESTS_PER_MINUTE = 30
_NOTICE_ADDED = {
    FactorKind.TOTP: "подключено приложение-аутентификатор для входа.",
    FactorKind.PUSH: "подключено устройство для подтверждения входа.",
}
_NOTICE_REMOVED = (
    "отключён способ входа: {kind}. Если это были не вы, войдите и проверьте настройки."
)
_KIND_WORDS = {
    FactorKind.SMS: "SMS",
    FactorKind.EMAIL: "e-mail",
    FactorKind.TOTP: "приложение-аутентификатор",
    FactorKind.PUSH: "устройство",
    FactorKind.RECOVERY: "резервные коды",
}


class ManagedFactors:
    """:class:`~gateway.core.factors.FactorManagement` over the credential repository
    and the factor mechanics (:mod:`.totp`, :mod:`.push`, :mod:`.recovery`)."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        pepper: bytes,
        sealer: Sealer,
        store: EphemeralStore,
        totp: TotpFactor,
        push: PushFactor,
        recovery: RecoveryCodes,
        notices: Notices,
        base_url: str,
        enrol_ttl_seconds: int,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._pepper = pepper
        self._sealer = sealer
        self._store = store
        self._totp = totp
        self._push = push
        self._recovery = recovery
        self._notices = notices
        self._base_url = base_url.rstrip("/")
        self._enrol_ttl = enrol_ttl_seconds

    # ------------------------------------------------------------------ reading

    def enrolled(self, subject_id: str) -> list[EnrolledFactor]:
        with self._uow(read_only=True) as uow:
            held = [c for c in uow.credentials.list_for(subject_id) if c.active]
        listed: list[EnrolledFactor] = []
        recovery = [c for c in held if c.kind is FactorKind.RECOVERY]
        for c in held:
            if c.kind is FactorKind.RECOVERY:
                continue
            listed.append(
                EnrolledFactor(c.credential_id, c.kind, c.label, c.created_at, c.last_used_at)
            )
        if recovery:
            first = recovery[0]
            listed.append(
                EnrolledFactor(
                    first.credential_id,
                    FactorKind.RECOVERY,
                    first.label,
                    first.created_at,
                    max((c.last_used_at or 0.0 for c in recovery), default=None) or None,
                    hint=str(len(recovery)),
                )
            )
        return listed

    def preferred(self, subject_id: str) -> FactorKind | None:
        with self._uow(read_only=True) as uow:
            return uow.credentials.preferred(subject_id)

    # ------------------------------------------------------------------ changes

    def begin_totp(self, subject_id: str) -> TotpOffer:
        with self._uow() as uow:
            enrolment = self._totp.begin_enrolment(uow.credentials, subject_id)
            uow.commit()
        return TotpOffer(
            enrolment.credential.credential_id,
            enrolment.secret,
            enrolment.provisioning_uri,
            enrolment.qr_svg,
        )

    def confirm_totp(self, subject_id: str, credential_id: str, code: str) -> None:
        # Checked in a read-only unit of work: the step claim writes to the ephemeral
        # store, which on SQLite waits for any open writing transaction.
        with self._uow(read_only=True) as uow:
            pending = self._totp.check_enrolment(uow.credentials, subject_id, credential_id, code)
        with self._uow() as uow:
            current = uow.credentials.get(credential_id)
            if current is None or current.active:
                raise FactorFailed("totp_enrolment_unknown")
            replaced = sum(c.active for c in uow.credentials.list_for(subject_id, FactorKind.TOTP))
            self._totp.activate(uow.credentials, pending)
            self._audit(uow, "factor.enrolled", subject_id, FactorKind.TOTP, replaced=int(replaced))
            uow.commit()
        self._tell(subject_id, _NOTICE_ADDED[FactorKind.TOTP])

    def push_enrolment(self, subject_id: str) -> PushOffer:
        token = self._push.new_enrolment_token(subject_id)
        payload = json.dumps({"v": 1, "url": self._base_url, "token": token}, separators=(",", ":"))
        return PushOffer(token, self._base_url, payload, qr_svg(payload), self._enrol_ttl)

    def regenerate_recovery(self, subject_id: str) -> list[str]:
        with self._uow() as uow:
            codes = self._recovery.regenerate(uow.credentials, subject_id)
            self._audit(
                uow,
                "factor.recovery_regenerated",
                subject_id,
                FactorKind.RECOVERY,
                count=len(codes),
            )
            uow.commit()
        self._tell(subject_id, "созданы новые резервные коды; прежние больше не действуют.")
        return codes

    def remove(self, subject_id: str, credential_id: str) -> bool:
        with self._uow() as uow:
            credential = uow.credentials.get(credential_id)
            if credential is None or credential.subject_id != subject_id:
                return False
            if credential.kind is FactorKind.RECOVERY:
                removed = uow.credentials.remove_all_for(subject_id, FactorKind.RECOVERY)
            else:
                removed = int(uow.credentials.remove(credential_id))
            if uow.credentials.preferred(subject_id) is credential.kind and not any(
                c.kind is credential.kind for c in uow.credentials.list_for(subject_id)
            ):
                uow.credentials.set_preferred(subject_id, None, self._clock.now())
            self._audit(uow, "factor.removed", subject_id, credential.kind, removed=removed)
            uow.commit()
        self._tell(subject_id, _NOTICE_REMOVED.format(kind=_KIND_WORDS[credential.kind]))
        return True

    def set_preferred(self, subject_id: str, kind: FactorKind | None) -> None:
        with self._uow() as uow:
            uow.credentials.set_preferred(subject_id, kind, self._clock.now())
            uow.audit.append(
                self._clock.now(),
                "factor.preferred",
                {
                    "subject": subject_digest(self._pepper, subject_id),
                    "factor": "" if kind is None else kind.value,
                },
            )
            uow.commit()

    def reset(self, subject_id: str, actor: str) -> int:
        now = self._clock.now()
        with self._uow() as uow:
            removed = uow.credentials.remove_all_for(subject_id)
            uow.audit.append(
                now,
                "factor.reset",
                {
                    "subject": subject_digest(self._pepper, subject_id),
                    "actor": actor,
                    "removed": removed,
                },
            )
            uow.commit()
        return removed

    # ------------------------------------------------------------------ push devices

    def device_request(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        device_id = body.get("device_id")
        if isinstance(device_id, str) and device_id:
            self._throttle(device_id)
        if path != ENROL_PATH:
            # Listing and answering write to the ephemeral store (nonces, the answer),
            # which on SQLite waits for an open writing transaction: read the device in a
            # read-only unit of work and record its use afterwards.
            with self._uow(read_only=True) as uow:
                deferred = _DeferredUses(uow.credentials)
                answer = self._push.device_request(deferred, path, body)
            if deferred.uses:
                with self._uow() as uow:
                    for used, at in deferred.uses:
                        uow.credentials.use(used, at)
                    uow.commit()
            return answer
        with self._uow() as uow:
            answer = self._push.device_request(uow.credentials, path, body)
            enrolled = uow.credentials.get(str(answer["device_id"]))
            if enrolled is not None:
                self._audit(uow, "factor.enrolled", enrolled.subject_id, FactorKind.PUSH)
            uow.commit()
        if enrolled is not None:
            self._tell(enrolled.subject_id, _NOTICE_ADDED[FactorKind.PUSH])
        return answer

    # ------------------------------------------------------------------ internals

    def _throttle(self, device_id: str) -> None:
        if len(device_id) > 128:
            raise FactorFailed("push_device_auth")
        count = self._store.incr("push_device_rate", device_id, 60)
        if count > DEVICE_REQUESTS_PER_MINUTE:
            raise RateLimited("push_device_rate", 60)

    def _audit(
        self, uow: UnitOfWork, event: str, subject_id: str, kind: FactorKind, **extra: int
    ) -> None:
        uow.audit.append(
            self._clock.now(),
            event,
            {"subject": subject_digest(self._pepper, subject_id), "factor": kind.value, **extra},
        )

    def _tell(self, subject_id: str, text: str) -> None:
        """Announce a change to the channels ESIA verified (the sealed profile)."""
        with self._uow(read_only=True) as uow:
            subject = uow.subjects.get(subject_id)
        if subject is None:
            return
        phone, email = verified_channels(open_profile(self._sealer, subject))
        if phone is None and email is None:
            log_event(log, "factor.notice_skipped", logging.WARNING, reason="no_channel")
            return
        self._notices.tell(FactorSubject(subject_id, "", phone=phone, email=email), text)


class _DeferredUses:
    """A read-only view of a credential repository that remembers :meth:`use` calls for
    a later writing unit of work (anything else that writes is refused)."""

    def __init__(self, inner: CredentialRepository) -> None:
        self._inner = inner
        self.uses: list[tuple[str, float]] = []

    def get(self, credential_id: str) -> Credential | None:
        return self._inner.get(credential_id)

    def list_for(self, subject_id: str, kind: FactorKind | None = None) -> list[Credential]:
        return self._inner.list_for(subject_id, kind)

    def preferred(self, subject_id: str) -> FactorKind | None:
        return self._inner.preferred(subject_id)

    def use(self, credential_id: str, at: float, *, single_use: bool = False) -> bool:
        if single_use:
            raise NotImplementedError("a single use needs a writing unit of work")
        self.uses.append((credential_id, at))
        return True

    def add(self, credential: Credential) -> None:
        raise NotImplementedError("read-only")

    def update(self, credential: Credential) -> None:
        raise NotImplementedError("read-only")

    def remove(self, credential_id: str) -> bool:
        raise NotImplementedError("read-only")

    def remove_all_for(self, subject_id: str, kind: FactorKind | None = None) -> int:
        raise NotImplementedError("read-only")

    def set_preferred(self, subject_id: str, kind: FactorKind | None, at: float) -> None:
        raise NotImplementedError("read-only")


_: type[CredentialRepository] = _DeferredUses
