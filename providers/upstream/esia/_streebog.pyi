"""Type stub of the optional C accelerator ``_streebog.c`` (see ``streebog.py``)."""

from typing_extensions import Buffer

def digest(data: Buffer, size: int, /) -> bytes:
    """GOST R 34.11-2012 hash of ``data``; ``size`` is 32 or 64 (digest bytes), else ValueError."""
