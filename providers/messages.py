"""People-facing texts a provider ships for the gateway's catalogue
(``gateway.http.i18n.register_messages``)."""

from __future__ import annotations

import tomllib
from pathlib import Path

LANGUAGES = ("ru", "en")


def load_messages(path: Path) -> dict[str, dict[str, str]]:
    """The ``[ru]`` and ``[en]`` tables of a TOML file, ``{"ru": {...}, "en": {...}}``."""
    with path.open("rb") as f:
        data = tomllib.load(f)
    return {lang: {str(k): str(v) for k, v in data[lang].items()} for lang in LANGUAGES}
