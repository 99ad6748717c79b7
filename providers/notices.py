"""``ProfileNotices``: a message to a person through the channels ESIA verified (the
sealed profile): e-mail when there is one, else the mobile — the dev outbox in dev
(``gateway.core.applications.PersonNotices``). Used for application statuses and for
guardianships that are about to end or ended. Never raises: a notice is a courtesy, the
change it announces stands."""

from __future__ import annotations

import logging

from gateway.core.applications import PersonNotices
from gateway.core.errors import StoreUnavailable
from gateway.core.factors import FactorSubject
from gateway.core.factors import verified_channels
from gateway.core.logs import log_event
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.profiles import open_profile
from providers.factors.login import Notices

log = logging.getLogger("vhod.notices")


class ProfileNotices:
    def __init__(self, uow: UnitOfWorkFactory, sealer: Sealer, notices: Notices) -> None:
        self._uow = uow
        self._sealer = sealer
        self._notices = notices

    def tell(self, subject_id: str, text: str) -> None:
        try:
            with self._uow(read_only=True) as uow:
                subject = uow.subjects.get(subject_id)
        except StoreUnavailable:
            log_event(log, "notice.skipped", logging.WARNING, reason="store_unavailable")
            return
        if subject is None:
            return
        phone, email = verified_channels(open_profile(self._sealer, subject))
        if phone is None and email is None:
            log_event(log, "notice.skipped", logging.WARNING, reason="no_channel")
            return
        self._notices.tell(FactorSubject(subject_id, "", phone=phone, email=email), text)
        log_event(log, "notice.sent")


_port: type[PersonNotices] = ProfileNotices
