"""WSGI entry point of ``vhod serve``: ``gateway.wsgi:app`` under granian (the default) or
gunicorn (``[server] server``).

The config file comes from ``VHOD_CONFIG`` (defaults otherwise). Migrations and first
signing keys are prepared by ``vhod serve`` / ``vhod db upgrade`` before workers start,
not here. The served app sheds excess load (:mod:`gateway.http.admission`, ``[server]
max_in_flight``, ``threads``, ``admission_wait_seconds``); in-process test clients do not.
Under granian the access line is written here (:class:`gateway.access_log.AccessLog`,
outside the admission limit, so shed requests have their line too); gunicorn writes it
with :class:`gateway.access_log.AccessLogger`.
"""

from __future__ import annotations

from gateway.access_log import AccessLog
from gateway.access_log import stdout_writer
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
if _config.server.server == "granian":
    app.wsgi_app = AccessLog(app.wsgi_app, stdout_writer())  # type: ignore[method-assign]
