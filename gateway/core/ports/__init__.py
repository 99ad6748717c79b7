"""Ports: the interfaces the use cases depend on. Implementations live in sibling packages
(``gateway.store``, ``keys``, ``providers``, ``policies``) and are wired by ``gateway.compose``.

Each port is small (2–6 methods) and named after what it holds. One module per aggregate —
``stores`` (ephemeral store, unit of work, repositories), ``keys`` (sealing, signing keys),
``login`` (upstreams, SSO sessions, claims, grant revocation), ``policy`` (policy steps),
``process`` (clock, disposable resources) — and every name is importable from here:
``from gateway.core.ports import UnitOfWork``.
"""

from gateway.core.ports.keys import DataKeyRing
from gateway.core.ports.keys import KeyIdentity
from gateway.core.ports.keys import KeyManagement
from gateway.core.ports.keys import KeySource
from gateway.core.ports.keys import PublishedKey
from gateway.core.ports.keys import Sealer
from gateway.core.ports.keys import SigningKeyMaterial
from gateway.core.ports.login import ClaimsSource
from gateway.core.ports.login import GrantRevoker
from gateway.core.ports.login import SsoSessions
from gateway.core.ports.login import UpstreamProvider
from gateway.core.ports.policy import ContextT
from gateway.core.ports.policy import DecisionT
from gateway.core.ports.policy import PolicyStep
from gateway.core.ports.process import Clock
from gateway.core.ports.process import Disposable
from gateway.core.ports.process import RestoreEpoch
from gateway.core.ports.stores import AdminInviteRepository
from gateway.core.ports.stores import AdminQueries
from gateway.core.ports.stores import AuditRepository
from gateway.core.ports.stores import ClientRepository
from gateway.core.ports.stores import ConsentRepository
from gateway.core.ports.stores import DataKeyRepository
from gateway.core.ports.stores import EphemeralStore
from gateway.core.ports.stores import GrantRepository
from gateway.core.ports.stores import KeyRepository
from gateway.core.ports.stores import LogoutQueue
from gateway.core.ports.stores import PolicyDocumentRecord
from gateway.core.ports.stores import PolicyDocumentRepository
from gateway.core.ports.stores import RefreshTokenRepository
from gateway.core.ports.stores import SealedRecords
from gateway.core.ports.stores import SubjectRepository
from gateway.core.ports.stores import UnitOfWork
from gateway.core.ports.stores import UnitOfWorkFactory

__all__ = [
    "AdminInviteRepository",
    "AdminQueries",
    "AuditRepository",
    "ClaimsSource",
    "ClientRepository",
    "Clock",
    "ConsentRepository",
    "ContextT",
    "DataKeyRepository",
    "DataKeyRing",
    "DecisionT",
    "Disposable",
    "EphemeralStore",
    "GrantRepository",
    "GrantRevoker",
    "KeyIdentity",
    "KeyManagement",
    "KeyRepository",
    "KeySource",
    "LogoutQueue",
    "PolicyDocumentRecord",
    "PolicyDocumentRepository",
    "PolicyStep",
    "PublishedKey",
    "RefreshTokenRepository",
    "RestoreEpoch",
    "SealedRecords",
    "Sealer",
    "SigningKeyMaterial",
    "SsoSessions",
    "SubjectRepository",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UpstreamProvider",
]
