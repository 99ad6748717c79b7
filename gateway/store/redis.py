"""``RedisEphemeralStore``: the production ephemeral store.

Keys are ``"<prefix>:<namespace>:<key>"``; every write sets a TTL, so nothing outlives
its purpose even if the code that should delete it never runs. Expiry is Redis's own
(server time), so several gateway instances agree on it; the injected clock is accepted
for symmetry with the other backends but not used.

Values are stored with a one-byte tag so that a value and its tombstone can share one key
and be swapped atomically:

* ``b"v" + value`` — a live value (``put``);
* ``b"t" + value`` — a tombstone left by ``consume``, remembering the value;
* a bare decimal integer — a counter (``incr``; ``INCRBY`` needs the bare form). Neither
  tag is a digit or ``-``, so the three never mix up.

``consume`` and ``incr`` are Lua scripts, i.e. single atomic commands on the server:
``consume`` reads the key and either returns the value and replaces it with its tombstone
(``SET … EX tombstone_ttl``) or reports the tombstone (→ :class:`ReplayDetected`);
``incr`` adds and sets the TTL only when the counter has none yet (created now: a fixed
window). Scripts touch one key each, so they work on Redis Cluster too.

Commands go out through :class:`_Lane`: redis-py's connections and reply parser, kept in
a list of idle connections, without the client layer around them (its retry wrapper,
observability hooks, pool bookkeeping and reply callbacks cost twice the command itself:
about 60 µs against 30 µs of CPU a call on the token endpoint, issue 13).

Every Redis error (refused or lost connection, timeout, ``READONLY``, ``OOM``, …) raises
:class:`StoreUnavailable` (``store="redis"``). The client must not retry on its own:
retrying a ``consume`` whose reply was lost would turn a legitimate first use into a
"replay"; ``gateway.store.factory`` builds clients with retries off and socket timeouts
set to the store's operation timeout.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

import redis
from redis import exceptions as redis_exc

from gateway.core.errors import ReplayDetected
from gateway.core.errors import StoreUnavailable
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.store._checks import check_amount
from gateway.store._checks import check_namespace
from gateway.store._checks import check_ttl

STORE_NAME = "redis"
_VALUE = b"v"
_TOMBSTONE = b"t"

# KEYS[1] = key; ARGV[1] = tombstone TTL (s). Returns nil | {0, value} | {1, value}.
_CONSUME = """
local v = redis.call('GET', KEYS[1])
if not v then return false end
local tag = string.sub(v, 1, 1)
if tag == 't' then return {1, string.sub(v, 2)} end
if tag == 'v' then v = string.sub(v, 2) end
redis.call('SET', KEYS[1], 't' .. v, 'EX', ARGV[1])
return {0, v}
"""

# KEYS[1] = key; ARGV[1] = amount, ARGV[2] = TTL (s). Returns the new value.
_INCR = """
local v = redis.call('GET', KEYS[1])
if v then
  local tag = string.sub(v, 1, 1)
  if tag == 'v' or tag == 't' then redis.call('DEL', KEYS[1]) end
end
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return n
"""


class _Lane:
    """Commands on connections of the client's kind, one idle connection taken per command.

    Connections are made from the client pool's connection class and settings (host,
    timeouts, protocol) but are the lane's own: the pool's ``make_connection`` counts
    every connection it makes against ``max_connections`` until it is released to the
    pool, which the lane never does, so every dropped connection would count for good and
    the store would end with ``Too many connections``. The lane holds at most one
    connection per thread in a command, and keeps the idle ones for the next. A
    connection whose command failed other than by a server error reply (lost, timed out,
    half-read) is closed and dropped; after a fork the idle ones are left to the parent.
    No retry, as the client is configured (see the module docstring).
    """

    def __init__(self, client: redis.Redis) -> None:
        self._pool = client.connection_pool
        self._idle: deque[Any] = deque()
        self._pid = os.getpid()

    def _take(self) -> Any:
        if self._pid != os.getpid():
            self._idle = deque()
            self._pid = os.getpid()
        try:
            conn = self._idle.pop()
        except IndexError:
            return self._pool.connection_class(**self._pool.connection_kwargs)
        _fresh(conn)
        return conn

    def __call__(self, *args: Any) -> Any:
        return self.pipeline(args)[0]

    def pipeline(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Several commands in one write and their replies in order (not a transaction);
        a server error reply to any of them is raised once all replies are read."""
        conn = self._take()
        replies: list[Any] = []
        try:
            conn.send_packed_command(conn.pack_commands(commands))
            for _ in commands:
                try:
                    replies.append(conn.read_response())
                except redis_exc.ResponseError as error:
                    replies.append(error)
        except BaseException:
            conn.disconnect()
            raise
        self._idle.append(conn)
        for reply in replies:
            if isinstance(reply, redis_exc.ResponseError):
                raise reply
        return replies

    def script(self, script: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """``EVALSHA``, loading the script once when the server does not know it."""
        try:
            return self("EVALSHA", script.sha, len(keys), *keys, *args)
        except redis_exc.NoScriptError:
            self("SCRIPT", "LOAD", script.script)
            return self("EVALSHA", script.sha, len(keys), *keys, *args)


def _fresh(conn: Any) -> None:
    """Close an idle connection that has something to read: the server closed it (EOF,
    e.g. after a restart or its idle ``timeout``) or left a stray reply. The command then
    goes out on a new connection instead of failing (redis-py's pool checks the same)."""
    try:
        stale = conn.can_read()
    except (redis_exc.ConnectionError, redis_exc.TimeoutError, OSError):
        stale = True
    if stale:
        conn.disconnect()


class RedisEphemeralStore:
    """The ``EphemeralStore`` port over Redis.

    :param client: a ``redis.Redis`` built by ``gateway.store.factory`` (bytes replies,
        timeouts set, no automatic retries).
    :param prefix: the first part of every key, so several deployments can share a Redis.
    :param clock: unused (Redis expires keys by its own clock); accepted for symmetry.
    """

    def __init__(self, client: redis.Redis, prefix: str, clock: Clock | None = None) -> None:
        if not prefix:
            raise ValueError("prefix must not be empty")
        self._client = client
        self._prefix = prefix
        self._consume = client.register_script(_CONSUME)
        self._incr = client.register_script(_INCR)
        self._lane = _Lane(client)

    @property
    def client(self) -> redis.Redis:
        return self._client

    def redis_key(self, namespace: str, key: str) -> str:
        """The Redis key of (namespace, key)."""
        return f"{self._prefix}:{namespace}:{key}"

    def put(self, namespace: str, key: str, value: bytes, ttl_seconds: int) -> None:
        check_namespace(namespace)
        check_ttl(ttl_seconds)
        with _redis_errors():
            self._lane(
                "SET", self.redis_key(namespace, key), _VALUE + bytes(value), "EX", ttl_seconds
            )

    def put_many(self, items: Sequence[tuple[str, str, bytes, int]]) -> None:
        for namespace, _, _, ttl_seconds in items:
            check_namespace(namespace)
            check_ttl(ttl_seconds)
        if not items:
            return
        sets = [
            ("SET", self.redis_key(namespace, key), _VALUE + bytes(value), "EX", ttl_seconds)
            for namespace, key, value, ttl_seconds in items
        ]
        with _redis_errors():
            # One round trip; MULTI/EXEC: no other client sees some of the items only (a
            # command refused while queued aborts the whole transaction: EXECABORT).
            self._lane.pipeline(("MULTI",), *sets, ("EXEC",))

    def get(self, namespace: str, key: str) -> bytes | None:
        check_namespace(namespace)
        with _redis_errors():
            raw: Any = self._lane("GET", self.redis_key(namespace, key))
        return _stored(raw)

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[bytes | None]:
        """One ``MGET``."""
        for namespace, _ in keys:
            check_namespace(namespace)
        if not keys:
            return []
        with _redis_errors():
            raws: Any = self._lane("MGET", *[self.redis_key(ns, key) for ns, key in keys])
        return [_stored(raw) for raw in raws]

    def put_and_get_many(
        self, item: tuple[str, str, bytes, int], keys: Sequence[tuple[str, str]]
    ) -> list[bytes | None]:
        """``SET`` and ``MGET`` pipelined: one round trip."""
        namespace, key, value, ttl_seconds = item
        check_namespace(namespace)
        check_ttl(ttl_seconds)
        for other, _ in keys:
            check_namespace(other)
        if not keys:
            self.put(*item)
            return []
        with _redis_errors():
            _, raws = self._lane.pipeline(
                ("SET", self.redis_key(namespace, key), _VALUE + bytes(value), "EX", ttl_seconds),
                ("MGET", *[self.redis_key(ns, k) for ns, k in keys]),
            )
        return [_stored(raw) for raw in raws]

    def delete(self, namespace: str, key: str) -> bool:
        check_namespace(namespace)
        with _redis_errors():
            removed: Any = self._lane("DEL", self.redis_key(namespace, key))
        return int(removed) > 0

    def consume(self, namespace: str, key: str, tombstone_ttl_seconds: int) -> bytes | None:
        check_namespace(namespace)
        check_ttl(tombstone_ttl_seconds, "tombstone_ttl_seconds")
        with _redis_errors():
            reply: Any = self._lane.script(
                self._consume, [self.redis_key(namespace, key)], [tombstone_ttl_seconds]
            )
        if reply is None:
            return None
        replayed, value = int(reply[0]), bytes(reply[1])
        if replayed:
            raise ReplayDetected(namespace, value=value)
        return value

    def incr(self, namespace: str, key: str, ttl_seconds: int, amount: int = 1) -> int:
        check_namespace(namespace)
        check_ttl(ttl_seconds)
        check_amount(amount)
        with _redis_errors():
            reply: Any = self._lane.script(
                self._incr, [self.redis_key(namespace, key)], [amount, ttl_seconds]
            )
        return int(reply)

    def ping(self) -> None:
        with _redis_errors():
            self._lane("PING")

    def server_time(self) -> float:
        """Redis's own clock (``TIME``), the time authority of a multi-node deployment."""
        with _redis_errors():
            seconds, micros = self._lane("TIME")
        return float(seconds) + float(micros) / 1e6


def _stored(raw: Any) -> bytes | None:
    """A value as ``get`` returns it: tombstones are absent, counters are their digits."""
    if raw is None:
        return None
    data = bytes(raw)
    tag = data[:1]
    if tag == _TOMBSTONE:
        return None
    if tag == _VALUE:
        return data[1:]
    return data  # a counter


@contextmanager
def _redis_errors() -> Iterator[None]:
    try:
        yield
    except redis_exc.RedisError as error:
        raise StoreUnavailable(store=STORE_NAME, debug=_describe(error)) from error


def _describe(error: redis_exc.RedisError) -> str:
    """Log-safe: connection errors say where and why; server errors only their code."""
    name = type(error).__name__
    message = str(error).strip()
    if isinstance(error, redis_exc.ConnectionError | redis_exc.TimeoutError):
        return f"{name}: {message.splitlines()[0] if message else ''}"[:300]
    code = message.split(" ", 1)[0] if message else ""
    return f"{name}: {code}"


_: type[EphemeralStore] = RedisEphemeralStore
