"""The admin side's second factor (``[admin] require_second_factor``, on by default):
sign-in asks for ``urn:vhod:acr:esia-mfa``; a fresh SSO session only steps up (the factor,
no upstream again); an acr still too weak after a sign-in is refused, never looped."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlsplit

from gateway.admin.admins import ADMIN_ROLE
from gateway.config.schema import ACR_ESIA
from gateway.config.schema import ACR_ESIA_MFA
from providers.factors.senders.outbox import DevOutbox
from tests.features.admin.helpers import AdminActions
from tests.helpers.journey import hidden_fields


def _walk(actions: AdminActions, response: Any) -> tuple[Any, list[str]]:
    """Follow the gateway's redirects from ``response``; the last answer and every path."""
    paths: list[str] = []
    for _ in range(10):
        if response.status_code not in (302, 303):
            return response, paths
        location = urlsplit(response.headers["Location"])
        paths.append(location.path)
        target = location.path + (f"?{location.query}" if location.query else "")
        response = actions.client.get(target)
    raise AssertionError("too many redirects")


def _grant_role(services: Any, subject_id: str) -> None:
    with services.uow() as uow:
        subject = uow.subjects.get(subject_id)
        assert subject is not None
        uow.subjects.update(dataclasses.replace(subject, roles=(*subject.roles, ADMIN_ROLE)))
        uow.commit()


def _only_subject(services: Any) -> str:
    with services.uow() as uow:
        (subject_id,) = uow.admin_queries.subject_ids()
    return str(subject_id)


def _sms_count(services: Any) -> int:
    return len(DevOutbox(services.ephemeral, services.clock).messages("sms"))


def test_admin_sign_in_needs_the_factor(app: Any, services: Any) -> None:
    actions = AdminActions(app, services)
    actions.client.get(f"/admin/invite?token={actions.invite()}")
    start = actions.client.get("/admin/invite/sign-in")
    factor_page = actions.journey.login_via_fake("other_parent", response=start)
    # After ESIA: the factor page, SMS to the verified mobile on offer (first enrolment).
    assert factor_page.status_code == 200
    assert factor_page.request.path.endswith("/factor")
    assert 'value="sms"' in factor_page.get_data(as_text=True)
    assert "администрирование" in factor_page.get_data(as_text=True)  # not «школьной системе»
    # Not passed: no SSO session, no admin session, no invite accepted.
    assert actions.client.get("/admin/api/session").status_code == 403
    page = actions.client.get("/admin/invite").get_data(as_text=True)
    assert "csrf_token" not in hidden_fields(page) or "/admin/invite/sign-in" in page
    assert actions.client.post("/admin/invite", data={}).status_code == 403
    assert not actions.audit_events("admin.granted")
    again = actions.client.get("/admin/login")
    assert urlsplit(again.headers["Location"]).path == "/login/fake"  # a new sign-in
    # Passed: the invite is accepted and the admin session starts at esia-mfa.
    done = actions.journey.pass_factor(factor_page, "sms")
    assert done.headers["Location"] == "/admin/invite"
    fields = hidden_fields(actions.client.get("/admin/invite").get_data(as_text=True))
    accepted = actions.client.post("/admin/invite", data={"csrf_token": fields["csrf_token"]})
    assert accepted.status_code == 303
    actions.start_session()
    assert actions.get("/admin/").status_code == 200
    (signed_in,) = actions.audit_events("admin.signed_in")
    assert signed_in.fields["acr"] == ACR_ESIA_MFA
    (passed,) = actions.audit_events("factor.passed")
    assert passed.fields["factor"] == "sms"


def test_step_up_from_a_fresh_sso_session_asks_only_the_factor(app: Any, services: Any) -> None:
    actions = AdminActions(app, services)
    actions.sign_in_without_invite("other_parent")  # /account: acr esia, no factor
    _grant_role(services, _only_subject(services))
    cookie = actions.client.get_cookie("vhod").value
    before = services.sso_sessions.current(cookie)
    assert before.auth.acr == ACR_ESIA
    factor_page, paths = _walk(actions, actions.client.get("/admin/login"))
    assert "/login/fake" not in paths  # ESIA is not asked again
    assert factor_page.request.path.endswith("/factor"), paths
    done = actions.journey.pass_factor(factor_page, "sms")
    assert done.headers["Location"] == "/admin/login?signed_in=1"
    final, paths = _walk(actions, done)
    assert "/login/fake" not in paths
    assert final.status_code == 200
    assert "vhod_admin=" in final.headers.get("Set-Cookie", "")
    (signed_in,) = actions.audit_events("admin.signed_in")
    assert signed_in.fields["acr"] == ACR_ESIA_MFA
    # The same SSO session, raised: acr esia-mfa, amr with sms.
    assert actions.client.get_cookie("vhod").value == cookie
    after = services.sso_sessions.current(cookie)
    assert after.sid == before.sid
    assert after.auth.acr == ACR_ESIA_MFA
    assert "sms" in after.auth.amr
    session = actions.client.get("/admin/api/session")
    assert session.status_code == 200


def test_a_weak_acr_after_sign_in_is_refused(app: Any, services: Any) -> None:
    """Tampering (a sign-in that came back without the factor): 403, no session, no loop."""
    actions = AdminActions(app, services)
    actions.sign_in_without_invite("other_parent")
    _grant_role(services, _only_subject(services))
    refused = actions.client.get("/admin/login?signed_in=1")
    assert refused.status_code == 403
    assert ACR_ESIA_MFA in refused.get_data(as_text=True)
    assert actions.client.get("/admin/api/session").status_code == 403
    assert not actions.audit_events("admin.signed_in")
    # An invite accepted in the weak session is refused as well.
    token = actions.invite()
    actions.client.get(f"/admin/invite?token={token}")
    page = actions.client.get("/admin/invite").get_data(as_text=True)
    assert "/admin/invite/sign-in" in page  # the page offers the factor, not «accept»
    generic = hidden_fields(page).get("csrf_token", "")
    assert actions.client.post("/admin/invite", data={"csrf_token": generic}).status_code == 403
    assert not actions.audit_events("admin.granted")


def test_a_non_admin_gets_no_code(app: Any, services: Any) -> None:
    person = AdminActions(app, services)
    person.sign_in_without_invite("parent")
    before = _sms_count(services)
    assert person.client.get("/admin/login").status_code == 403
    assert _sms_count(services) == before


def test_without_the_setting_esia_alone_is_enough(app: Any, services: Any) -> None:
    relaxed = services.config.model_copy(
        update={"admin": services.config.admin.model_copy(update={"require_second_factor": False})}
    )
    app.extensions["vhod"] = dataclasses.replace(services, config=relaxed)
    try:
        actions = AdminActions(app, services)
        actions.client.get(f"/admin/invite?token={actions.invite()}")
        start = actions.client.get("/admin/invite/sign-in")
        done = actions.journey.login_via_fake("other_parent", response=start)
        assert done.headers["Location"] == "/admin/invite"  # no factor page
        fields = hidden_fields(actions.client.get("/admin/invite").get_data(as_text=True))
        actions.client.post("/admin/invite", data={"csrf_token": fields["csrf_token"]})
        actions.start_session()
        (signed_in,) = actions.audit_events("admin.signed_in")
        assert signed_in.fields["acr"] == ACR_ESIA
    finally:
        app.extensions["vhod"] = services
