"""The age lifecycle of guardianships and the upkeep of applications (issue 12 item 6),
run by ``vhod worker`` every ``[applications] lifecycle_interval_seconds``.

* **Expiry**: a verified link whose ``ends_at`` (the child's 18th birthday) has passed
  becomes ``expired`` (audited ``guardianship.expired``) and the parent is told. The job
  is only housekeeping: every use of a link checks ``Guardianship.usable(now)`` itself,
  so a link stops counting at the birthday even when the job is late.
* **Before**: ``[applications] expiry_notice_days`` before the birthday the parent is told
  once (a marker in the ephemeral store, namespace ``guardianship_notice``).
* **Purge**: documents of applications decided more than ``retention_days`` ago are
  deleted (``application.documents_purged`` with the count).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from gateway.config.applications import ApplicationSettings
from gateway.core.applications import PersonNotices
from gateway.core.audit import audit
from gateway.core.children import GuardianshipStatus
from gateway.core.ids import subject_digest
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import UnitOfWorkFactory

log = logging.getLogger("vhod.lifecycle")

NOTICE_NAMESPACE = "guardianship_notice"
DAY_SECONDS = 24 * 3600
BATCH = 500
ENDED_TEXT = (
    "ребёнку исполнилось 18 лет, и связь с ним в школьных системах закончилась: теперь он "
    "входит сам со своей учётной записью Госуслуг."
)


def ending_soon_text(days: int) -> str:
    return (
        f"через {days} дн. ребёнку исполнится 18 лет, и связь с ним в школьных системах "
        "закончится: дальше он будет входить сам со своей учётной записью Госуслуг."
    )


@dataclass(frozen=True)
class LifecycleReport:
    expired: int = 0
    warned: int = 0
    purged: int = 0


class ChildrenLifecycle:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        store: EphemeralStore,
        clock: Clock,
        pepper: bytes,
        settings: ApplicationSettings,
        notices: PersonNotices,
    ) -> None:
        self._uow = uow
        self._store = store
        self._clock = clock
        self._pepper = pepper
        self._settings = settings
        self._notices = notices

    def run_once(self) -> LifecycleReport:
        now = self._clock.now()
        ended: list[str] = []
        with self._uow() as uow:
            for link in uow.guardianships.ending_before(now, BATCH):
                if uow.guardianships.end(link.guardianship_id, now, GuardianshipStatus.EXPIRED):
                    audit(
                        uow,
                        now,
                        "guardianship.expired",
                        parent=subject_digest(self._pepper, link.parent_id),
                        child=subject_digest(self._pepper, link.child_id),
                    )
                    ended.append(link.parent_id)
            purged = uow.applications.purge_documents(now, now)
            if purged:
                audit(uow, now, "application.documents_purged", count=purged)
            horizon = now + self._settings.expiry_notice_days * DAY_SECONDS
            soon = [g for g in uow.guardianships.ending_before(horizon, BATCH) if g.ends_at > now]
            uow.commit()
        for parent_id in ended:
            self._notices.tell(parent_id, ENDED_TEXT)
        warned = 0
        ttl = (self._settings.expiry_notice_days + 2) * DAY_SECONDS
        for link in soon:
            if self._store.incr(NOTICE_NAMESPACE, link.guardianship_id, ttl) != 1:
                continue
            days = max(1, int((link.ends_at - now + DAY_SECONDS - 1) // DAY_SECONDS))
            self._notices.tell(link.parent_id, ending_soon_text(days))
            warned += 1
        report = LifecycleReport(len(ended), warned, purged)
        if ended or warned or purged:
            log_event(
                log,
                "lifecycle.done",
                expired=report.expired,
                warned=report.warned,
                purged=report.purged,
            )
        return report

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set; never raises (an outage is logged, the next round
        retries)."""
        while not stop.is_set():
            try:
                self.run_once()
            except Exception as error:  # the worker must survive store outages
                log_event(log, "lifecycle.error", logging.ERROR, error_type=type(error).__name__)
            stop.wait(self._settings.lifecycle_interval_seconds)
