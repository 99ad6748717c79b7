"""Blueprint ``logout``: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

* ``GET|POST /logout`` — the ``end_session_endpoint`` (§2: GET and POST). CSRF-exempt: a
  relying party sends the browser here cross-site by design. With a valid
  ``id_token_hint`` of the browser's session it logs out at once; otherwise it asks the
  person first (see ``gateway.oauth.logout``).
* ``POST /logout/confirm`` — the confirmation form: CSRF-protected (SECURITY.md T68).

After logout the SSO cookie is cleared and the browser goes to the validated
``post_logout_redirect_uri`` (303, with ``state``) or to vhod's "signed out" page. When the
ended session came from an upstream with a logout of its own (ESIA's ``/idp/ext/Logout``),
the browser passes there first and comes back through ``GET /logout/upstream?ref=…``,
which holds the target under a one-time reference (never a URL from the query). The
back-channel worker of this process is started on the first logout that queued
notifications (tests drive delivery themselves).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import render_template
from flask import request

from gateway.core.errors import ReplayDetected
from gateway.core.ids import new_code
from gateway.core.types import SsoSession
from gateway.http.authz_response import oauth_provider
from gateway.http.authz_response import see_other
from gateway.http.deps import services
from gateway.http.errors import error_page
from gateway.http.security import csrf_exempt
from gateway.http.session_cookie import clear_session_cookie
from gateway.http.session_cookie import read_session_cookie

bp = Blueprint("logout", __name__)

REFERENCE_FIELD = "logout"
UPSTREAM_RETURN_NAMESPACE = "logout_upstream"
UPSTREAM_RETURN_TTL_SECONDS = 600


@bp.route("/logout", methods=["GET", "POST"])
@csrf_exempt
def end_session() -> Response:
    logout = oauth_provider().logout
    source = request.args if request.method == "GET" else request.form
    session = logout.current(read_session_cookie())
    decision = logout.decide(tuple(source.items(multi=True)), session)
    if decision.needs_confirmation:
        body = render_template(
            "logout_confirm.html",
            reference=logout.remember(decision),
            field=REFERENCE_FIELD,
            signed_in=session is not None,
        )
        return Response(body, mimetype="text/html")
    _end(session)
    return _done(decision.redirect_to, session)


@bp.post("/logout/confirm")
def confirm() -> Response:
    logout = oauth_provider().logout
    pending = logout.recall(request.form.get(REFERENCE_FIELD, ""))
    if pending is None:
        return error_page(400, "logout_title", "logout_expired")
    session = logout.current(read_session_cookie())
    _end(session)
    return _done(pending.post_logout_redirect_uri, session)


def _end(session: SsoSession | None) -> None:
    provider = oauth_provider()
    queued = provider.logout.end(session)
    if queued and not current_app.testing:
        provider.backchannel.ensure_started()


def _done(redirect_to: str | None, ended: SsoSession | None = None) -> Response:
    upstream_logout = _upstream_logout(ended, redirect_to)
    if upstream_logout is not None:
        response = see_other(upstream_logout)
    elif redirect_to is not None:
        response = see_other(redirect_to)
    else:
        response = Response(render_template("logout_done.html"), mimetype="text/html")
    clear_session_cookie(response)
    return response


def _upstream_logout(ended: SsoSession | None, redirect_to: str | None) -> str | None:
    """The upstream's logout URL for the session that just ended (ESIA: ``/idp/ext/Logout``
    with ``redirect_url`` = ``/logout/upstream?ref=…``), or ``None`` when it has none."""
    svc = services()
    upstream = None if ended is None else svc.upstreams.get(ended.upstream)
    if upstream is None:
        return None
    ref = new_code()
    back = f"{svc.config.server.issuer}/logout/upstream?{urlencode({'ref': ref})}"
    url = upstream.logout_url(back)
    if url is not None:
        value = (redirect_to or "").encode()
        svc.ephemeral.put(UPSTREAM_RETURN_NAMESPACE, ref, value, UPSTREAM_RETURN_TTL_SECONDS)
    return url


@bp.get("/logout/upstream")
def upstream_done() -> Response:
    """Back from the upstream's logout: on to the post-logout target kept under ``ref``."""
    ref = request.args.get("ref", "")
    target: bytes | None = None
    if 0 < len(ref) <= 128:
        try:
            target = services().ephemeral.consume(
                UPSTREAM_RETURN_NAMESPACE, ref, UPSTREAM_RETURN_TTL_SECONDS
            )
        except ReplayDetected:
            target = None
    return _done(target.decode() if target else None)
