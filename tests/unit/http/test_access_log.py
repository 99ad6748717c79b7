"""The access line of ``vhod serve``: method, path without query, status, size, time."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

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
