"""ESIA's logout: ``/idp/ext/Logout?client_id=…&redirect_url=…`` redirects back only to an
origin of one of the system's registered redirect URIs."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response
from flask import request

from providers.upstream.esia_sandbox.common import bp
from providers.upstream.esia_sandbox.common import current_sandbox
from providers.upstream.esia_sandbox.common import error_page
from providers.upstream.esia_sandbox.common import faulty
from providers.upstream.esia_sandbox.common import redirect
from providers.upstream.esia_sandbox.errors import EsiaFailure


@bp.get("/idp/ext/Logout")
def logout() -> Response:
    fault = faulty("logout")
    if fault is not None:
        return fault
    system = current_sandbox().systems.get(request.args.get("client_id", ""))
    target = request.args.get("redirect_url", "")
    if system is None:
        return error_page(EsiaFailure("007002"))
    origins = {_origin(uri) for uri in system.spec.redirect_uris}
    if not target or _origin(target) not in origins:
        return error_page(EsiaFailure("007023", "redirect_url"))
    return redirect(target)


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"
