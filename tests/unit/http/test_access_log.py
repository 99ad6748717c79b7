"""The access line of ``vhod serve``: method, path without query, status, size, time —
gunicorn's logger class and the WSGI middleware used under granian."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from gunicorn.config import Config

from gateway.access_log import AccessLog
from gateway.access_log import AccessLogger
from gateway.access_log import stdout_writer


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


def _logger() -> tuple[Callable[[str], None], list[str]]:
    lines: list[str] = []
    return lines.append, lines


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


def test_a_path_cannot_forge_a_second_line(capsys: pytest.CaptureFixture[str]) -> None:
    # PATH_INFO is latin-1 text of the raw bytes: "%0A" arrives as "\n", "é" as "Ã©".
    forged = '/x\n10.0.0.9 "GET /admin" 200 2 0ms'
    write, lines = _logger()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("404 NOT FOUND", [("Content-Length", "0")])
        return [b""]

    for path in (forged, "/caf\u00c3\u00a9"):
        _serve(AccessLog(app, write), dict(ENVIRON, PATH_INFO=path))
    assert len(lines) == 2
    assert lines[0].startswith('10.0.0.7 "GET /x\\n10.0.0.9 "GET /admin" 200 2 0ms" 404 0 ')
    assert "\n" not in lines[0]
    assert lines[1].startswith('10.0.0.7 "GET /caf\\xc3\\xa9" 404 0 ')

    cfg = Config()
    cfg.set("accesslog", "-")
    AccessLogger(cfg).access(
        SimpleNamespace(status="404 NOT FOUND", sent=0),
        None,
        dict(ENVIRON, PATH_INFO=forged),
        timedelta(),
    )
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith('10.0.0.7 "GET /x\\n10.0.0.9')


def test_stdout_writer_writes_whole_lines_to_the_descriptor(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "out.log"
    with target.open("w", encoding="utf-8") as stream:
        monkeypatch.setattr(sys, "stdout", stream)
        write = stdout_writer()
        write('10.0.0.7 "GET /jwks" 200 1324 0ms')
        write('10.0.0.7 "GET /x" 404 0 1ms')
        # nothing is buffered: the lines are in the file before it is flushed or closed
        assert target.read_text(encoding="utf-8").splitlines() == [
            '10.0.0.7 "GET /jwks" 200 1324 0ms',
            '10.0.0.7 "GET /x" 404 0 1ms',
        ]
    write("after close")  # a closed descriptor drops the line, it does not raise
