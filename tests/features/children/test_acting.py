"""Acting for a child, token exchange and the ``children`` claim over HTTP against the ESIA
sandbox (issue 11 items 5–8; SECURITY.md T94, T96, T98).

``parent`` has two children on ``demo-school-1``'s roster (Пётр, 7; Иван, 15), whose school
system is ``kids-school``; ``parent_foreign`` has one (Лев, 10). A school system asking for
``child`` sends the parent to the child choice (skipped with one child), then to a consent
for that child; the tokens are about the child (``sub``) with the parent as ``act``.
"""

from __future__ import annotations

import html
import re
from typing import Any

import requests
from flask import render_template

from gateway.admin.policies import ExplainQuery
from gateway.admin.policies import age_reader
from gateway.admin.policies import explain_query
from gateway.core.children import links_for_client
from gateway.core.types import TOKEN_EXCHANGE
from tests.features.children.conftest import KIDS_SCHOOL
from tests.features.children.conftest import subject_of
from tests.features.esia_journey.browser import Answer
from tests.features.esia_journey.browser import Browser
from tests.features.esia_journey.stack import JourneyStack

ACTING = "openid child diary offline_access"
PARENT_OID = 1000100001
FOREIGN_OID = 1000100021
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
_CHILD_BUTTON = re.compile(
    r'<button type="submit" name="child" value="(?P<id>[^"]+)">(?P<name>[^<]+)<'
)
_STEP = re.compile(r'name="step" value="([^"]+)"')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _pairwise(stack: JourneyStack, subject_id: str) -> str:
    with stack.services.uow(read_only=True) as uow:
        client = uow.clients.get(KIDS_SCHOOL.client_id)
    assert client is not None
    return stack.services.oauth.ctx.tokens.subject(client, subject_id)


def _children(stack: JourneyStack, parent_id: str) -> dict[str, str]:
    """First name → child subject id of the parent's usable links at the school system."""
    found = stack.services.claims.children(parent_id, KIDS_SCHOOL.client_id)
    return {c.given_name: c.child_id for c in found}


def _to_esia(browser: Browser, persona: str, scope: str, **extra: str) -> Answer:
    """authorize → the sandbox's persona → where vhod stops (a page or the redirect)."""
    page = browser.authorize(KIDS_SCHOOL, scope, **extra)
    return browser.esia_login(page, persona)


def _choose(stack: JourneyStack, browser: Browser, page: Answer, name: str) -> Answer:
    assert page.url.endswith("/child"), page.url
    buttons = {m["name"]: m["id"] for m in _CHILD_BUTTON.finditer(page.text)}
    return browser.post(page.url, _form(page, child=buttons[name]))


def _form(page: Answer, **fields: str) -> dict[str, str]:
    step = _STEP.search(page.text)
    csrf = _CSRF.search(page.text)
    assert step is not None
    assert csrf is not None
    return {"step": html.unescape(step[1]), "csrf_token": html.unescape(csrf[1]), **fields}


def _act_for(stack: JourneyStack, browser: Browser, name: str) -> dict[str, Any]:
    """``parent`` signs in to the school system for child ``name``; the token response."""
    page = _to_esia(browser, "parent", ACTING)
    answer = _choose(stack, browser, page, name)
    if answer.status == 200 and answer.url.endswith("/consent"):
        assert name in answer.text  # the consent says for whom
        answer = browser.consent(answer)
    assert "code=" in (answer.location or ""), answer.location
    return browser.token(KIDS_SCHOOL, answer)


def _post(path: str, stack: JourneyStack, **data: str) -> requests.Response:
    return requests.post(
        f"{stack.gateway_url}{path}",
        data=data,
        auth=(KIDS_SCHOOL.client_id, KIDS_SCHOOL.secret),
        timeout=10,
    )


def _userinfo(stack: JourneyStack, token: str) -> requests.Response:
    return requests.get(
        f"{stack.gateway_url}/userinfo", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_picking_a_child_gives_tokens_about_the_child_with_the_parent_as_act(
    stack: JourneyStack, browser: Browser
) -> None:
    page = _to_esia(browser, "parent", ACTING)
    assert page.status == 200
    assert page.url.endswith("/child"), page.url
    assert "Пётр" in page.text
    assert "Иван" in page.text
    assert "Мария" not in page.text  # on no roster: no link, not offered
    assert "Школа № 1" in page.text
    assert "1А" in page.text
    assert "9А" in page.text
    assert "<script" not in page.text  # works without JavaScript

    consent = _choose(stack, browser, page, "Пётр")
    assert consent.url.endswith("/consent"), consent.url
    assert "Пётр" in consent.text
    answer = browser.consent(consent)
    tokens = browser.token(KIDS_SCHOOL, answer)

    parent_id = subject_of(stack, PARENT_OID)
    child_id = _children(stack, parent_id)["Пётр"]
    child_sub, parent_sub = _pairwise(stack, child_id), _pairwise(stack, parent_id)
    expected = {"sub": child_sub, "act": {"sub": parent_sub}}

    id_token = stack.verify(tokens["id_token"])
    access = stack.verify(tokens["access_token"])
    for claims in (id_token, access):
        assert {k: claims[k] for k in ("sub", "act")} == expected
    info = _userinfo(stack, tokens["access_token"])
    assert info.status_code == 200, info.text
    assert info.json() == expected  # the child's data subject, nothing else
    introspected = _post("/introspect", stack, token=tokens["access_token"]).json()
    assert introspected["active"] is True
    assert {k: introspected[k] for k in ("sub", "act")} == expected
    refresh = _post("/introspect", stack, token=tokens["refresh_token"]).json()
    assert {k: refresh[k] for k in ("sub", "act")} == expected

    with stack.services.uow(read_only=True) as uow:
        consent_record = uow.consents.active(parent_id, KIDS_SCHOOL.client_id, child_id)
        events = [e for e in uow.audit.iter_all() if e.event == "token.issued_for_child"]
        grant = uow.grants.get(str(access["gid"]))
    assert consent_record is not None  # per child and per school system
    assert grant is not None
    assert grant.acting_for == child_id
    assert events
    assert child_id not in str(events[-1].fields)
    assert parent_id not in str(events[-1].fields)


def test_exactly_one_child_skips_the_choice(stack: JourneyStack, browser: Browser) -> None:
    page = _to_esia(browser, "parent_foreign", ACTING)
    assert page.url.endswith("/consent"), page.url
    assert not any(url.endswith("/child") for url in page.trail)
    assert "Лев" in page.text
    tokens = browser.token(KIDS_SCHOOL, browser.consent(page))
    parent_id = subject_of(stack, FOREIGN_OID)
    child_id = _children(stack, parent_id)["Лев"]
    claims = stack.verify(tokens["id_token"])
    assert claims["sub"] == _pairwise(stack, child_id)
    assert claims["act"] == {"sub": _pairwise(stack, parent_id)}


def test_T94_another_parents_child_in_the_form_is_the_same_as_none(
    stack: JourneyStack, browser: Browser
) -> None:
    other = stack.browser()
    try:
        _to_esia(other, "parent_foreign", ACTING)  # links Лев (if not yet)
    finally:
        other.close()
    with stack.services.uow(read_only=True) as uow:
        foreign_link = uow.guardianships.for_parent(subject_of(stack, FOREIGN_OID))[0]

    page = _to_esia(browser, "parent", ACTING)
    foreign = browser.post(page.url, _form(page, child=foreign_link.guardianship_id))
    missing = browser.post(foreign.url, _form(foreign, child="0" * 32))
    assert foreign.status == missing.status == 404
    tokens = re.compile(r'value="[^"]{30,}"')
    assert tokens.sub("", foreign.text) == tokens.sub("", missing.text)
    assert "Лев" not in foreign.text
    # The page still works: the parent's own child goes on to the consent.
    assert _choose(stack, browser, missing, "Иван").url.endswith("/consent")


def test_T96_non_delegable_scopes_are_refused_for_a_child(
    stack: JourneyStack, browser: Browser
) -> None:
    for scope in ("openid child profile", "openid child children diary"):
        answer = browser.authorize(KIDS_SCHOOL, scope)
        assert answer.query["error"] == "invalid_scope", answer.query
        assert not answer.visited(stack.sandbox_url)  # refused before any login


def test_prompt_none_with_two_children_is_interaction_required(
    stack: JourneyStack, browser: Browser
) -> None:
    _act_for(stack, browser, "Иван")  # an SSO session and a consent for Иван
    answer = browser.authorize(KIDS_SCHOOL, ACTING, prompt="none")
    assert answer.query["error"] == "interaction_required", answer.query


def test_a_person_without_children_gets_a_page(stack: JourneyStack, browser: Browser) -> None:
    page = _to_esia(browser, "single", ACTING)
    assert page.status == 403
    assert "Нет детей, за которых можно войти" in page.text
    answer = browser.submit(page)
    assert answer.query["error"] == "access_denied"


def test_T98_children_claim_lists_exactly_the_linked_children(
    stack: JourneyStack, browser: Browser
) -> None:
    answer = browser.login(KIDS_SCHOOL, "parent", "openid children diary")
    tokens = browser.token(KIDS_SCHOOL, answer)
    parent_id = subject_of(stack, PARENT_OID)
    kids = _children(stack, parent_id)
    expected = sorted(
        (
            {"sub": _pairwise(stack, kids[name]), "given_name": name, "school": "Школа № 1"}
            | {"class": cls}
            for name, cls in (("Пётр", "1А"), ("Иван", "9А"))
        ),
        key=lambda c: c["given_name"],
    )
    info = _userinfo(stack, tokens["access_token"]).json()
    id_token = stack.verify(tokens["id_token"])
    for claims in (info, id_token):
        assert sorted(claims["children"], key=lambda c: c["given_name"]) == expected
    assert info["sub"] == _pairwise(stack, parent_id)
    assert "act" not in info
    raw = str(info) + str(id_token)
    for secret in ("100-200-302 32", "10020030232", "IV-МЮ", "Мария", "Петрович", "2018"):
        assert secret not in raw


def test_token_exchange_with_a_guardianship_and_without(
    stack: JourneyStack, browser: Browser
) -> None:
    answer = browser.login(KIDS_SCHOOL, "parent", "openid children diary")
    parent_token = browser.token(KIDS_SCHOOL, answer)["access_token"]
    kids = _userinfo(stack, parent_token).json()["children"]
    ivan = next(c["sub"] for c in kids if c["given_name"] == "Иван")
    base = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": parent_token,
        "subject_token_type": ACCESS_TOKEN_TYPE,
        "requested_token_type": ACCESS_TOKEN_TYPE,
        "scope": "openid diary",
    }
    ok = _post("/token", stack, **base, child_sub=ivan)
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "openid diary"
    assert "refresh_token" not in body
    claims = stack.verify(body["access_token"])
    parent_id = subject_of(stack, PARENT_OID)
    assert claims["sub"] == ivan
    assert claims["act"] == {"sub": _pairwise(stack, parent_id)}
    assert claims["aud"] == KIDS_SCHOOL.client_id
    assert _userinfo(stack, body["access_token"]).json() == {
        "sub": ivan,
        "act": {"sub": _pairwise(stack, parent_id)},
    }

    lev = _pairwise(stack, _children(stack, subject_of(stack, FOREIGN_OID))["Лев"])
    foreign = _post("/token", stack, **base, child_sub=lev)
    unknown = _post("/token", stack, **base, child_sub="x" * 43)
    assert foreign.status_code == unknown.status_code == 400
    assert foreign.json() == unknown.json()
    assert foreign.json()["error"] == "invalid_grant"

    target = _post("/token", stack, **base, child_sub=ivan, resource="https://other.example/")
    assert target.json()["error"] == "invalid_target"
    not_delegable = _post("/token", stack, **{**base, "scope": "openid profile"}, child_sub=ivan)
    assert not_delegable.json()["error"] == "invalid_scope"


def test_discovery_lists_child_children_and_token_exchange(stack: JourneyStack) -> None:
    doc = requests.get(f"{stack.gateway_url}/.well-known/openid-configuration", timeout=10).json()
    assert {"child", "children"} <= set(doc["scopes_supported"])
    assert TOKEN_EXCHANGE in doc["grant_types_supported"]


def test_refresh_after_unlink_is_invalid_grant(stack: JourneyStack, browser: Browser) -> None:
    tokens = _act_for(stack, browser, "Пётр")
    refreshed = _post(
        "/token", stack, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refreshed.status_code == 200, refreshed.text
    again = refreshed.json()
    assert stack.verify(again["id_token"])["act"] == stack.verify(tokens["id_token"])["act"]
    with stack.services.uow(read_only=True) as uow:
        audited = [e.fields for e in uow.audit.iter_all() if e.event == "token.issued_for_child"]
    assert audited[-1]["grant_type"] == "refresh_token"  # committed with the rotation

    parent_id = subject_of(stack, PARENT_OID)
    child_id = _children(stack, parent_id)["Пётр"]
    with stack.services.uow(read_only=True) as uow:
        link = next(
            g
            for g in links_for_client(
                uow.guardianships,
                uow.schools,
                parent_id,
                KIDS_SCHOOL.client_id,
                stack.services.clock.now(),
            )
            if g.child_id == child_id
        )
    stack.services.children.unlink(parent_id, link.guardianship_id)

    refused = _post(
        "/token", stack, grant_type="refresh_token", refresh_token=again["refresh_token"]
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert _post("/introspect", stack, token=again["access_token"]).json() == {"active": False}
    assert _userinfo(stack, again["access_token"]).status_code == 401


def test_explain_why_a_parent_cannot_act_for_a_child(stack: JourneyStack) -> None:
    """``/admin/explain`` and ``vhod policy explain`` (one use case): after the unlink
    above, Пётр's link is ended; Иван's holds; Лев is another parent's child."""
    svc = stack.services
    parent_id = subject_of(stack, PARENT_OID)
    with svc.uow(read_only=True) as uow:
        kids = {g.child_id for g in uow.guardianships.for_parent(parent_id)}
    ivan = _children(stack, parent_id)["Иван"]
    (petr,) = kids - {ivan}
    lev = _children(stack, subject_of(stack, FOREIGN_OID))["Лев"]

    def explained(child: str, scope: str = "openid child diary") -> dict[str, Any]:
        query = ExplainQuery(
            client_id=KIDS_SCHOOL.client_id,
            subject=parent_id,
            scopes=tuple(scope.split()),
            acting_for=child,
        )
        ages = age_reader(svc.sealer, svc.clock)
        found = explain_query(
            svc.uow, svc.clock, svc.pepper, svc.config.scopes, svc.policy_documents, query, ages
        )
        return found.to_dict()

    ended = explained(petr)
    assert ended["decision"]["reason"] == "child_not_linked"
    assert ended["child_access"]["answer"].startswith("guardianship_ended")
    assert ended["child_access"]["guardianships"][0]["status"] == "ended"
    assert explained(lev)["child_access"]["answer"].startswith("no_guardianship")
    ok = explained(ivan)
    assert ok["decision"]["action"] == "allow", ok["decision"]
    assert ok["child_access"]["answer"].startswith("allowed")
    assert ok["child_access"]["guardianships"][0]["school_serves_client"] is True
    profile = explained(ivan, "openid child profile")
    assert profile["decision"]["reason"] == "scope_not_delegable"
    assert profile["child_access"]["not_delegable_scopes"] == ["profile"]
    with stack.app.test_request_context("/admin/explain"):
        page = render_template("admin_explain_child.html", result=ended)
    assert "guardianship_ended" in page


def test_T97_a_consent_for_a_child_is_shown_and_revocable_on_account(
    stack: JourneyStack, browser: Browser
) -> None:
    tokens = _act_for(stack, browser, "Иван")
    page = browser.get(f"{stack.gateway_url}/account")
    assert page.status == 200
    assert "за ребёнка: Иван" in page.text
    revoke = browser.submit(page, client_id=KIDS_SCHOOL.client_id)
    assert revoke.status in (200, 303)
    assert "за ребёнка: Иван" not in browser.get(f"{stack.gateway_url}/account").text
    refused = _post(
        "/token", stack, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refused.json()["error"] == "invalid_grant"
