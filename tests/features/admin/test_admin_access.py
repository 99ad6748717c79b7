"""Who reaches /admin: invites, admin sessions, refusals everywhere, CSRF, second factor."""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from werkzeug.routing import Rule

from gateway.admin.admins import ADMIN_ROLE
from gateway.http.admin import PUBLIC_ENDPOINTS
from tests.features.admin.helpers import AdminActions
from tests.helpers.journey import hidden_fields


def admin_rules(app: Any) -> list[Rule]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.") and rule.endpoint not in PUBLIC_ENDPOINTS
    ]


def concrete(rule: Rule) -> str:
    path = re.sub(r"<int:[a-z_]+>", "1", rule.rule)
    return re.sub(r"<[a-z_:]+>", "school", path)


def methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def test_invite_makes_an_admin_once(app: Any, services: Any) -> None:
    actions = AdminActions(app, services)
    token = actions.invite()
    accepted = actions.sign_in_through_invite(token)
    assert accepted.status_code == 303
    actions.start_session()
    assert actions.get("/admin/").status_code == 200
    granted = actions.audit_events("admin.granted")
    assert len(granted) == 1
    assert granted[0].fields["subject"] == actions.digest
    # The same link again (another person, another browser): refused, no admin made.
    other = AdminActions(app, services)
    landing = other.client.get(f"/admin/invite?token={token}")
    assert landing.status_code == 404
    assert len(actions.audit_events("admin.granted")) == 1


def test_expired_or_unknown_invite(app: Any, services: Any, clock: Any) -> None:
    actions = AdminActions(app, services)
    token = actions.invite(ttl_seconds=60)
    clock.advance(61)
    assert actions.client.get(f"/admin/invite?token={token}").status_code == 404
    assert actions.client.get("/admin/invite?token=not-a-real-token").status_code == 404
    assert actions.client.get("/admin/invite").status_code == 404


def test_invite_accept_needs_csrf(app: Any, services: Any) -> None:
    actions = AdminActions(app, services)
    token = actions.invite()
    actions.client.get(f"/admin/invite?token={token}")
    start = actions.client.get("/admin/invite/sign-in")
    actions.journey.login_via_fake("other_parent", response=start)
    refused = actions.client.post("/admin/invite", data={})
    assert refused.status_code == 403
    assert not actions.audit_events("admin.granted")


def test_anonymous_gets_nothing_anywhere(app: Any, services: Any, admin: AdminActions) -> None:
    """Every admin route: pages redirect to the sign-in, the API and POSTs answer 403."""
    stranger = app.test_client()
    rules = admin_rules(app)
    assert len(rules) > 30
    for rule in rules:
        for method in methods(rule):
            response = stranger.open(concrete(rule), method=method)
            body = response.get_data(as_text=True)
            api = rule.rule.startswith("/admin/api/") or rule.rule == "/admin/openapi.json"
            if method == "GET" and not api:
                assert response.status_code == 302, (rule.rule, response.status_code)
                assert response.headers["Location"] == "/admin/login"
            else:
                assert response.status_code == 403, (rule.rule, method, response.status_code)
            if api:
                assert response.get_json()["error"] == "forbidden"
            assert "school" not in body, rule.rule
            assert "openapi" not in body.lower(), rule.rule


def test_a_signed_in_non_admin_gets_403_everywhere(
    app: Any, services: Any, admin: AdminActions
) -> None:
    person = AdminActions(app, services)
    signed_in = person.sign_in_without_invite("parent")
    assert signed_in.status_code in (200, 302, 303)
    assert person.client.get("/admin/login").status_code == 403
    for rule in admin_rules(app):
        for method in methods(rule):
            response = person.client.open(
                concrete(rule), method=method, headers={"X-CSRF-Token": admin.csrf}
            )
            assert response.status_code == 403, (rule.rule, method, response.status_code)
            body = response.get_data(as_text=True)
            assert "school" not in body
            assert "client_secret" not in body


def test_admin_session_is_short_and_follows_the_role(
    admin: AdminActions, services: Any, clock: Any
) -> None:
    assert admin.get("/admin/api/clients").status_code == 200
    clock.advance(services.config.session.admin_idle_seconds - 10)
    assert admin.get("/admin/api/clients").status_code == 200  # renews the idle timer
    clock.advance(services.config.session.admin_idle_seconds + 1)
    assert admin.get("/admin/api/clients").status_code == 403
    page = admin.get("/admin/clients")
    assert page.status_code == 302
    # The SSO session is no longer fresh: /admin/login asks for a new sign-in.
    again = admin.get("/admin/login")
    assert again.status_code in (302, 303)
    assert urlsplit(again.headers["Location"]).path == "/login/fake"  # the upstream


def test_removing_the_role_ends_admin_access(admin: AdminActions, services: Any) -> None:
    with services.uow() as uow:
        for subject_id in uow.admin_queries.subject_ids():
            subject = uow.subjects.get(subject_id)
            if subject is not None and ADMIN_ROLE in subject.roles:
                uow.subjects.update(dataclasses.replace(subject, roles=()))
        uow.commit()
    assert admin.get("/admin/api/clients").status_code == 403


def test_csrf_is_required_for_every_admin_state_change(admin: AdminActions, services: Any) -> None:
    body = {"client_id": "c1", "redirect_uris": ["https://c1.example/cb"], "scopes": ["openid"]}
    no_token = admin.client.post("/admin/api/clients", json=body)
    assert no_token.status_code == 403
    assert no_token.get_json()["error"] == "csrf_rejected"
    wrong = admin.client.post("/admin/api/clients", json=body, headers={"X-CSRF-Token": "x" * 64})
    assert wrong.status_code == 403
    cross = admin.post("/admin/api/clients", json=body, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    foreign = admin.post(
        "/admin/api/clients", json=body, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    form = admin.client.post("/admin/clients", data={"client_id": "c1"})
    assert form.status_code == 403
    # The browser-bound CSRF token of the generic forms is not the admin token.
    page = admin.get("/admin/clients").get_data(as_text=True)
    generic = hidden_fields(page)  # the logout form carries the generic token
    assert generic["csrf_token"] != admin.csrf
    with_generic = admin.client.post(
        "/admin/api/clients", json=body, headers={"X-CSRF-Token": generic["csrf_token"]}
    )
    assert with_generic.status_code == 403
    with services.uow() as uow:
        assert uow.clients.get("c1") is None
    ok = admin.post("/admin/api/clients", json=body)
    assert ok.status_code == 201


def test_admin_cookie_is_strict_and_http_only(app: Any, services: Any) -> None:
    actions = AdminActions(app, services)
    actions.sign_in_through_invite(actions.invite())
    response = actions.client.get("/admin/login")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("vhod_admin=")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/" in cookie


def test_logout_ends_the_admin_session(admin: AdminActions) -> None:
    page = admin.get("/admin/").get_data(as_text=True)
    token = hidden_fields(page)["csrf_token"]
    response = admin.client.post("/admin/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert admin.get("/admin/api/clients").status_code == 403


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_pages_render_in_both_languages(admin: AdminActions, lang: str) -> None:
    for path in (
        "/admin/",
        "/admin/clients",
        "/admin/policies",
        "/admin/consents",
        "/admin/audit",
        "/admin/keys",
        "/admin/explain",
        "/admin/audit/verify",
    ):
        response = admin.get(path, query_string={"lang": lang})
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        assert ("Администрирование" in text) == (lang == "ru"), path
        assert "<script" not in text
