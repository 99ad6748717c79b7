"""Admin pages and API: clients, keys, audit (filter, verify, every action with its actor),
and the OpenAPI document against the implemented routes."""

from __future__ import annotations

import re
from typing import Any

from tests.features.admin.helpers import AdminActions
from tests.helpers.journey import hidden_fields

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def test_clients_through_the_pages(admin: AdminActions, services: Any) -> None:
    created = admin.form(
        "/admin/clients",
        {
            "client_id": "lyceum",
            "name": "Лицей",
            "redirect_uris": "https://lyceum.example/cb\n",
            "scope": ["openid", "diary"],
        },
    )
    assert created.status_code == 303
    assert created.headers["Location"] == "/admin/clients/lyceum"
    page = admin.get("/admin/clients/lyceum").get_data(as_text=True)
    secret = re.search(r"<code>([A-Za-z0-9_-]{43})</code>", page)
    assert secret is not None  # shown once
    again = admin.get("/admin/clients/lyceum").get_data(as_text=True)
    assert secret.group(1) not in again
    updated = admin.form(
        "/admin/clients/lyceum",
        {
            "name": "Лицей 1",
            "redirect_uris": "https://lyceum.example/cb\nhttps://lyceum.example/cb2",
            "scope": ["openid"],
        },
    )
    assert updated.status_code == 303
    with services.uow() as uow:
        client = uow.clients.get("lyceum")
    assert client is not None
    assert client.redirect_uris == ("https://lyceum.example/cb", "https://lyceum.example/cb2")
    assert client.scopes == ("openid",)
    bad = admin.form("/admin/clients/lyceum", {"redirect_uris": "http://evil.example/cb"})
    assert bad.status_code == 400
    assert "http is allowed only for loopback hosts" in bad.get_data(as_text=True)
    assert admin.form("/admin/clients/lyceum/rotate-secret").status_code == 303
    assert admin.form("/admin/clients/lyceum/disable").status_code == 303
    with services.uow() as uow:
        disabled = uow.clients.get("lyceum")
    assert disabled is not None
    assert disabled.disabled
    assert admin.form("/admin/clients/lyceum/enable").status_code == 303
    assert admin.form("/admin/clients/nope/disable").status_code == 404


def test_clients_through_the_api(admin: AdminActions) -> None:
    body = {
        "client_id": "gym",
        "redirect_uris": ["https://gym.example/cb"],
        "scopes": ["openid", "diary"],
    }
    created = admin.post("/admin/api/clients", json=body)
    assert created.status_code == 201
    data = created.get_json()
    assert len(data["client_secret"]) >= 43
    assert "secret_digest" not in data["client"]
    assert admin.post("/admin/api/clients", json=body).status_code == 409
    invalid = admin.post(
        "/admin/api/clients", json={"client_id": "x y", "redirect_uris": ["ftp://a"]}
    )
    assert invalid.status_code == 400
    assert len(invalid.get_json()["problems"]) >= 2
    listed = admin.get("/admin/api/clients").get_json()["clients"]
    assert [c["client_id"] for c in listed] == ["gym"]
    assert admin.get("/admin/api/clients/gym").get_json()["scopes"] == ["openid", "diary"]
    assert admin.get("/admin/api/clients/none").status_code == 404
    changed = admin.post("/admin/api/clients/gym", json={"scopes": ["openid"]})
    assert changed.get_json()["client"]["scopes"] == ["openid"]
    assert admin.post("/admin/api/clients/gym", json={"secret": "x"}).status_code == 400
    rotated = admin.post("/admin/api/clients/gym/rotate-secret")
    assert rotated.get_json()["client_secret"] != data["client_secret"]
    assert admin.post("/admin/api/clients/gym/disable").get_json()["client"]["disabled"]
    assert not admin.post("/admin/api/clients/gym/enable").get_json()["client"]["disabled"]


def test_client_minimum_acr_through_the_api_and_pages(admin: AdminActions, services: Any) -> None:
    mfa = "urn:vhod:acr:esia-mfa"
    body = {"client_id": "bank", "redirect_uris": ["https://bank.example/cb"], "scopes": ["openid"]}
    created = admin.post("/admin/api/clients", json={**body, "min_acr": mfa})
    assert created.status_code == 201
    assert created.get_json()["client"]["min_acr"] == mfa
    assert admin.get("/admin/api/clients/bank").get_json()["min_acr"] == mfa
    unknown = admin.post("/admin/api/clients", json={**body, "client_id": "x", "min_acr": "urn:x"})
    assert unknown.status_code == 400
    assert any(p.startswith("min_acr: one of") for p in unknown.get_json()["problems"])
    refused = admin.post("/admin/api/clients/bank", json={"min_acr": "urn:x"})
    assert refused.status_code == 400
    assert refused.get_json()["problems"] == [
        "min_acr: one of urn:vhod:acr:esia, urn:vhod:acr:esia-mfa (or none)"
    ]
    cleared = admin.post("/admin/api/clients/bank", json={"min_acr": None})
    assert cleared.status_code == 200
    assert cleared.get_json()["client"]["min_acr"] is None
    updated = admin.audit_events("client.updated")
    assert updated[-1].fields["fields"] == ["min_acr"]
    assert updated[-1].fields["actor"] == admin.digest
    # The pages: register with a minimum, see it selected, change it.
    form = {"client_id": "bank2", "redirect_uris": "https://bank.example/cb", "scope": "openid"}
    assert admin.form("/admin/clients", {**form, "min_acr": mfa}).status_code == 303
    page = admin.get("/admin/clients/bank2").get_data(as_text=True)
    assert f"<option selected>{mfa}</option>" in page
    bad = admin.form("/admin/clients/bank2", {**form, "min_acr": "urn:x"})
    assert bad.status_code == 400
    assert "min_acr: one of" in bad.get_data(as_text=True)
    assert admin.form("/admin/clients/bank2", {**form, "min_acr": ""}).status_code == 303
    with services.uow() as uow:
        stored = uow.clients.get("bank2")
    assert stored is not None
    assert stored.min_acr is None


def test_keys_rotate(admin: AdminActions) -> None:
    before = admin.get("/admin/api/keys").get_json()["keys"]
    assert before
    assert all("private" not in str(k) for k in before)
    rotated = admin.post("/admin/api/keys/rotate", json={"alg": "ES256"})
    assert rotated.status_code == 200
    assert any("ES256" in line for line in rotated.get_json()["changes"])
    assert admin.post("/admin/api/keys/rotate", json={"alg": "HS256"}).status_code == 400
    assert admin.form("/admin/keys/rotate", {"alg": "RS256"}).status_code == 303


def test_every_admin_action_is_audited_with_its_actor(admin: AdminActions, services: Any) -> None:
    body = {"client_id": "aud", "redirect_uris": ["https://aud.example/cb"], "scopes": ["openid"]}
    admin.post("/admin/api/clients", json=body)
    admin.post("/admin/api/clients/aud", json={"name": "Audited"})
    admin.post("/admin/api/clients/aud/rotate-secret")
    admin.post("/admin/api/clients/aud/disable")
    admin.post("/admin/api/clients/aud/enable")
    admin.post("/admin/api/keys/rotate", json={})
    text = '[[rule]]\nscopes = ["*"]\neffect = "allow"\n'
    admin.post("/admin/api/policies", json={"text": text, "comment": "open"})
    admin.post("/admin/api/policies/1/rollback", json={})
    admin.post("/admin/api/policies/dry-run", json={"text": text})
    expected = {
        "admin.client_registered",
        "client.updated",
        "client.secret_rotated",
        "client.disabled",
        "client.enabled",
        "keys.rotated",
        "policy.applied",
        "policy.dry_run",
        "admin.signed_in",
        "admin.granted",
    }
    events = admin.audit_events()
    by_name: dict[str, list[Any]] = {}
    for event in events:
        by_name.setdefault(event.event, []).append(event)
    assert expected <= set(by_name)
    for name in expected:
        for event in by_name[name]:
            actor = event.fields.get("actor", event.fields.get("author"))
            assert actor == admin.digest, (name, event.fields)
    assert len(by_name["policy.applied"]) == 2
    assert by_name["policy.applied"][1].fields["rollback_of"] == 1
    verified = admin.get("/admin/api/audit/verify").get_json()
    assert verified["ok"] is True
    assert verified["rows"] == len(events)


def test_audit_filter_and_verify_page(admin: AdminActions) -> None:
    admin.post("/admin/api/keys/rotate", json={})
    events = admin.get("/admin/api/audit", query_string={"event": "keys"}).get_json()["events"]
    assert [e["event"] for e in events] == ["keys.rotated"]
    everything = admin.get("/admin/api/audit").get_json()["events"]
    assert everything[0]["seq"] > everything[-1]["seq"]  # newest first
    future = admin.get("/admin/api/audit", query_string={"since": "2999-01-01"})
    assert future.get_json()["events"] == []
    assert admin.get("/admin/api/audit", query_string={"since": "yesterday"}).status_code == 400
    page = admin.get("/admin/audit/verify").get_data(as_text=True)
    assert "head" in page
    filtered = admin.get("/admin/audit", query_string={"event": "admin.granted"})
    assert "admin.granted" in filtered.get_data(as_text=True)


# --------------------------------------------------------------------------- OpenAPI


def _check_refs(node: Any, document: dict[str, Any], where: str) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            assert ref.startswith("#/"), where
            target: Any = document
            for part in ref[2:].split("/"):
                assert part in target, f"{where}: dangling {ref}"
                target = target[part]
        for key, value in node.items():
            _check_refs(value, document, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _check_refs(value, document, f"{where}/{index}")


def test_openapi_document_is_structurally_valid(admin: AdminActions) -> None:
    response = admin.get("/admin/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"]
    assert document["info"]["version"]
    assert set(document) <= {
        "openapi",
        "info",
        "servers",
        "paths",
        "components",
        "security",
        "tags",
        "webhooks",
        "jsonSchemaDialect",
        "externalDocs",
    }
    operation_ids: set[str] = set()
    for path, item in document["paths"].items():
        assert path.startswith("/")
        templated = set(re.findall(r"{([a-z_]+)}", path))
        for method, operation in item.items():
            assert method in HTTP_METHODS, (path, method)
            assert operation["operationId"] not in operation_ids
            operation_ids.add(operation["operationId"])
            assert operation["responses"], (path, method)
            for status in operation["responses"]:
                assert re.fullmatch(r"[1-5][0-9][0-9]", status), (path, status)
                assert operation["responses"][status]["description"]
            params = [p for p in operation.get("parameters", []) if "$ref" not in p]
            path_params = {p["name"] for p in params if p["in"] == "path"}
            assert path_params == templated, (path, method)
            for param in params:
                assert param["in"] in {"path", "query", "header", "cookie"}
                assert "schema" in param
                if param["in"] == "path":
                    assert param["required"] is True
    _check_refs(document, document, "#")
    schemes = document["components"]["securitySchemes"]
    for requirement in document["security"]:
        assert set(requirement) <= set(schemes)


def _flask_paths(app: Any) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin/api/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            found.add((path, method.lower()))
    return found


def test_openapi_document_matches_the_routes_both_ways(app: Any, admin: AdminActions) -> None:
    document = admin.get("/admin/openapi.json").get_json()
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    implemented = _flask_paths(app)
    assert described - implemented == set(), "described but not implemented"
    assert implemented - described == set(), "implemented but not described"
    # State-changing operations declare the CSRF header.
    for path, item in document["paths"].items():
        for method, operation in item.items():
            refs = [p.get("$ref") for p in operation.get("parameters", [])]
            csrf = "#/components/parameters/CsrfHeader" in refs
            assert csrf == (method == "post"), (path, method)


def test_home_page_links_and_no_javascript(admin: AdminActions) -> None:
    text = admin.get("/admin/").get_data(as_text=True)
    assert "/admin/openapi.json" in text
    assert hidden_fields(text)["csrf_token"]
