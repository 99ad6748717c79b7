"""WSGI entry point for gunicorn: ``gunicorn gateway.wsgi:app``.

The config file comes from ``VHOD_CONFIG`` (defaults otherwise). Migrations and first
signing keys are prepared by ``vhod serve`` / ``vhod db upgrade`` before workers start,
not here. The served app sheds excess load (:mod:`gateway.http.admission`, ``[server]
max_in_flight``, ``threads``, ``admission_wait_seconds``); in-process test clients do not.
"""

from __future__ import annotations

from gateway.app import create_app
from gateway.http.admission import AdmissionLimit

app = create_app()
_config = app.extensions["vhod"].config
app.wsgi_app = AdmissionLimit(  # type: ignore[method-assign]
    app.wsgi_app,
    slots=_config.server.threads,
    admitted=_config.server.max_in_flight,
    wait_seconds=_config.server.admission_wait_seconds,
    retry_after=_config.store.retry_after_seconds,
)
