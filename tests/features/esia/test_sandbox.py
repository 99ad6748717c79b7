"""The sandbox itself: personas, REST envelopes and scope filtering, faults, extra personas."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from gateway.core.identifiers import is_valid_birth_certificate
from gateway.core.identifiers import is_valid_snils
from providers.upstream.esia_sandbox import create_sandbox_app
from tests.helpers.esia import CALLBACK
from tests.helpers.esia import EsiaSandbox


def _years(ddmmyyyy: str) -> int:
    day, month, year = (int(p) for p in ddmmyyyy.split("."))
    today = date.today()  # noqa: DTZ011 -- the sandbox computes ages in local dates
    return today.year - year - ((today.month, today.day) < (month, day))


def test_personas_json_lists_every_class(sandbox: EsiaSandbox) -> None:
    personas = {p["id"]: p for p in sandbox.personas()}
    assert {
        "parent",
        "kid7",
        "teen15",
        "parent_foreign",
        "standard",
        "simplified",
        "single",
    } <= set(personas)
    parent = personas["parent"]
    assert parent["level"] == "confirmed"
    assert [_years(k["birthDate"]) for k in parent["kids"]] == [7, 12, 15]
    assert personas["kid7"]["lvl"] == "KD"
    assert parent["kids"][0]["account"] == "kid7"
    assert parent["kids"][2]["account"] == "teen15"
    assert parent["kids"][2]["snils"] == personas["teen15"]["snils"]
    assert personas["parent_foreign"]["kids"][0]["documents"] == ["FID_BRTH_CERT"]
    assert personas["standard"]["level"] == "standard"
    assert personas["simplified"]["snils"] is None
    for persona in personas.values():
        for snils in [persona["snils"], *(k["snils"] for k in persona["kids"])]:
            assert snils is None or is_valid_snils(snils)


def _token(sandbox: EsiaSandbox, scopes: tuple[str, ...], persona: str = "parent") -> str:
    provider = sandbox.provider(request_mobile=False)
    esia = provider.esia_scopes(scopes)
    _, result = sandbox.authorize(provider, persona, scopes)
    return provider.client.exchange_code(result.query["code"], esia, CALLBACK).access_token


def _get(sandbox: EsiaSandbox, path: str, token: str, **params: str) -> requests.Response:
    return requests.get(
        f"{sandbox.url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def test_rest_envelopes_embed_and_items(sandbox: EsiaSandbox) -> None:
    token = _token(sandbox, ("openid", "children"))
    base = "/rs/prns/1000100001"
    person = _get(sandbox, base, token).json()
    assert person["trusted"] is True
    assert "gender" not in person  # not granted
    assert "inn" not in person
    kids = _get(sandbox, f"{base}/kids", token).json()
    assert kids["stateFacts"] == ["hasSize"]
    assert kids["size"] == 3
    assert len(kids["eTag"]) == 40
    assert kids["elements"][0] == f"{sandbox.url}{base}/kids/7000001"  # URLs without embed
    item = _get(sandbox, f"{base}/kids/7000001", token).json()
    assert set(item) == {
        "id",
        "stateFacts",
        "eTag",
        "lastName",
        "firstName",
        "middleName",
        "birthDate",
        "snils",
    }
    inline = _get(sandbox, f"{base}/kids", token, embed="(elements)").json()
    assert inline["elements"][0]["id"] == 7000001
    docs = _get(sandbox, f"{base}/kids/7000001/docs", token, embed="(elements)").json()
    assert [d["type"] for d in docs["elements"]] == ["RF_BRTH_CERT"]  # no MDCL_PLCY scope
    cert = docs["elements"][0]
    assert is_valid_birth_certificate(cert["series"], cert["number"])
    nested = _get(sandbox, base, token, embed="(kids.elements)").json()
    assert nested["kids"]["size"] == 3


def test_rest_scope_and_owner_checks(sandbox: EsiaSandbox) -> None:
    token = _token(sandbox, ("openid",))
    base = "/rs/prns/1000100001"
    assert _get(sandbox, f"{base}/kids", token).status_code == 403
    assert _get(sandbox, f"{base}/ctts", token).status_code == 403
    assert _get(sandbox, f"{base}/docs", token).status_code == 403
    assert _get(sandbox, "/rs/prns/1000100051", token).status_code == 403  # someone else
    assert _get(sandbox, base, "not-a-token").status_code == 401


def test_faults_admin_validation(sandbox: EsiaSandbox) -> None:
    url = f"{sandbox.url}/sandbox/faults"
    assert requests.post(url, json={"latency_ms": -1}, timeout=5).status_code == 400
    assert requests.post(url, json={"http_status": 404}, timeout=5).status_code == 400
    assert requests.post(url, json={"token_error": "55"}, timeout=5).status_code == 400
    assert requests.post(url, json={"bogus": 1}, timeout=5).status_code == 400
    r = requests.post(url, json={"authorize_error": "007055", "remaining": 1}, timeout=5)
    assert r.json()["authorize_error"] == "007055"
    assert requests.delete(url, timeout=5).json()["authorize_error"] is None


def test_fault_with_remaining_expires(sandbox: EsiaSandbox) -> None:
    sandbox.faults(http_status=503, endpoints=["authorize"], remaining=1)
    provider = sandbox.provider()
    _, first = sandbox.authorize(provider, "single")
    assert first.status == 503
    identity = sandbox.login(provider, "single")
    assert identity.account_level == "confirmed"


def test_extra_personas_file_and_stable_keys(tmp_path: Path) -> None:
    extra: dict[str, Any] = {
        "personas": [
            {
                "id": "grandma",
                "label_ru": "Бабушка",
                "oid": 1000999001,
                "level": "standard",
                "person": {
                    "lastName": "Тестова",
                    "firstName": "Зоя",
                    "birthDate": {"ago": {"years": 70, "days": 1}},
                },
            }
        ]
    }
    (tmp_path / "personas.json").write_text(json.dumps(extra), encoding="utf-8")
    app = create_sandbox_app(tmp_path)
    client = app.test_client()
    ids = [p["id"] for p in client.get("/sandbox/personas").get_json()]
    assert ids[-1] == "grandma"
    assert "parent" in ids
    first_cert = (tmp_path / "systems" / "VHOD_DEV" / "certificate.pem").read_bytes()
    create_sandbox_app(tmp_path)  # a restart reuses the keys
    assert (tmp_path / "systems" / "VHOD_DEV" / "certificate.pem").read_bytes() == first_cert
    assert (tmp_path / "systems" / "VHOD_DEV" / "key.pem").stat().st_mode & 0o077 == 0


def test_broken_personas_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "personas.json").write_text(
        json.dumps({"personas": [{"id": "x", "oid": 1, "level": "royal"}]}), encoding="utf-8"
    )
    with pytest.raises(ValueError, match="level"):
        create_sandbox_app(tmp_path)


def test_index_and_logout_checks(sandbox: EsiaSandbox) -> None:
    index = requests.get(f"{sandbox.url}/", timeout=5).json()
    assert len(index["systems"]["VHOD_GOST"]["client_certificate_hash"]) == 64
    bad = requests.get(
        f"{sandbox.url}/idp/ext/Logout",
        params={"client_id": "VHOD_GOST", "redirect_url": "https://evil.example/"},
        allow_redirects=False,
        timeout=5,
    )
    assert bad.status_code == 400


def test_sandbox_pages_refuse_to_be_framed(sandbox: EsiaSandbox) -> None:
    for path in ("/sandbox/personas", "/"):
        response = requests.get(f"{sandbox.url}{path}", timeout=5)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
