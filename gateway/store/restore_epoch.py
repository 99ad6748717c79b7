"""The not-before epoch of a database restore (SECURITY.md §5 R15), kept where restoring
the database cannot roll it back.

``vhod db restored`` (after a snapshot was restored) sets it to now; from then on access
tokens whose ``iat`` and grants (refresh-token chains) whose creation precede it are dead,
and the command revokes the consents granted before it in the restored database. The
value is the larger of two copies, neither of which is in the durable database:

* the file ``<data_dir>/not-before`` (one line, seconds since the epoch; written
  atomically) — on the embedded default the ephemeral store shares the database file, so
  this is the copy that survives a restore of ``vhod.db``;
* the ephemeral store (``restore/not_before``, kept ten years) — with Redis this is the
  copy every node reads, wherever the command ran.

The value is read at most every ``refresh_seconds`` (five by default) per process, so a
check costs nothing on the hot path; a running node sees a new epoch within that time.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from pathlib import Path

from gateway.core.ports import EphemeralStore

__all__ = ["EPOCH_FILE", "StoredRestoreEpoch"]

EPOCH_FILE = "not-before"
NAMESPACE = "restore"
KEY = "not_before"
KEEP_SECONDS = 10 * 365 * 24 * 3600


def _parse(raw: bytes | str | None) -> float:
    if raw is None:
        return 0.0
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        text = raw.decode("ascii") if isinstance(raw, bytes) else raw
        value = float(text.strip())
        if value >= 0 and value == value and value != float("inf"):
            return value
    return 0.0


class StoredRestoreEpoch:
    """:class:`gateway.core.ports.RestoreEpoch` over a file and the ephemeral store."""

    def __init__(
        self, data_dir: Path, ephemeral: EphemeralStore, refresh_seconds: float = 5.0
    ) -> None:
        self._file = data_dir / EPOCH_FILE
        self._ephemeral = ephemeral
        self._refresh = refresh_seconds
        self._value = 0.0
        self._read_at: float | None = None

    def not_before(self) -> float:
        now = time.monotonic()
        if self._read_at is None or now - self._read_at >= self._refresh:
            self._value = max(self._from_file(), _parse(self._ephemeral.get(NAMESPACE, KEY)))
            self._read_at = now
        return self._value

    def bump(self, at: float) -> float:
        """Set the epoch to ``at`` rounded up to a whole second (never lower than it is) in
        both copies; the epoch. Rounding up errs on the safe side: ``iat`` has whole
        seconds, so a token of the same second is dead whether it came before or after."""
        stored = _parse(self._ephemeral.get(NAMESPACE, KEY))
        value = max(float(math.ceil(at)), self._from_file(), stored)
        text = repr(value)
        temporary = self._file.with_suffix(".tmp")
        temporary.write_text(text + "\n", encoding="ascii")
        os.replace(temporary, self._file)
        self._ephemeral.put(NAMESPACE, KEY, text.encode("ascii"), KEEP_SECONDS)
        self._value, self._read_at = value, time.monotonic()
        return value

    def _from_file(self) -> float:
        try:
            return _parse(self._file.read_text(encoding="ascii"))
        except (FileNotFoundError, UnicodeDecodeError):
            return 0.0
