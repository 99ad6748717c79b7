"""Blueprint ``account_factors``: the person's second factors on ``/account/factors``.

* ``GET /account/factors`` — the enrolled factors (kind, label, added, last used;
  recovery codes as "N left"), the preferred one, and the forms below.
* ``POST /account/factors/totp`` — a new authenticator app: the QR code (inline SVG) and
  the key as text, shown once on this ``no-store`` answer, with a code field;
  ``POST /account/factors/totp/confirm`` activates it with a first valid code (T79).
* ``POST /account/factors/push`` — a one-time enrolment token for a device, as text and
  as a QR code of ``{"v": 1, "url": …, "token": …}`` (``vhod device enrol URL TOKEN``).
* ``POST /account/factors/recovery`` — new recovery codes, shown once (advice to print).
* ``POST /account/factors/remove``, ``POST /account/factors/preferred``.

**A fresh sign-in before any change** (SECURITY.md T84): the SSO session's ``auth_time``
must be within ``[session] fresh_login_seconds``, and a person who already has a factor
must have passed one (acr ``urn:vhod:acr:esia-mfa``). Otherwise the person is sent through
an ``account`` journey — a new ESIA login (plus a factor when they have one), or, when
the session is fresh but without a factor, just the factor step — and comes back to
this page to press the button again. The first factor of a person is enrolled on the
strength of a fresh ESIA login (re-proofing). Every form is CSRF-protected like the
consent page; the pages work without JavaScript.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from flask import Blueprint
from flask import Response
from flask import render_template
from flask import request
from flask import url_for

from gateway.core.errors import FactorFailed
from gateway.core.errors import JourneyRejected
from gateway.core.factors import ACR_ESIA_MFA
from gateway.core.factors import FactorKind
from gateway.core.factors import FactorManagement
from gateway.core.logs import log_event
from gateway.core.types import SsoSession
from gateway.http.deps import services
from gateway.http.i18n import human_time
from gateway.http.login import journeys
from gateway.http.login import rejected_page
from gateway.http.login import respond
from gateway.http.login import sso_sessions
from gateway.http.session_cookie import journey_binding
from gateway.http.session_cookie import read_session_cookie
from gateway.http.session_cookie import see_other

log = logging.getLogger(__name__)

bp = Blueprint("account_factors", __name__)

FACTORS_PATH = "/account/factors"
MAX_FIELD = 64
NOTICES = frozenset({"totp_added", "factor_removed", "preferred_saved", "remove_failed"})
"""The ``?done=`` words the list page shows a message for (anything else: nothing)."""
CHOOSABLE = (FactorKind.PUSH, FactorKind.TOTP, FactorKind.SMS, FactorKind.EMAIL)


def factors() -> FactorManagement:
    return services().factors


@bp.errorhandler(JourneyRejected)
def _rejected(err: JourneyRejected) -> Response:
    return rejected_page(err)


def _session() -> SsoSession | None:
    return sso_sessions().current(read_session_cookie())


def _sign_in(session: SsoSession | None = None, min_acr: str | None = None) -> Response:
    return respond(
        journeys().begin_account(journey_binding(), FACTORS_PATH, session=session, min_acr=min_acr)
    )


def _page(template: str, status: int = 200, **context: object) -> Response:
    return Response(render_template(template, **context), status=status, mimetype="text/html")


def _is_fresh(session: SsoSession, has_factor: bool) -> bool:
    age = services().clock.now() - session.auth.auth_time
    if age > services().config.session.fresh_login_seconds:
        return False
    return not has_factor or session.auth.acr == ACR_ESIA_MFA


def _fresh_session() -> SsoSession | Response:
    """The session when it may change factors now; else the response that sends the
    person to sign in afresh (a new ESIA login, and their factor when they have one)."""
    session = _session()
    if session is None:
        return _sign_in()
    has_factor = bool(factors().enrolled(session.subject_id))
    if _is_fresh(session, has_factor):
        return session
    log_event(log, "factor.reauth_required", has_factor=has_factor)
    min_acr = ACR_ESIA_MFA if has_factor else None
    age = services().clock.now() - session.auth.auth_time
    recent = age <= services().config.session.fresh_login_seconds
    # A recent ESIA login without a factor: only the factor step, in this session.
    return _sign_in(session if recent else None, min_acr)


def _date(value: float | None) -> str:
    return human_time(value)


def _grouped(secret: str) -> str:
    """A TOTP key in groups of four, for typing in."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


bp.add_app_template_filter(_date, "factor_date")
bp.add_app_template_filter(_grouped, "grouped_key")


def _change(view: Callable[[SsoSession], Response]) -> Callable[[], Response]:
    """A view that changes factors: it runs only for a fresh sign-in (:func:`_fresh_session`)
    and gets the session."""

    @wraps(view)
    def guarded() -> Response:
        session = _fresh_session()
        return session if isinstance(session, Response) else view(session)

    return guarded


def _back(done: str) -> Response:
    return see_other(url_for("account_factors.home", done=done), code=303)


@bp.get(FACTORS_PATH)
def home() -> Response:
    session = _session()
    if session is None:
        return _sign_in()
    enrolled = factors().enrolled(session.subject_id)
    done = request.args.get("done", "")
    return _page(
        "account_factors.html",
        enrolled=enrolled,
        preferred=factors().preferred(session.subject_id),
        choosable=CHOOSABLE,
        fresh=_is_fresh(session, bool(enrolled)),
        notice=done if done in NOTICES else None,
    )


@bp.post(f"{FACTORS_PATH}/totp")
@_change
def add_totp(session: SsoSession) -> Response:
    offer = factors().begin_totp(session.subject_id)
    return _page("account_totp.html", offer=offer, credential_id=offer.credential_id)


@bp.post(f"{FACTORS_PATH}/totp/confirm")
@_change
def confirm_totp(session: SsoSession) -> Response:
    credential_id = request.form.get("credential_id", "")[:MAX_FIELD]
    code = "".join(request.form.get("code", "").split())[:MAX_FIELD]
    try:
        factors().confirm_totp(session.subject_id, credential_id, code)
    except FactorFailed as err:
        log_event(log, "factor.enrolment_failed", factor="totp", reason=err.reason)
        return _page("account_totp.html", 400, offer=None, credential_id=credential_id, failed=True)
    return _back("totp_added")


@bp.post(f"{FACTORS_PATH}/push")
@_change
def add_push(session: SsoSession) -> Response:
    offer = factors().push_enrolment(session.subject_id)
    return _page("account_push.html", offer=offer, minutes=max(1, offer.expires_in // 60))


@bp.post(f"{FACTORS_PATH}/recovery")
@_change
def regenerate_recovery(session: SsoSession) -> Response:
    codes = factors().regenerate_recovery(session.subject_id)
    return _page("account_recovery.html", codes=codes)


@bp.post(f"{FACTORS_PATH}/remove")
@_change
def remove(session: SsoSession) -> Response:
    credential_id = request.form.get("credential_id", "")[:MAX_FIELD]
    removed = bool(credential_id) and factors().remove(session.subject_id, credential_id)
    return _back("factor_removed" if removed else "remove_failed")


@bp.post(f"{FACTORS_PATH}/preferred")
@_change
def preferred(session: SsoSession) -> Response:
    value = request.form.get("kind", "")[:MAX_FIELD]
    kind = next((k for k in CHOOSABLE if k.value == value), None)
    factors().set_preferred(session.subject_id, kind)
    return _back("preferred_saved")
