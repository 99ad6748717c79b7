"""The ESIA sandbox: a stand-alone Flask app that behaves like ESIA for vhod's dev and tests.

Never imported by the gateway (an import-linter contract keeps it out); only the CLI
(``vhod sandbox``), the dev runner and the tests use it. What it serves (ESIA.md §11):

* authorize: ``/aas/oauth2/ac`` (v1, detached CMS ``client_secret`` over
  ``scope+timestamp+client_id+state``) and ``/aas/oauth2/v2/ac`` (v2, raw signature over
  ``client_id+scope+scope_org+timestamp+state+redirect_uri`` + ``client_certificate_hash``);
  a login page lists the personas (form field ``persona``) and has a cancel button;
* token: ``/aas/oauth2/te`` (v1), ``/aas/oauth2/v2/te`` and ``/aas/oauth2/v3/te`` (v3:
  ``…+code``; refresh in both documented variants, §3.1); the token request's ``state`` is
  echoed; codes are single use (a reused code also revokes what it issued);
* REST: ``/rs/prns/{oid}``, ``/ctts``, ``/docs``, ``/kids``, ``/kids/{id}/docs`` (and each
  item), with the ``elements`` envelope and ``embed`` (§5.1), filtered by granted scopes;
* ``/idp/ext/Logout?client_id=…&redirect_url=…``;
* dev/test only: ``GET /sandbox/personas`` (JSON), ``POST|GET|DELETE /sandbox/faults``.

Checks, answered with ESIA's codes and shapes (§7): authorize errors are redirects with
``error``, ``error_description=ESIA-NNNNNN: …`` and ``state`` — except an unknown system or
an unregistered ``redirect_uri``, which get an error page (never a redirect to an
unregistered address); token errors are HTTP 400 JSON with ``state``.

Tokens (§3.3): header ``{"ver":1,"typ":"JWT","sbt":"access","alg":…}`` (id_token ``sbt:"id"``,
``ver:0``); scope entries suffixed ``?oid=``; ``iss`` http with a trailing slash; signed
``RS256`` or ``GOST3410_2012_256`` as each registered system is set up.

One blueprint (``common.bp``), a module per area: :mod:`.authorize` (authorize and the
login page), :mod:`.tokens` (the token endpoint), :mod:`.rest`, :mod:`.logout` and
:mod:`.devtools` (index, personas, faults); :mod:`.sandbox` holds the app's state, the
shared checks and the token minting, :mod:`.errors` ESIA's codes, :mod:`.common` what the
endpoints share.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask import Response

from providers.upstream.esia_sandbox import authorize
from providers.upstream.esia_sandbox import devtools
from providers.upstream.esia_sandbox import logout
from providers.upstream.esia_sandbox import rest
from providers.upstream.esia_sandbox import tokens
from providers.upstream.esia_sandbox.common import bp
from providers.upstream.esia_sandbox.config import SandboxConfig
from providers.upstream.esia_sandbox.errors import ESIA_MESSAGES
from providers.upstream.esia_sandbox.sandbox import Sandbox

__all__ = ["ESIA_MESSAGES", "Sandbox", "create_sandbox_app"]

AREAS = (authorize, tokens, rest, logout, devtools)
"""The modules whose views are on :data:`bp` (imported for that)."""


def create_sandbox_app(data_dir: str | Path, config: SandboxConfig | None = None) -> Flask:
    """The sandbox WSGI app; key material and demo systems are created under ``data_dir``.

    :param data_dir: the sandbox's own directory (dev: ``<vhod data_dir>/esia-sandbox``).
    :param config: systems, issuer, timestamp window, faults; defaults for ``vhod dev``.
    """
    sandbox = Sandbox(Path(data_dir), config or SandboxConfig())
    app = Flask(__name__)
    app.extensions["esia_sandbox"] = sandbox
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # ESIA sends UTF-8 (§5)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.register_blueprint(bp)
    app.after_request(_framing_protection)
    return app


def _framing_protection(response: Response) -> Response:
    """The sandbox's login page takes "passwords" and consent clicks: like vhod's own
    pages and like ESIA, it refuses to be framed (clickjacking)."""
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
