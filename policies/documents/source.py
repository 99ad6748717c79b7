"""The rule document in force, as the engine's rule-documents step sees it.

:class:`ActiveRuleDocuments` implements :class:`policies.rules.RuleDocuments`. It reads
the active version from the durable store (``uow.policies``) — or, until an admin applies
one, the document shipped in ``policies/default.toml`` (version ``default``) — parses it
once per version and keeps it. Every ``reload_seconds`` it asks the store for the active
version number only (a one-row read), so every process of a deployment picks up a newly
applied version within that time; the process that applied it calls :meth:`invalidate`
and sees it at once.

A stored version that no longer validates (e.g. the scope catalogue lost a scope it
names) fails closed: every request is denied with ``policy_document_invalid`` and the
problem is logged, until an admin applies a valid version. A store outage while
re-checking keeps the document already loaded.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.config.schema import ScopeSettings
from gateway.core.errors import StoreUnavailable
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from gateway.core.ports import UnitOfWorkFactory
from policies.checks import Action
from policies.checks import Decision
from policies.checks import PolicyContext
from policies.documents.evaluate import DocumentOutcome
from policies.documents.evaluate import evaluate_document
from policies.documents.model import RuleDocument
from policies.documents.parse import DocumentInvalid
from policies.documents.parse import parse_document

log = logging.getLogger(__name__)

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "default.toml"
DEFAULT_VERSION = "default"
INVALID_REASON = "policy_document_invalid"


def default_text() -> str:
    """The rule document shipped with vhod."""
    return DEFAULT_PATH.read_text(encoding="utf-8")


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class LoadedDocument:
    """A parsed document and where it came from (``version``: a number or ``default``)."""

    version: str
    sha256: str
    document: RuleDocument | None
    """``None`` when the stored text no longer validates (fail closed)."""

    def evaluate(self, ctx: PolicyContext) -> DocumentOutcome:
        if self.document is None:
            decision = Decision(
                Action.DENY, INVALID_REASON, {"version": self.version}, "access_denied"
            )
            return DocumentOutcome((), decision)
        return evaluate_document(self.document, ctx, self.version)


def load_text(text: str, version: str, catalogue: Mapping[str, ScopeSettings]) -> LoadedDocument:
    """Parse a stored or shipped text (an invalid one gives a fail-closed document)."""
    try:
        document: RuleDocument | None = parse_document(text, catalogue)
    except DocumentInvalid as invalid:
        log_event(
            log,
            "policy.document_invalid",
            logging.ERROR,
            version=version,
            problems=len(invalid.problems),
        )
        document = None
    return LoadedDocument(version, text_sha256(text), document)


class ActiveRuleDocuments:
    """The active rule document, cached per version (see the module docstring)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        catalogue: Mapping[str, ScopeSettings],
        clock: Clock,
        reload_seconds: float = 5.0,
    ) -> None:
        self._uow = uow
        self._catalogue = catalogue
        self._clock = clock
        self._reload_seconds = reload_seconds
        self._lock = threading.Lock()
        self._loaded: LoadedDocument | None = None
        self._checked_at = float("-inf")

    @property
    def catalogue(self) -> Mapping[str, ScopeSettings]:
        return self._catalogue

    def invalidate(self) -> None:
        """Re-read the store at the next use (after an apply in this process)."""
        with self._lock:
            self._checked_at = float("-inf")

    def current(self) -> LoadedDocument:
        """The document in force now."""
        now = self._clock.now()
        with self._lock:
            loaded = self._loaded
            if loaded is not None and now - self._checked_at < self._reload_seconds:
                return loaded
            try:
                loaded = self._refresh(loaded)
            except StoreUnavailable:
                if loaded is None:
                    raise
                log_event(log, "policy.reload_failed", logging.WARNING, version=loaded.version)
                return loaded
            self._loaded, self._checked_at = loaded, now
            return loaded

    def _refresh(self, loaded: LoadedDocument | None) -> LoadedDocument:
        with self._uow(read_only=True) as uow:
            version = uow.policies.active_version()
            if version is None:
                if loaded is not None and loaded.version == DEFAULT_VERSION:
                    return loaded
                return load_text(default_text(), DEFAULT_VERSION, self._catalogue)
            if loaded is not None and loaded.version == str(version):
                return loaded
            record = uow.policies.get(version)
        if record is None:  # pragma: no cover - the version was just read
            return load_text(default_text(), DEFAULT_VERSION, self._catalogue)
        log_event(log, "policy.loaded", version=record.version)
        return load_text(record.text, str(record.version), self._catalogue)

    # ------------------------------------------------------------ RuleDocuments

    def evaluate(self, ctx: PolicyContext) -> Decision | None:
        """The engine decision of the document in force (``None``: nothing fires)."""
        return self.current().evaluate(ctx).decision

    @property
    def version(self) -> str | None:
        return self.current().version


class FixedRuleDocuments:
    """A given document (dry runs, tests): the same :class:`RuleDocuments` contract."""

    def __init__(self, loaded: LoadedDocument) -> None:
        self._loaded = loaded

    def current(self) -> LoadedDocument:
        return self._loaded

    def evaluate(self, ctx: PolicyContext) -> Decision | None:
        return self._loaded.evaluate(ctx).decision

    @property
    def version(self) -> str | None:
        return self._loaded.version
