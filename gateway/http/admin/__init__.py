"""Blueprint ``admin``: the admin pages (``/admin/...``) and the admin JSON API
(``/admin/api/...``, described by ``/admin/openapi.json``).

One blueprint (``common.bp``); each area registers its pages and API routes on it:

* :mod:`.guard` — the admin session every request but sign-in needs, and CSRF;
* :mod:`.signin` — the home page, ``/admin/login``, ``/admin/logout``, invites;
* :mod:`.clients`, :mod:`.policies` (with explain and dry runs), :mod:`.consents`,
  :mod:`.subjects` (a person's second factors, reset), :mod:`.applications` (link
  applications: queue, decisions, scans), :mod:`.audit`, :mod:`.keys` — pages
  and API per area;
* :mod:`.api` — ``/admin/openapi.json`` and ``/admin/api/session``;
* :mod:`.common` and :mod:`.forms` — wiring, JSON, pages, flash; reading bodies and forms.

**Who.** Admins are people with the ``admin`` role on their subject. The first one comes
through ``vhod admins invite`` (:mod:`.signin`). **Admin sessions** are separate from the
SSO session and short; their rules (freshness, the second factor, renewal, what ends them)
are :mod:`gateway.admin.sessions`; this package reads the cookie and calls it.
With ``[admin] require_second_factor`` (the default) the SSO session's acr must be
``urn:vhod:acr:esia-mfa``: the sign-in asks for it (ESIA, then the factor page; or only
the factor, a step-up in a fresh SSO session).

**Refusals.** Without an admin session: API routes answer 403 JSON; pages redirect an
anonymous browser (or an admin whose admin session lapsed) to ``/admin/login`` and show
a signed-in non-admin a 403 page. Nothing else is read before the check.

**CSRF** (T68). The gateway's one check (:func:`gateway.http.security.check_csrf`: fetch
site, origin, token) runs in this blueprint's guard instead of the generic hook, with
the token bound to the *admin session* rather than to the browser: the form field
``csrf_token`` or the header ``X-CSRF-Token`` (JSON API; ``GET /admin/api/session`` returns
it). The two forms used before an admin session exists (invite acceptance, admin logout)
are checked by the generic hook with the browser binding.

**Audit.** Every state change is audited by its use case with ``actor`` = the admin's
subject digest; explain and dry runs too (they read about people). Pages are Russian by
default (``?lang=en``), need no JavaScript, and every POST of a form ends in a 303 — except
validate, dry run and explain, which change nothing and show their result directly.
"""

from __future__ import annotations

from flask import Flask

from gateway.http.admin import api
from gateway.http.admin import applications
from gateway.http.admin import audit
from gateway.http.admin import clients
from gateway.http.admin import consents
from gateway.http.admin import guard
from gateway.http.admin import keys
from gateway.http.admin import policies
from gateway.http.admin import signin
from gateway.http.admin import subjects
from gateway.http.admin.common import bp
from gateway.http.admin.guard import BROWSER_CSRF_ENDPOINTS
from gateway.http.admin.guard import PUBLIC_ENDPOINTS
from gateway.http.security import csrf_exempt

__all__ = ["PUBLIC_ENDPOINTS", "init_admin"]

AREAS = (guard, signin, clients, policies, consents, subjects, applications, audit, keys, api)
"""The modules whose views and hooks are on :data:`bp` (imported for that)."""


def init_admin(app: Flask) -> None:
    """Register the blueprint; exempt its views from the generic CSRF check (the admin
    check applies instead, see the module docstring)."""
    app.register_blueprint(bp)
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith("admin.") and endpoint not in BROWSER_CSRF_ENDPOINTS:
            csrf_exempt(view)
