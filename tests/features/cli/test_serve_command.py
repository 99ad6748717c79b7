"""``vhod serve``'s server command line: granian by default, gunicorn on request, the
thread count the admission limit needs under both."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.cli import server_argv
from gateway.config.schema import GatewayConfig
from gateway.config.schema import ServerSettings


def _flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_granian_is_the_default_server() -> None:
    cfg = GatewayConfig()
    assert cfg.server.server == "granian"
    argv = server_argv(cfg, cfg.server.server, "127.0.0.1", 9000, 3)
    assert argv[1:3] == ["-m", "granian"]
    assert _flag(argv, "--interface") == "wsgi"
    assert _flag(argv, "--workers") == "3"
    assert _flag(argv, "--port") == "9000"
    # max_in_flight and a few spares that answer the shed (admission): 16 + 2 by default
    assert cfg.server.max_in_flight == 16
    assert _flag(argv, "--blocking-threads") == "18"
    for admitted, threads in ((1, "3"), (64, "72"), (512, "576")):
        sized = GatewayConfig(server=ServerSettings(max_in_flight=admitted, threads=1))
        assert _flag(server_argv(sized, "granian", "h", 1, 1), "--blocking-threads") == threads
    assert "--no-ws" in argv
    assert "--no-access-log" in argv  # gateway.wsgi writes the line without the query
    assert "--respawn-failed-workers" in argv
    assert argv[-1] == "gateway.wsgi:app"


def test_gunicorn_stays_selectable() -> None:
    cfg = GatewayConfig(server=ServerSettings(server="gunicorn", max_in_flight=20))
    argv = server_argv(cfg, "gunicorn", "10.0.0.5", 9000, 2)
    assert argv[1:3] == ["-m", "gunicorn"]
    assert _flag(argv, "--bind") == "10.0.0.5:9000"
    assert _flag(argv, "--threads") == "40"
    assert _flag(argv, "--worker-class") == "gthread"
    assert _flag(argv, "--timeout") == str(cfg.server.request_timeout_seconds)
    assert _flag(argv, "--logger-class") == "gateway.access_log.AccessLogger"


def test_unknown_server_is_refused() -> None:
    with pytest.raises(ValidationError):
        ServerSettings(server="uwsgi")  # type: ignore[arg-type]


def test_serve_offers_the_server_option(run) -> None:  # type: ignore[no-untyped-def]
    res = run("serve", "--help")
    assert res.exit_code == 0, res.output
    assert "--server [granian|gunicorn]" in res.output
