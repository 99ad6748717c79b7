"""Russian by default, English available: one catalogue (``messages.toml``), one helper.

The language comes from ``?lang=`` (remembered in a cookie), then the cookie, then
``Accept-Language``; anything else falls back to Russian. Protocol text (OAuth error
descriptions) stays ASCII English and never goes through here.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from flask import g
from flask import request

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
LANG_COOKIE = "vhod_lang"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    with (Path(__file__).parent / "messages.toml").open("rb") as f:
        data = tomllib.load(f)
    return {lang: {str(k): str(v) for k, v in data[lang].items()} for lang in LANGUAGES}


def current_language() -> str:
    cached = g.get("vhod_lang")
    if isinstance(cached, str):
        return cached
    lang = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    if lang not in LANGUAGES:
        best = request.accept_languages.best_match(LANGUAGES)
        lang = best if best in LANGUAGES else DEFAULT_LANGUAGE
    g.vhod_lang = lang
    return lang


def t(key: str) -> str:
    """The message ``key`` in the current language (the key itself if missing)."""
    messages = catalogue()
    lang = current_language()
    return messages[lang].get(key) or messages[DEFAULT_LANGUAGE].get(key) or key


def register_messages(extra: dict[str, dict[str, str]]) -> None:
    """Merge messages of a feature (e.g. ESIA error pages) into the catalogue."""
    messages = catalogue()
    for lang, entries in extra.items():
        messages.setdefault(lang, {}).update(entries)
