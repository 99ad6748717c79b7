"""What must fail, fails with the right error and reason: signatures, certificate hash,
timestamp, redirect URI, codes, state (T90), ESIA's tokens (T91) and ESIA's errors (T92)."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
import requests

from gateway.core.errors import UpstreamDenied
from gateway.core.errors import UpstreamError
from gateway.core.errors import UpstreamProtocolError
from gateway.core.errors import UpstreamUnavailable
from gateway.core.ids import new_uuid
from providers.upstream.esia.certificates import parse_certificate
from providers.upstream.esia.certificates import parse_private_key
from providers.upstream.esia.provider import build_esia_provider
from providers.upstream.esia.settings import system_certificate_path
from providers.upstream.esia.settings import system_key_path
from providers.upstream.esia.signing import PureGostSigner
from providers.upstream.esia.signing import b64url
from providers.upstream.esia.signing import decode_client_secret
from providers.upstream.esia.signing import sign_v1_cms
from tests.helpers.esia import CALLBACK
from tests.helpers.esia import EsiaSandbox
from tests.helpers.esia import browser


class _WrongKeySigner:
    """Presents VHOD_GOST's certificate but signs with another system's key."""

    def __init__(self, sandbox: EsiaSandbox) -> None:
        pem = system_certificate_path(sandbox.dir, "VHOD_GOST").read_bytes()
        self.certificate = parse_certificate(pem).der
        other = system_key_path(sandbox.dir, "VHOD_OTHER").read_bytes()
        self._key = parse_private_key(other)

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


def _assert_error(exc: UpstreamError, cls: type[UpstreamError], reason: str) -> None:
    assert type(exc) is cls, (type(exc), exc.reason, exc.debug)
    assert exc.reason == reason


def _complete_error(sandbox: EsiaSandbox, provider: object, **kw: object) -> UpstreamError:
    state, result = sandbox.authorize(provider, **kw)  # type: ignore[arg-type]
    with pytest.raises(UpstreamError) as info:
        provider.complete(result.query, state, CALLBACK, ("openid",))  # type: ignore[attr-defined]
    return info.value


# ------------------------------------------------------------------------ our requests


@pytest.mark.parametrize("protocol", ["v2", "v1"])
def test_bad_client_secret_signature_is_007053(sandbox: EsiaSandbox, protocol: str) -> None:
    config = sandbox.gateway_config("VHOD_GOST", protocol=protocol)
    provider = build_esia_provider(config, signer=_WrongKeySigner(sandbox))
    state, result = sandbox.authorize(provider)
    assert result.status == 302
    assert result.query["error"] == "access_denied"
    assert result.query["error_description"].startswith("ESIA-007053")
    assert result.query["state"] == state
    with pytest.raises(UpstreamError) as info:
        provider.complete(result.query, state, CALLBACK, ("openid",))
    _assert_error(info.value, UpstreamProtocolError, "esia_client_rejected")


def test_wrong_client_certificate_hash_is_007053(sandbox: EsiaSandbox) -> None:
    other = PureGostSigner.from_files(
        system_key_path(sandbox.dir, "VHOD_OTHER"),
        system_certificate_path(sandbox.dir, "VHOD_OTHER"),
    )
    provider = build_esia_provider(sandbox.gateway_config("VHOD_GOST"), signer=other)
    err = _complete_error(sandbox, provider)
    _assert_error(err, UpstreamProtocolError, "esia_client_rejected")


def test_timestamp_outside_the_window_is_007015(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider(clock_offset_seconds=600)  # the sandbox allows 120 s
    state, result = sandbox.authorize(provider)
    assert result.query["error_description"].startswith("ESIA-007015")
    with pytest.raises(UpstreamError) as info:
        provider.complete(result.query, state, CALLBACK, ("openid",))
    _assert_error(info.value, UpstreamProtocolError, "esia_clock_skew")


def test_local_time_timestamp_with_offset_is_accepted(sandbox: EsiaSandbox) -> None:
    identity = sandbox.login(sandbox.provider(timestamp_utc=False), "single")
    assert identity.account_level == "confirmed"


def test_unregistered_redirect_uri_gets_a_page_not_a_redirect(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider()
    url = provider.authorization_url(new_uuid(), ("openid",), "https://evil.example/cb")
    result = browser(url, persona=None)
    assert result.status == 400
    assert result.location is None
    assert "ESIA-007023" in result.body


def test_scope_not_granted_to_the_system_is_007019(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider("VHOD_LIMITED")  # may not ask for snils / kid_*
    state, result = sandbox.authorize(provider, scopes=("openid", "children"))
    assert result.query["error_description"].startswith("ESIA-007019")
    with pytest.raises(UpstreamError) as info:
        provider.complete(result.query, state, CALLBACK, ("openid",))
    _assert_error(info.value, UpstreamDenied, "esia_no_permission")


def test_reused_code_is_refused(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider()
    state, result = sandbox.authorize(provider, "single")
    provider.complete(dict(result.query), state, CALLBACK, ("openid",))
    with pytest.raises(UpstreamError) as info:
        provider.complete(dict(result.query), state, CALLBACK, ("openid",))
    _assert_error(info.value, UpstreamProtocolError, "esia_code_rejected")


def test_foreign_state_is_refused_before_any_token_request(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider()
    state, result = sandbox.authorize(provider, "single")
    with pytest.raises(UpstreamError) as info:
        provider.complete(dict(result.query), new_uuid(), CALLBACK, ("openid",))
    _assert_error(info.value, UpstreamProtocolError, "esia_state_mismatch")
    # The code was not spent: the rightful journey still completes.
    identity = provider.complete(dict(result.query), state, CALLBACK, ("openid",))
    assert identity.account_level == "confirmed"


def test_missing_state_or_code(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider()
    state = new_uuid()
    for params in ({"code": "x"}, {"state": state}):
        with pytest.raises(UpstreamProtocolError):
            provider.complete(params, state, CALLBACK, ("openid",))


def test_an_error_for_another_login_does_not_end_this_one(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider()
    params = {"error": "access_denied", "error_description": "ESIA-007004: x", "state": new_uuid()}
    with pytest.raises(UpstreamError) as info:
        provider.complete(params, new_uuid(), CALLBACK, ("openid",))
    _assert_error(info.value, UpstreamProtocolError, "esia_state_mismatch")


# ------------------------------------------------------------------------ ESIA's tokens (T91)


@pytest.mark.parametrize(
    ("defect", "reason"),
    [
        ("signature", "esia_token_invalid"),
        ("iss", "esia_token_invalid"),
        ("expired", "esia_token_invalid"),
        ("not_yet_valid", "esia_token_invalid"),
        ("aud", "esia_token_invalid"),
        ("client_id", "esia_token_invalid"),
        ("sbt", "esia_token_invalid"),
        ("state", "esia_state_mismatch"),
    ],
)
@pytest.mark.parametrize("client_id", ["VHOD_GOST", "VHOD_RSA"])
def test_spoiled_tokens_are_rejected(
    sandbox: EsiaSandbox, defect: str, reason: str, client_id: str
) -> None:
    provider = sandbox.provider(client_id)
    state, result = sandbox.authorize(provider, "single")
    sandbox.faults(token_defect=defect)
    with pytest.raises(UpstreamError) as info:
        provider.complete(result.query, state, CALLBACK, ("openid",))
    _assert_error(info.value, UpstreamProtocolError, reason)


def test_token_alg_not_accepted(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider("VHOD_RSA", token_algs=["GOST3410_2012_256"])
    err = _complete_error(sandbox, provider, persona="single")
    _assert_error(err, UpstreamProtocolError, "esia_token_invalid")


def test_untrusted_signing_certificate(sandbox: EsiaSandbox) -> None:
    # Trust only the real ESIA production certificate: the sandbox's tokens must fail.
    provider = sandbox.provider(trusted_certificates=["bundled:esia-prod-gost-2025.cer"])
    err = _complete_error(sandbox, provider, persona="single")
    _assert_error(err, UpstreamProtocolError, "esia_token_invalid")


# ------------------------------------------------------------------------ ESIA's errors (T92)


def test_cancel_button(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider()
    state, result = sandbox.authorize(provider, "parent", action="cancel")
    assert result.query["error"] == "access_denied"
    assert result.query["error_description"].startswith("ESIA-007004")
    with pytest.raises(UpstreamError) as info:
        provider.complete(result.query, state, CALLBACK, ("openid",))
    _assert_error(info.value, UpstreamDenied, "esia_cancelled")


@pytest.mark.parametrize(
    ("code", "cls", "reason"),
    [
        ("007055", UpstreamDenied, "esia_unconfirmed_account"),
        ("007004", UpstreamDenied, "esia_cancelled"),
        ("007008", UpstreamUnavailable, "esia_unavailable"),
        ("007007", UpstreamUnavailable, "esia_unavailable"),
        ("007006", UpstreamProtocolError, "esia_request_rejected"),
    ],
)
def test_authorize_errors(
    sandbox: EsiaSandbox, code: str, cls: type[UpstreamError], reason: str
) -> None:
    sandbox.faults(authorize_error=code)
    err = _complete_error(sandbox, sandbox.provider())
    _assert_error(err, cls, reason)


@pytest.mark.parametrize(
    ("code", "cls", "reason"),
    [
        ("007007", UpstreamUnavailable, "esia_unavailable"),
        ("007011", UpstreamProtocolError, "esia_code_rejected"),
        ("007053", UpstreamProtocolError, "esia_client_rejected"),
        ("007055", UpstreamDenied, "esia_unconfirmed_account"),
    ],
)
def test_token_errors(
    sandbox: EsiaSandbox, code: str, cls: type[UpstreamError], reason: str
) -> None:
    provider = sandbox.provider()
    state, result = sandbox.authorize(provider, "single")
    sandbox.faults(token_error=code)
    with pytest.raises(UpstreamError) as info:
        provider.complete(result.query, state, CALLBACK, ("openid",))
    _assert_error(info.value, cls, reason)


def test_error_debug_never_carries_esia_free_text(sandbox: EsiaSandbox) -> None:
    sandbox.faults(authorize_error="007055")
    err = _complete_error(sandbox, sandbox.provider())
    assert "неподтвержденной" not in err.debug
    assert err.debug == "authorize: error=access_denied code=007055"


# ------------------------------------------------------------------------ sandbox leniency


def _swap_secret(url: str, transform: object) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["client_secret"] = transform(query["client_secret"])  # type: ignore[operator]
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}"


@pytest.mark.parametrize(
    "encode",
    [
        lambda raw: b64url(raw) + "==",
        lambda raw: __import__("base64").b64encode(raw).decode(),
        lambda raw: __import__("base64").b64encode(raw).decode().rstrip("="),
    ],
    ids=["base64url-padded", "standard-padded", "standard-unpadded"],
)
def test_sandbox_accepts_every_v2_secret_encoding(sandbox: EsiaSandbox, encode: object) -> None:
    provider = sandbox.provider()
    url = provider.authorization_url(new_uuid(), ("openid",), CALLBACK)
    swapped = _swap_secret(url, lambda s: encode(decode_client_secret(s)))  # type: ignore[operator]
    assert requests.get(swapped, allow_redirects=False, timeout=5).status_code == 200


def test_sandbox_accepts_lower_case_certificate_hash(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider()
    url = provider.authorization_url(new_uuid(), ("openid",), CALLBACK)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["client_certificate_hash"] = query["client_certificate_hash"].lower()
    lowered = f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}"
    assert requests.get(lowered, allow_redirects=False, timeout=5).status_code == 200


def test_sandbox_accepts_v1_cms_with_signed_attributes(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider(protocol="v1")
    signer = PureGostSigner.from_files(
        system_key_path(sandbox.dir, "VHOD_GOST"), system_certificate_path(sandbox.dir, "VHOD_GOST")
    )
    url = provider.authorization_url(new_uuid(), ("openid",), CALLBACK)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    text = f"{query['scope']}{query['timestamp']}{query['client_id']}{query['state']}"
    with_attrs = _swap_secret(url, lambda _: sign_v1_cms(signer, text, signed_attrs=True))
    assert requests.get(with_attrs, allow_redirects=False, timeout=5).status_code == 200


def test_missing_certificate_hash_is_007014(sandbox: EsiaSandbox) -> None:
    provider = sandbox.provider()
    url = provider.authorization_url(new_uuid(), ("openid",), CALLBACK)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items() if k != "client_certificate_hash"}
    r = requests.get(
        f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}",
        allow_redirects=False,
        timeout=5,
    )
    assert r.status_code == 302
    location = parse_qs(urlsplit(r.headers["Location"]).query)
    assert location["error"] == ["invalid_request"]
    assert location["error_description"][0].startswith("ESIA-007014")
    assert "client_certificate_hash" in location["error_description"][0]


def test_dataclass_identity_is_frozen(sandbox: EsiaSandbox) -> None:
    identity = sandbox.login(sandbox.provider(), "single")
    with pytest.raises(dataclasses.FrozenInstanceError):
        identity.subject = "x"  # type: ignore[misc]
