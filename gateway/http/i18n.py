"""Russian by default, English available: one catalogue (``messages.toml``), one helper.

The language comes from ``?lang=`` (remembered in a cookie), then the cookie, then
``Accept-Language``; anything else falls back to Russian. Every page has a switch to the
other language (:func:`switch_url`); dates read «12 марта 2015 г.» (:func:`human_time`).
Protocol text (OAuth error descriptions) stays ASCII English and never goes through here.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit

from flask import Response
from flask import g
from flask import request

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
LANG_COOKIE = "vhod_lang"
LANG_COOKIE_SECONDS = 365 * 24 * 3600
MOSCOW = timezone(timedelta(hours=3), "MSK")  # no daylight saving time since 2014


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


def switch_url(this_page: bool = True) -> str | None:
    """Where the language switch leads: this page (a GET) or the page the form was on (a
    POST answered with a page), with ``lang`` set to the other language; ``None`` when
    there is no such page to show again. Error pages never echo what was asked for (not
    even escaped): their switch (``this_page=False``) leads to vhod's home page."""
    other = "en" if current_language() == "ru" else "ru"
    if not this_page:
        return f"{request.script_root}/?lang={other}"
    if request.method == "GET":
        path, query = request.path, request.query_string.decode("latin-1")
    else:
        referrer = urlsplit(request.referrer or "")
        if referrer.netloc != request.host or not referrer.path:
            return None
        path, query = referrer.path, referrer.query
    args = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "lang"]
    return f"{path}?{urlencode([*args, ('lang', other)])}"


def remember_language(response: Response) -> Response:
    """``?lang=`` is remembered for the next pages (a cookie for a year)."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(
            LANG_COOKIE,
            chosen,
            max_age=LANG_COOKIE_SECONDS,
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
    return response


_MONTHS = {
    "ru": (
        "января", "февраля", "марта", "апреля", "мая", "июня",
        "июля", "августа", "сентября", "октября", "ноября", "декабря",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip


def human_time(value: float | None, seconds: bool = False) -> str:
    """A moment as people read it, in Moscow time: «12 марта 2015 г., 10:30 МСК» /
    "12 March 2015, 10:30 Moscow time" (``seconds``: 10:30:05); ``""`` for none."""
    if value is None:
        return ""
    when = datetime.fromtimestamp(value, tz=MOSCOW)
    lang = current_language()
    clock = when.strftime("%H:%M:%S" if seconds else "%H:%M")
    month = _MONTHS[lang][when.month - 1]
    if lang == "ru":
        return f"{when.day} {month} {when.year} г., {clock} МСК"
    return f"{when.day} {month} {when.year}, {clock} Moscow time"
