"""Property-based fuzzing (hypothesis) of the parsers of outside input (issue 14 item 2):
the configuration (TOML file, environment overlay), ESIA's answers (the allow-list mapping),
admin rule documents, and the form fields of the login pages. Each either succeeds or
refuses in its own format — ``ConfigError`` listing problems, ``DocumentInvalid`` with
lines, an HTML page with a 4xx — and never raises anything else. Budget:
``tests/reliability/fuzzing.py``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.config.loader import config_from_dict
from gateway.config.loader import load_config
from gateway.config.schema import GatewayConfig
from gateway.core.errors import ConfigError
from gateway.core.errors import DestinationRefused
from gateway.core.types import UpstreamIdentity
from policies.documents.parse import _RULE_KEYS
from policies.documents.parse import DocumentInvalid
from policies.documents.parse import parse_document
from providers.factors.sms_limits import normalize_phone
from providers.upstream.esia.mapping import KidRecord
from providers.upstream.esia.mapping import map_identity
from tests.reliability.fuzzing import CASES
from tests.reliability.fuzzing import CHEAP
from tests.reliability.fuzzing import FUZZ

# ---------------------------------------------------------------- values

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
toml_scalars = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
toml_values = toml_scalars | st.lists(toml_scalars, max_size=4)


def quote(text: str) -> str:
    """A TOML basic string."""
    escaped = "".join(
        ch
        if ch.isprintable() and ch not in '"\\'
        else (f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
        for ch in text
        if not 0xD800 <= ord(ch) <= 0xDFFF
    )
    return f'"{escaped}"'


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return quote(str(v))


def toml_text(data: dict[str, dict[str, Any]]) -> str:
    """A TOML document of one level of tables (enough for the config and the rules)."""
    lines: list[str] = []
    for table, options in data.items():
        lines.append(f"[{quote(table)}]")
        lines += [f"{quote(k)} = {toml_value(v)}" for k, v in options.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- configuration

SECTIONS = sorted(GatewayConfig.model_fields)


def _options(section: str) -> list[str]:
    annotation = GatewayConfig.model_fields[section].annotation
    fields = getattr(annotation, "model_fields", {})
    return sorted(fields) or ["x"]


config_data = st.dictionaries(
    st.sampled_from(SECTIONS) | st.text(min_size=1, max_size=10),
    st.deferred(lambda: st.just(None)),
    max_size=4,
).flatmap(
    lambda sections: st.fixed_dictionaries(
        {
            name: st.dictionaries(
                st.sampled_from(_options(name)) if name in SECTIONS else st.text(max_size=8),
                toml_values,
                max_size=4,
            )
            for name in sections
        }
    )
)


@given(config_data)
@CHEAP
def test_fuzz_config_from_dict(data: dict[str, Any]) -> None:
    CASES["config"] += 1
    refusal: ConfigError | None = None
    try:
        config: GatewayConfig | None = config_from_dict(data)
    except ConfigError as error:
        config, refusal = None, error
    if refusal is not None:
        assert refusal.problems, "a refusal lists its problems"
        assert all(isinstance(p, str) and p for p in refusal.problems)
    else:
        assert isinstance(config, GatewayConfig)


@given(
    config_data,
    st.dictionaries(
        st.sampled_from(["VHOD__SERVER__PORT", "VHOD__STORE__POOL_SIZE", "VHOD__MODE"])
        | st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1, max_size=20).map(
            lambda s: "VHOD__" + s
        ),
        st.text(max_size=20).filter(lambda s: "\x00" not in s),
        max_size=3,
    ),
    st.booleans(),
    st.binary(max_size=200),
)
@FUZZ
def test_fuzz_config_file_and_environment(
    tmp_path_factory: pytest.TempPathFactory,
    data: dict[str, Any],
    env: dict[str, str],
    garbage: bool,
    raw: bytes,
) -> None:
    CASES["config-file"] += 1
    path = tmp_path_factory.mktemp("cfg") / "vhod.toml"
    path.write_bytes(raw if garbage else toml_text(data).encode())
    refusal: ConfigError | None = None
    try:
        load_config(path, env)
    except ConfigError as error:
        refusal = error
    assert refusal is None or refusal.problems


# ---------------------------------------------------------------- ESIA answers

GRANTED = ("fullname", "birthdate", "snils", "mobile", "email", "kid_fullname", "kid_birthdate")
json_objects = st.dictionaries(
    st.sampled_from(
        [
            "lastName",
            "firstName",
            "middleName",
            "birthDate",
            "snils",
            "trusted",
            "rIdDoc",
            "type",
            "vrfStu",
            "value",
            "series",
            "number",
            "issueDate",
            "id",
            "urn:esia:sbj",
            "amr",
        ]
    )
    | st.text(max_size=8),
    json_values,
    max_size=8,
)


@given(
    st.text(max_size=20),
    json_objects,
    st.frozensets(st.sampled_from(GRANTED)),
    st.none() | json_objects,
    st.lists(json_objects, max_size=3),
    st.none() | st.lists(json_objects, max_size=3),
    st.lists(st.builds(KidRecord, json_objects, st.lists(json_objects, max_size=2)), max_size=2),
)
@CHEAP
def test_fuzz_esia_answers_mapping(
    oid: str,
    person: dict[str, Any],
    granted: frozenset[str],
    id_claims: dict[str, Any] | None,
    contacts: list[dict[str, Any]],
    documents: list[dict[str, Any]] | None,
    kids: list[KidRecord],
) -> None:
    CASES["esia-mapping"] += 1
    identity = map_identity(
        oid=oid,
        person=person,
        granted=granted,
        id_claims=id_claims,
        contacts=contacts,
        documents=documents,
        kids=kids,
    )
    assert isinstance(identity, UpstreamIdentity)
    allowed = {
        "family_name",
        "given_name",
        "middle_name",
        "birthdate",
        "snils",
        "phone_number",
        "phone_number_verified",
        "email",
        "email_verified",
    }
    assert set(identity.attributes) <= allowed


# ---------------------------------------------------------------- rule documents

rule_tables = st.dictionaries(
    st.sampled_from(_RULE_KEYS) | st.text(max_size=8), toml_values, max_size=6
)


def rules_text(policy: dict[str, Any], rules: list[dict[str, Any]]) -> str:
    text = toml_text({"policy": policy}) if policy else ""
    for rule in rules:
        body = toml_text({"x": rule}).split("\n", 1)[1]
        text += "[[rule]]\n" + body
    return text


@given(
    st.dictionaries(
        st.sampled_from(["name", "description", "default", "default_reason"]),
        st.sampled_from(["allow", "deny"]) | toml_scalars,
        max_size=4,
    ),
    st.lists(rule_tables, max_size=4),
    st.none() | st.text(max_size=300),
)
@CHEAP
def test_fuzz_policy_documents(
    policy: dict[str, Any], rules: list[dict[str, Any]], raw: str | None
) -> None:
    from gateway.config.schema import GatewayConfig as Config

    CASES["policy-documents"] += 1
    source = raw if raw is not None else rules_text(policy, rules)
    if raw is None:
        tomllib.loads(source)  # the generator writes valid TOML
    refusal: DocumentInvalid | None = None
    try:
        parse_document(source, Config().scopes)
    except DocumentInvalid as invalid:
        refusal = invalid
    if refusal is not None:
        assert refusal.problems
        assert all(p.line >= 0 and p.message for p in refusal.problems)


# ---------------------------------------------------------------- form fields


@given(st.text(max_size=30))
@CHEAP
def test_fuzz_phone_numbers(raw: str) -> None:
    CASES["phone"] += 1
    try:
        e164 = normalize_phone(raw)
    except DestinationRefused as refused:
        reason = refused.reason
    else:
        reason = ""
        assert e164.startswith("+")
        assert e164[1:].isdigit()
    assert reason in ("", "phone_invalid")


FORM_PATHS = (
    "/login/fake",
    "/login/{jid}/factor",
    "/login/{jid}/factor/send",
    "/login/{jid}/consent",
    "/logout",
    "/logout/confirm",
    "/account/logout",
)
FIELDS = ("csrf_token", "state", "persona", "step", "kind", "code", "decision", "cancel")


@pytest.fixture(scope="module")
def journey_app(tmp_path_factory: pytest.TempPathFactory, oauth_template: Path) -> Any:
    import shutil

    from gateway.app import build_services
    from gateway.app import create_app
    from gateway.config.loader import data_dir
    from gateway.core.clock import FixedClock
    from tests.conftest import make_config
    from tests.helpers.oauth import OAuthKit

    config = make_config(tmp_path_factory.mktemp("forms"))
    shutil.copytree(oauth_template, data_dir(config), dirs_exist_ok=True)
    services = build_services(config, FixedClock(), prepare_stores=True)
    app = create_app(services=services)
    app.testing = True
    kit = OAuthKit(app.test_client(), services)
    school = kit.register("school")
    page = kit.journey.follow(kit.get_authorize(school))  # a live journey at the fake page
    yield kit, page
    services.engine.dispose()


@given(
    st.sampled_from(FORM_PATHS),
    st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), st.text(max_size=80)),
    st.booleans(),
)
@FUZZ
def test_fuzz_login_form_fields(
    journey_app: Any, path: str, form: dict[str, str], real_csrf: bool
) -> None:
    """Random fields posted to the login pages (with the real CSRF token half the time):
    a page or a redirect, never a 5xx, never a code."""
    from tests.helpers.journey import hidden_fields

    kit, page = journey_app
    CASES["forms"] += 1
    fields = hidden_fields(page.get_data(as_text=True))
    if real_csrf:
        form = {**form, "csrf_token": fields.get("csrf_token", "")}
    jid = "j" + str(abs(hash(path)) % 1000)
    response = kit.client.post(path.format(jid=jid), data=form)
    assert response.status_code < 500, (path, response.status_code)
    if response.status_code >= 400:
        assert response.mimetype == "text/html"
    location = response.headers.get("Location", "")
    assert "code=" not in location, location
