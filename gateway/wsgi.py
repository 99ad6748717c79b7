"""WSGI entry point for gunicorn: ``gunicorn gateway.wsgi:app``.

The config file comes from ``VHOD_CONFIG`` (defaults otherwise). Migrations and first
signing keys are prepared by ``vhod serve`` / ``vhod db upgrade`` before workers start,
not here.
"""

from __future__ import annotations

from gateway.app import create_app

app = create_app()
