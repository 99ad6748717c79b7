"""``SqlUnitOfWork``: one durable transaction shared by the repositories.

Use cases open one, call repositories, and commit once; leaving the ``with`` block
without ``commit()`` rolls everything back, so a use case that fails half-way writes
nothing (DESIGN.md "Storage", SECURITY.md R5)::

    with uow_factory() as uow:
        uow.clients.add(client)
        uow.audit.append(now, "client.added", {"client_id": client.client_id})
        uow.commit()

A unit of work is one SQLAlchemy Core ``Connection``, taken from the engine's pool when the
unit of work is created and given back when the block is left, whatever happened. The
repositories run Core statements on it (``execute``, and ``begin_nested`` savepoints where a
unique-key conflict must leave the transaction usable); nothing is mapped, so there is no
ORM ``Session`` in between (one took about 30% of the CPU of a short unit of work). The
transaction begins with the first statement (SQLAlchemy's autobegin), ``commit()`` commits
it, and leaving the block rolls back whatever was not committed.

On SQLite the transaction begins with ``BEGIN IMMEDIATE`` (the execution option
``SQLITE_BEGIN_OPTION``; see ``engine.py``): it holds the database write lock from its
first statement, so a read followed by a write never fails on a stale snapshot and audit
appends are serialised across threads and processes. SQLite thus runs one durable
transaction at a time (they are short); multi-host deployments use PostgreSQL, where
transactions run concurrently at READ COMMITTED and the audit chain has an advisory lock.
Do not open a second writing unit of work while one is in use in the same thread: on SQLite
the inner one would wait for the outer one's lock (``busy_timeout``, 5 s) and then fail.
Pure reads that may happen inside a use case (key and data-key caches reloading) use
``factory(read_only=True)``: on SQLite a deferred transaction that, in WAL mode, never
waits for a writer; on PostgreSQL autocommit statements (no ``BEGIN``/``ROLLBACK`` round
trips). At READ COMMITTED every statement of a transaction takes its own snapshot anyway,
so the reads see exactly what they would inside one; a read-only unit of work holds no
locks and cannot commit. A unit of work whose one write is a single atomic statement
(``factory(atomic_statements=True)``: the refresh token's use with the next link of its
chain) runs the same way on PostgreSQL — its ``commit()`` is then a formality — and as an
ordinary writer on SQLite.

Database failures, including at commit, raise :class:`StoreUnavailable`.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy import Connection
from sqlalchemy import Engine

from gateway.core.applications import ApplicationRepository
from gateway.core.children import GuardianConsentRepository
from gateway.core.children import GuardianshipRepository
from gateway.core.children import PersonIndex
from gateway.core.children import RosterRepository
from gateway.core.children import SchoolRepository
from gateway.core.factors import CredentialRepository
from gateway.core.ports import AdminInviteRepository
from gateway.core.ports import AdminQueries
from gateway.core.ports import AuditRepository
from gateway.core.ports import ClientRepository
from gateway.core.ports import ConsentRepository
from gateway.core.ports import DataKeyRepository
from gateway.core.ports import GrantRepository
from gateway.core.ports import KeyRepository
from gateway.core.ports import LogoutQueue
from gateway.core.ports import PolicyDocumentRepository
from gateway.core.ports import RefreshTokenRepository
from gateway.core.ports import SealedRecords
from gateway.core.ports import SubjectRepository
from gateway.core.ports import UnitOfWork
from gateway.core.ports import UnitOfWorkFactory
from gateway.store.sql.applications import SqlApplicationRepository
from gateway.store.sql.audit import SqlAuditRepository
from gateway.store.sql.clients import SqlClientRepository
from gateway.store.sql.consents import SqlConsentRepository
from gateway.store.sql.credentials import SqlCredentialRepository
from gateway.store.sql.data_keys import SqlDataKeyRepository
from gateway.store.sql.engine import SQLITE_BEGIN_OPTION
from gateway.store.sql.errors import sql_errors
from gateway.store.sql.errors import unavailable
from gateway.store.sql.grants import SqlGrantRepository
from gateway.store.sql.grants import SqlLogoutQueue
from gateway.store.sql.grants import SqlRefreshTokenRepository
from gateway.store.sql.guardianships import SqlGuardianConsentRepository
from gateway.store.sql.guardianships import SqlGuardianshipRepository
from gateway.store.sql.guardianships import SqlPersonIndex
from gateway.store.sql.invites import SqlAdminInviteRepository
from gateway.store.sql.keys import SqlKeyRepository
from gateway.store.sql.policies import SqlAdminQueries
from gateway.store.sql.policies import SqlPolicyDocumentRepository
from gateway.store.sql.schools import SqlRosterRepository
from gateway.store.sql.schools import SqlSchoolRepository
from gateway.store.sql.sealed import SqlSealedRecords
from gateway.store.sql.subjects import SqlSubjectRepository

_REPOSITORIES: dict[str, Callable[[Connection], object]] = {
    "clients": SqlClientRepository,
    "keys": SqlKeyRepository,
    "audit": SqlAuditRepository,
    "invites": SqlAdminInviteRepository,
    "data_keys": SqlDataKeyRepository,
    "sealed": SqlSealedRecords,
    "subjects": SqlSubjectRepository,
    "consents": SqlConsentRepository,
    "grants": SqlGrantRepository,
    "refresh_tokens": SqlRefreshTokenRepository,
    "logout_queue": SqlLogoutQueue,
    "policies": SqlPolicyDocumentRepository,
    "admin_queries": SqlAdminQueries,
    "credentials": SqlCredentialRepository,
    "schools": SqlSchoolRepository,
    "rosters": SqlRosterRepository,
    "guardianships": SqlGuardianshipRepository,
    "guardian_consents": SqlGuardianConsentRepository,
    "person_index": SqlPersonIndex,
    "applications": SqlApplicationRepository,
}
"""The repositories of a unit of work by attribute name, each over its connection."""


class SqlUnitOfWork:
    """One Core ``Connection`` (one transaction) and the repositories over it (each made
    when first used)."""

    clients: ClientRepository
    keys: KeyRepository
    audit: AuditRepository
    invites: AdminInviteRepository
    data_keys: DataKeyRepository
    sealed: SealedRecords
    subjects: SubjectRepository
    consents: ConsentRepository
    grants: GrantRepository
    refresh_tokens: RefreshTokenRepository
    logout_queue: LogoutQueue
    policies: PolicyDocumentRepository
    admin_queries: AdminQueries
    credentials: CredentialRepository
    schools: SchoolRepository
    rosters: RosterRepository
    guardianships: GuardianshipRepository
    guardian_consents: GuardianConsentRepository
    person_index: PersonIndex
    applications: ApplicationRepository

    def __init__(
        self,
        engine: Engine,
        *,
        read_only: bool = False,
        autocommit: bool = False,
        on_clients_changed: Callable[[], None] | None = None,
    ) -> None:
        """:param engine: as :meth:`SqlUnitOfWorkFactory.bind_for` gives it.
        :param autocommit: PostgreSQL: every statement commits by itself (the driver sends
            no ``BEGIN``); the pooled connection is switched back before it is returned.
        :param on_clients_changed: run after a commit that added or changed a client."""
        with sql_errors():
            connection = engine.connect()
            self._autocommit = autocommit
            if autocommit:
                try:
                    _switch_autocommit(connection, True)
                except BaseException:
                    connection.invalidate()
                    connection.close()
                    raise
        self._connection = connection
        self._read_only = read_only
        self._on_clients_changed = on_clients_changed

    def __getattr__(self, name: str) -> object:
        # The repositories are made on first use (a unit of work uses two or three of its
        # twenty, and a login opens several): then kept on the instance, so this runs once
        # per repository.
        factory = _REPOSITORIES.get(name)
        if factory is None:
            raise AttributeError(name)
        repository = factory(self._connection)
        setattr(self, name, repository)
        return repository

    @property
    def connection(self) -> Connection:
        """The underlying connection, for repositories added outside this package's list."""
        return self._connection

    def commit(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        with sql_errors():
            self._connection.commit()
        clients = vars(self).get("clients")  # made only when this unit of work used it
        if isinstance(clients, SqlClientRepository) and clients.written:
            clients.written = False
            if self._on_clients_changed is not None:
                self._on_clients_changed()

    def rollback(self) -> None:
        with sql_errors():
            self._connection.rollback()

    def __enter__(self) -> SqlUnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            # Rolls back whatever was not committed; nothing to do after ``commit()``.
            self._connection.rollback()
        except Exception as error:
            # Never hide the exception that is already leaving the block; otherwise the
            # failed rollback is the news (the transaction is gone with the connection).
            if exc is None:
                raise unavailable(error) from error
        finally:
            if self._autocommit:
                try:
                    _switch_autocommit(self._connection, False)
                except Exception:
                    # Never back to the pool in autocommit: a writer would run without a
                    # transaction. A connection that cannot be switched back is dropped.
                    self._connection.invalidate()
            self._connection.close()  # back to the pool, whatever happened


def _switch_autocommit(connection: Connection, on: bool) -> None:
    """psycopg's own switch (no round trip): SQLAlchemy's isolation-level execution option
    does the same with as much CPU as two round trips."""
    connection.connection.dbapi_connection.autocommit = on  # type: ignore[union-attr]


class SqlUnitOfWorkFactory:
    """``UnitOfWorkFactory`` over one engine: ``with factory() as uow: …``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = self.bind_for(engine, read_only=False)
        self._reader = self.bind_for(engine, read_only=True)
        self._autocommit = engine.dialect.name == "postgresql"
        self._on_clients_changed: Callable[[], None] | None = None

    def on_clients_changed(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` after every commit that added or changed a client (the composition
        root moves the client-cache version: ``gateway.oauth.client_cache``)."""
        self._on_clients_changed = hook

    @property
    def engine(self) -> Engine:
        return self._engine

    @staticmethod
    def bind_for(engine: Engine, *, read_only: bool) -> Engine:
        """The engine a unit of work runs on: SQLite writers ``BEGIN IMMEDIATE`` (see the
        module docstring; PostgreSQL's readers switch their connection to autocommit)."""
        if engine.dialect.name == "sqlite" and not read_only:
            return engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        return engine

    def __call__(
        self, *, read_only: bool = False, atomic_statements: bool = False
    ) -> SqlUnitOfWork:
        if read_only:
            return SqlUnitOfWork(self._reader, read_only=True, autocommit=self._autocommit)
        if atomic_statements and self._autocommit:
            # Each statement commits by itself; commit() has nothing left to send.
            return SqlUnitOfWork(
                self._writer, autocommit=True, on_clients_changed=self._on_clients_changed
            )
        return SqlUnitOfWork(self._writer, on_clients_changed=self._on_clients_changed)


_uow: type[UnitOfWork] = SqlUnitOfWork
_factory: type[UnitOfWorkFactory] = SqlUnitOfWorkFactory
