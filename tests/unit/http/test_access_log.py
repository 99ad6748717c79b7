"""The access line of ``vhod serve``: method, path without query, status, size, time —
gunicorn's logger class and the WSGI middleware used under granian."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from gunicorn.config import Config

from gateway.access_log import AccessLog
from gateway.access_log import AccessLogger


def test_access_line_has_no_query_string(capsys: pytest.CaptureFixture[str]) -> None:
    cfg = Config()
    cfg.set("accesslog", "-")
    logger = AccessLogger(cfg)
    environ = {
        "REMOTE_ADDR": "10.0.0.7",
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/login/callback/esia",
        "QUERY_STRING": "code=secret-code&state=abc",
    }
    resp = SimpleNamespace(status="303 SEE OTHER", sent=0)
    logger.access(resp, None, environ, timedelta(milliseconds=12))
    out = capsys.readouterr().out
    assert out.splitlines() == ['10.0.0.7 "GET /login/callback/esia" 303 0 12ms']


def test_no_line_without_an_access_log(capsys: pytest.CaptureFixture[str]) -> None:
    logger = AccessLogger(Config())
    logger.access(SimpleNamespace(status="200 OK", sent=2), None, {}, timedelta())
    assert capsys.readouterr().out == ""


# -- granian: the same line, written by the WSGI middleware.


def _logger() -> tuple[logging.Logger, list[str]]:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger(f"test.access.{id(lines)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(Keep())
    return logger, lines


def _serve(app: Any, environ: dict[str, Any]) -> bytes:
    """What a WSGI server does: call, send the body, close it."""
    body = app(environ, lambda status, headers, *exc: None)
    try:
        return b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


ENVIRON = {
    "REMOTE_ADDR": "10.0.0.7",
    "REQUEST_METHOD": "GET",
    "PATH_INFO": "/login/callback/esia",
    "QUERY_STRING": "code=secret-code&state=abc",
}


def test_middleware_line_has_no_query_string() -> None:
    closed: list[bool] = []

    class Body(list[bytes]):
        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("303 SEE OTHER", [("Location", "/x"), ("Content-Length", "0")])
        return Body([b""])

    logger, lines = _logger()
    assert _serve(AccessLog(app, logger), dict(ENVIRON)) == b""
    assert closed == [True]  # the app's body is closed (the admission slot is given back)
    assert len(lines) == 1
    assert re.fullmatch(r'10\.0\.0\.7 "GET /login/callback/esia" 303 0 \d+ms', lines[0]), lines
    assert "secret" not in lines[0]


def test_middleware_counts_a_body_without_length_and_logs_a_failure() -> None:
    def streamed(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"abc", b"de"])

    logger, lines = _logger()
    assert _serve(AccessLog(streamed, logger), dict(ENVIRON, REQUEST_METHOD="POST")) == b"abcde"
    assert lines[0].startswith('10.0.0.7 "POST /login/callback/esia" 200 5 ')

    def broken(environ: dict[str, Any], start_response: Any) -> Any:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        AccessLog(broken, logger)(dict(ENVIRON), lambda *a: None)
    assert lines[1].startswith('10.0.0.7 "GET /login/callback/esia" 500 - ')


def test_middleware_list_body_is_logged_at_once() -> None:
    def shed(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("503 Service Unavailable", [("Content-Length", "2")])
        return [b"{}"]

    logger, lines = _logger()
    body = AccessLog(shed, logger)(dict(ENVIRON), lambda *a: None)
    assert body == [b"{}"]
    assert lines[0].startswith('10.0.0.7 "GET /login/callback/esia" 503 2 ')
