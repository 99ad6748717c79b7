"""Crash points for fault-injection tests (SECURITY.md §5 R5): ``VHOD_CRASH_AT`` names
points (comma-separated) where the serving process kills itself with SIGKILL, the way a
power cut or the OOM killer would, so that a test can show that what was half done is
all or nothing.

Test-only: :func:`crash_point_problems` refuses the variable outside dev mode (``vhod
serve`` and ``vhod config check`` report it), and unknown names are refused too. Each
point fires once per data directory: a marker file ``crash-<point>`` is created (``O_EXCL``)
before the kill, so the process manager's next worker passes it and a test can walk
through several points against one server.

Cost on the hot path: :func:`crash_point` is one membership test of an empty frozenset
unless the variable armed it.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "CRASH_POINTS",
    "ENV_CRASH_AT",
    "arm_from_environment",
    "crash_point",
    "crash_point_problems",
]

ENV_CRASH_AT = "VHOD_CRASH_AT"

CRASH_POINTS = frozenset(
    {
        "token.code_consumed",  # the code is consumed, the grant not yet written
        "token.code_saved",  # the grant and its refresh token committed, no answer yet
        "token.refresh_rotated",  # the next refresh token committed, no answer yet
        "factor.verified",  # the second factor's code is consumed, the journey not raised
        "guardianship.child_written",  # the child's subject and index written, no link yet
    }
)

_armed: frozenset[str] = frozenset()
_markers: Path | None = None


def _named(env: Mapping[str, str]) -> list[str]:
    return [p.strip() for p in env.get(ENV_CRASH_AT, "").split(",") if p.strip()]


def crash_point_problems(production: bool, env: Mapping[str, str] | None = None) -> list[str]:
    """What is wrong with ``VHOD_CRASH_AT`` (empty when unset)."""
    names = _named(os.environ if env is None else env)
    if not names:
        return []
    if production:
        return [f"{ENV_CRASH_AT}: crash points are for tests; refused in production"]
    unknown = sorted(set(names) - CRASH_POINTS)
    if unknown:
        return [f"{ENV_CRASH_AT}: unknown crash point(s) {', '.join(unknown)}"]
    return []


def arm_from_environment(marker_dir: Path, env: Mapping[str, str] | None = None) -> None:
    """Arm the points ``VHOD_CRASH_AT`` names (call after :func:`crash_point_problems`
    found nothing); markers go to ``marker_dir``."""
    global _armed, _markers
    _armed = frozenset(_named(os.environ if env is None else env)) & CRASH_POINTS
    _markers = marker_dir


def crash_point(name: str) -> None:
    """SIGKILL this process here, once, when ``name`` is armed."""
    if name not in _armed or _markers is None:
        return
    try:
        fd = os.open(_markers / f"crash-{name}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)
