"""What the benchmarks that start servers share: free ports, waiting for a server,
CPU seconds of a process tree from ``/proc``, the store backend (SQLite, or PostgreSQL +
Redis with a schema and key prefix of its own, dropped after), config files, and child
processes stopped by PID."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import requests

TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, deadline_seconds: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


# ------------------------------------------------------------------------------ CPU


def _stat(pid: int) -> tuple[int, float] | None:
    """(ppid, user+system seconds) of ``pid`` from ``/proc/<pid>/stat``."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def tree_cpu(root: int) -> tuple[float, int]:
    """CPU seconds of ``root`` and its direct children (gunicorn: master + workers)."""
    total, count = 0.0, 0
    own = _stat(root)
    if own is not None:
        total, count = own[1], 1
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        info = _stat(int(entry.name))
        if info is not None and info[0] == root:
            total += info[1]
            count += 1
    return total, count


# ------------------------------------------------------------------------------ backends


@dataclass
class Backend:
    name: str
    store: dict[str, object] = field(default_factory=dict)
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for step in reversed(self.cleanup):
            with contextlib.suppress(Exception):
                step()


def backend() -> Backend:
    choice = os.environ.get("BENCH_BACKEND", "sqlite")
    if choice != "redis-pg":
        return Backend("SQLite + SQL ephemeral store")
    import redis
    import sqlalchemy

    pg = os.environ.get("GATEWAY_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/test")
    rd = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    name = f"vhod_bench_{secrets.token_hex(4)}"
    admin = sqlalchemy.create_engine(pg)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{name}"'))
    separator = "&" if "?" in pg else "?"
    backend = Backend(
        "PostgreSQL + Redis",
        {
            "database_url": f"{pg}{separator}options=-csearch_path%3D{name}",
            "ephemeral_url": rd,
            "redis_prefix": name,
        },
    )

    def drop_schema() -> None:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()

    def drop_keys() -> None:
        client = redis.Redis.from_url(rd)
        keys = list(client.scan_iter(f"{name}:*"))
        if keys:
            client.delete(*keys)
        client.close()

    backend.cleanup += [drop_schema, drop_keys]
    return backend


# ------------------------------------------------------------------------------ processes


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, sections: dict[str, dict[str, object]]) -> None:
    lines: list[str] = []
    for section, options in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml(value)}" for key, value in options.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


@contextlib.contextmanager
def process(
    argv: list[str], env: dict[str, str], cwd: Path, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``argv`` in a session of its own (output to ``log`` or nowhere); at the end
    stop it with SIGTERM, then SIGKILL any child of it still left, by PID."""
    with contextlib.ExitStack() as files:
        sink = files.enter_context(log.open("ab")) if log is not None else subprocess.DEVNULL
        proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=sink, stderr=sink, start_new_session=True
        )
    try:
        yield proc
    finally:
        children = children_of(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def children_of(root: int) -> set[int]:
    """The PIDs whose parent is ``root``."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            info = _stat(int(entry.name))
            if info is not None and info[0] == root:
                found.add(int(entry.name))
    return found
