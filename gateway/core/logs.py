"""Structured logs with named events, a request id, and no personal data.

* ``log_event(logger, "client.added", client_id=...)`` writes one line whose message is
  the event name (``noun.verb``) and whose fields are attached as structured data.
* :class:`PersonalDataFilter` is the safety net on every handler: it masks anything that
  looks like a SNILS, a phone number, an e-mail address, a passport or birth-certificate
  number, a JWT, or a bearer credential, in the message and in every field. Callers must
  not rely on it — they pass ids, digests and reason codes only.
* The request id and journey id of the current request travel in context variables set
  by the HTTP layer, so every line carries them without threading them through calls.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from datetime import UTC
from datetime import datetime
from typing import Any

import orjson

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "vhod_request_id", default=None
)
journey_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "vhod_journey_id", default=None
)

_FIELDS_ATTR = "vhod_fields"

# Patterns of personal data and credentials. Order matters: JWTs before generic tokens.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), "[jwt]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [credential]"),
    (
        re.compile(
            r"(?i)\b(client_secret|code_verifier|refresh_token|access_token|id_token|"
            r"password|code|secret|token|pin|otp)=([^&\s\"']+)"
        ),
        r"\1=[redacted]",
    ),
    (
        re.compile(
            r"(?i)([\"']?(?:client_secret|code_verifier|refresh_token|access_token|id_token|"
            r"password|code|secret|token|logout_token)[\"']?\s*[:=]\s*)[\"'][^\"']*[\"']"
        ),
        r"\1'[redacted]'",
    ),
    (re.compile(r"\b\d{3}-\d{3}-\d{3}[ -]\d{2}\b"), "[snils]"),
    (re.compile(r"\b\d{11}\b"), "[number]"),
    (re.compile(r"\+7\s?\(?\d{3}\)?\s?\d{3}[-\s]?\d{2}[-\s]?\d{2}\b"), "[phone]"),
    (re.compile(r"\b8\s?\(?9\d{2}\)?\s?\d{3}[-\s]?\d{2}[-\s]?\d{2}\b"), "[phone]"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    (re.compile(r"\b[IVXLCІХС]{1,6}-?[А-ЯЁ]{2}\s?№?\s?\d{6}\b"), "[birth-cert]"),
    (re.compile(r"\b\d{2}\s?\d{2}\s?№?\s?\d{6}\b"), "[document]"),
    (re.compile(r"\b\d{2}\.\d{2}\.(19|20)\d{2}\b"), "[date]"),
)


def _scoped(pattern: re.Pattern[str]) -> str:
    """``pattern``'s source with a leading ``(?i)`` made a scoped group, as an alternative
    of a larger expression may have it."""
    source = pattern.pattern
    return f"(?i:{source[4:]})" if source.startswith("(?i)") else f"(?:{source})"


_ANY_PATTERN = re.compile("|".join(_scoped(pattern) for pattern, _ in _PATTERNS))
"""Matches where any of :data:`_PATTERNS` does: one pass tells a clean text (most are:
ids, digests, reason codes) from one the substitutions must run on."""

_SENSITIVE_KEYS = frozenset(
    {
        "snils",
        "phone",
        "phone_number",
        "email",
        "name",
        "first_name",
        "last_name",
        "middle_name",
        "family_name",
        "given_name",
        "birthdate",
        "birth_date",
        "document",
        "series",
        "number",
        "password",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "code",
        "code_verifier",
        "otp",
        "cookie",
        "authorization",
        "oid",
    }
)


QUIET_LIBRARIES = ("authlib", "urllib3", "requests")


def redact(text: str) -> str:
    """Mask personal data and credentials in free text.

    One pass of all the patterns at once (:data:`_ANY_PATTERN`) finds a clean text; the
    substitutions run only on a text where one of them matched. Short texts that need no
    masking (event names, ids, reason codes: the same few values on every line) are
    remembered, so even that pass runs once per distinct value, not once per line. A text
    that needed masking is never remembered (nothing personal is kept).
    """
    if text in _CLEAN:
        return text
    masked = text
    if _ANY_PATTERN.search(text) is not None:
        for pattern, replacement in _PATTERNS:
            masked = pattern.sub(replacement, masked)
    if masked == text and len(text) <= _CLEAN_MAX_LENGTH:
        if len(_CLEAN) >= _CLEAN_MAX_ENTRIES:
            _CLEAN.clear()
        _CLEAN.add(text)
    return masked


_CLEAN: set[str] = set()
_CLEAN_MAX_LENGTH = 64
_CLEAN_MAX_ENTRIES = 4096


def _redact_value(key: str, value: Any) -> Any:
    if key.lower() in _SENSITIVE_KEYS:
        return "[redacted]"
    if isinstance(value, str):
        return redact(value.replace("\r", "\\r").replace("\n", "\\n"))
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    return value


class PersonalDataFilter(logging.Filter):
    """The safety net: masks personal data in every record's message, args and fields.

    CR/LF in values are escaped so that a crafted ``state`` cannot forge log lines.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message.replace("\r", "\\r").replace("\n", "\\n"))
        record.args = None
        fields = getattr(record, _FIELDS_ATTR, None)
        if isinstance(fields, dict):
            setattr(record, _FIELDS_ATTR, {k: _redact_value(k, v) for k, v in fields.items()})
        if record.exc_info and record.exc_info[1] is not None:
            # Keep the traceback but never the exception text, which may echo input.
            exc = record.exc_info[1]
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            record.msg = f"{record.msg} [{type(exc).__name__}]"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, event, ids, fields."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": _utc_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            body["request_id"] = rid
        jid = journey_id_var.get()
        if jid:
            body["journey_id"] = jid
        fields = getattr(record, _FIELDS_ATTR, None)
        if isinstance(fields, dict):
            body.update({k: v for k, v in fields.items() if k not in body})
        if record.exc_text:
            body["traceback"] = record.exc_text
        return orjson.dumps(body, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


_second: tuple[int, str] = (-1, "")


def _utc_time(created: float) -> str:
    """``2026-12-07T08:50:01.123+00:00``; the part up to the second is made once a second
    (one atomic assignment: threads may race, never tear)."""
    global _second
    whole = int(created)
    second = _second
    if second[0] != whole:
        second = (whole, datetime.fromtimestamp(whole, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S"))
        _second = second
    return f"{second[1]}.{int((created - whole) * 1000):03d}+00:00"


class TextFormatter(logging.Formatter):
    """Human-readable lines for dev: ``time level [request] event key=value …``."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, tz=UTC).strftime("%H:%M:%S")
        rid = request_id_var.get()
        fields = getattr(record, _FIELDS_ATTR, None) or {}
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        line = f"{when} {record.levelname:<7} {'[' + rid[:8] + '] ' if rid else ''}"
        line += f"{record.getMessage()} {extra}".rstrip()
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Install one stderr handler with the redaction filter on the root logger."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_vhod", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._vhod = True  # type: ignore[attr-defined]
    handler.addFilter(PersonalDataFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # No line shows the process, thread or source line: the logging module need not find
    # them for every record (its documented optimisation switches).
    logging.logProcesses = False
    logging.logThreads = False
    logging.logMultiprocessing = False
    logging._srcfile = None
    # Libraries that log credentials at DEBUG (Authlib logs issued tokens; urllib3 logs
    # URLs that may carry ids) never log below INFO, whatever the configured level.
    for noisy in QUIET_LIBRARIES:
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLevelName(level)))


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Write a named event (``noun.verb``) with safe structured fields."""
    logger.log(level, event, extra={_FIELDS_ATTR: fields})
