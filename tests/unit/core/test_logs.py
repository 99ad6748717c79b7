"""Logs carry named events and ids, never personal data or credentials (T100)."""

from __future__ import annotations

import io
import json
import logging

from gateway.core.logs import _ANY_PATTERN
from gateway.core.logs import _PATTERNS
from gateway.core.logs import JsonFormatter
from gateway.core.logs import PersonalDataFilter
from gateway.core.logs import log_event
from gateway.core.logs import redact
from gateway.core.logs import request_id_var

CANARIES = {
    "snils": "112-233-445 95",
    "phone": "+7(912)3456789",
    "email": "ivan.petrov@example.ru",
    "birth_cert": "IV-МЮ 123456",
    "passport": "4509 123456",
    "jwt": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    "birthdate": "14.03.1986",
}


def _capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PersonalDataFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.redaction")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_redact_masks_each_kind() -> None:
    for kind, value in CANARIES.items():
        assert value not in redact(f"before {value} after"), kind


def test_one_pass_finds_what_any_pattern_finds() -> None:
    """``redact`` runs the substitutions only where the one-pass pattern matched: it must
    match every text that any pattern matches, each pattern included."""
    samples = [
        *CANARIES.values(),
        "Bearer abcdefgh12345",
        "BASIC dXNlcjpwYXNzd29yZA==",
        "redirect?CODE=abc123&state=x",
        "{'refresh_token': 'abc'}",
        '"Password"= "hunter2"',
        "12345678901",
        "8 (912) 345-67-89",
        "XII-АБ № 654321",
        "01 02 № 123456",
    ]
    for pattern, _ in _PATTERNS:
        matching = [text for text in samples if pattern.search(f"x {text} y")]
        assert matching, pattern.pattern
        for text in matching:
            assert _ANY_PATTERN.search(f"x {text} y"), (pattern.pattern, text)
            assert redact(f"x {text} y") != f"x {text} y", text


def test_event_fields_are_filtered_and_structured() -> None:
    logger, stream = _capture()
    token = request_id_var.set("req-1234")
    try:
        log_event(
            logger,
            "client.added",
            client_id="school1",
            snils=CANARIES["snils"],
            note=f"phone {CANARIES['phone']} mail {CANARIES['email']}",
            state="abc\r\nforged line",
        )
        logger.info("free text with %s and %s", CANARIES["jwt"], CANARIES["birth_cert"])
        try:
            raise ValueError(f"bad input {CANARIES['passport']}")
        except ValueError:
            logger.exception("upstream.failed")
    finally:
        request_id_var.reset(token)
    out = stream.getvalue()
    for value in CANARIES.values():
        assert value not in out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    first = lines[0]
    assert first["event"] == "client.added"
    assert first["client_id"] == "school1"
    assert first["request_id"] == "req-1234"
    assert first["snils"] == "[redacted]"
    assert "\n" not in first["state"]
    assert lines[2]["event"].startswith("upstream.failed")
    assert "ValueError" in lines[2]["event"]


def test_token_parameters_in_urls_are_masked() -> None:
    text = redact("GET /cb?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz&client_secret=hunter2hunter2")
    assert "SplxlOBeZQQYbYS6WxSbIA" not in text
    assert "hunter2" not in text
    assert "state=xyz" in text


def test_credentials_in_reprs_and_json_are_masked() -> None:
    text = redact(
        "Issue token {'access_token': 'abc.def', 'refresh_token': 'HK_O6h2s5Grzam'} "
        '{"client_secret": "hunter2hunter2", "code": "SplxlOBeZQQ"}'
    )
    for value in ("HK_O6h2s5Grzam", "hunter2hunter2", "SplxlOBeZQQ", "abc.def"):
        assert value not in text
