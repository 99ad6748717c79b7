"""ESIA JWT verification: RS256 and GOST3410_2012_256 against a ring, then claims (T91)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from gateway.core.clock import FixedClock
from gateway.core.errors import UpstreamProtocolError
from providers.upstream.esia.gost import PrivateKey
from providers.upstream.esia.gost_curves import CRYPTOPRO_A
from providers.upstream.esia.signing import b64url
from providers.upstream.esia.tokens import CertificateRing
from providers.upstream.esia.tokens import EsiaTokenVerifier
from providers.upstream.esia.tokens import TrustedCertificate
from providers.upstream.esia.tokens import load_certificate
from providers.upstream.esia_sandbox.crypto import gost_self_signed

NOW = 1_790_000_000.0
ISS = "http://esia-portal1.test.gosuslugi.ru/"
CLIENT = "VHOD01"
REPO = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def gost_key() -> PrivateKey:
    return PrivateKey.generate(CRYPTOPRO_A)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _rsa_cert(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ESIA test RSA")])
    start = datetime.fromtimestamp(NOW, tz=UTC) - timedelta(days=10)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _gost_cert(key: PrivateKey) -> bytes:
    return gost_self_signed(key, "ESIA test GOST", datetime.fromtimestamp(NOW, tz=UTC))


def _jwt(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    return f"{head}.{body}.{b64url(sign(f'{head}.{body}'.encode()))}"


def _access_claims(**overrides: Any) -> dict[str, Any]:
    claims = {
        "nbf": int(NOW),
        "scope": "fullname?oid=1000299681 openid",
        "iss": ISS,
        "urn:esia:sid": "a9b1",
        "urn:esia:sbj_id": 1000299681,
        "exp": int(NOW) + 3600,
        "iat": int(NOW),
        "client_id": CLIENT,
    }
    claims.update(overrides)
    return claims


def _id_claims(**overrides: Any) -> dict[str, Any]:
    claims = {
        "aud": CLIENT,
        "sub": 1000299681,
        "iss": ISS,
        "exp": int(NOW) + 3600,
        "iat": int(NOW),
        "urn:esia:sbj": {"urn:esia:sbj:typ": "P", "urn:esia:sbj:oid": 1000299681},
    }
    claims.update(overrides)
    return claims


ACCESS = {"ver": 1, "typ": "JWT", "sbt": "access"}
ID = {"ver": 0, "typ": "JWT", "sbt": "id"}


@pytest.fixture(scope="module")
def ring(gost_key: PrivateKey, rsa_key: rsa.RSAPrivateKey) -> CertificateRing:
    return CertificateRing(
        [
            load_certificate(_gost_cert(gost_key), "gost"),
            load_certificate(_rsa_cert(rsa_key), "rsa"),
        ]
    )


def _verifier(ring: CertificateRing, now: float = NOW, **kw: Any) -> EsiaTokenVerifier:
    args: dict[str, Any] = {
        "issuer": ISS,
        "client_id": CLIENT,
        "algs": ("RS256", "GOST3410_2012_256"),
        "leeway_seconds": 60,
        "clock": FixedClock(now),
    }
    args.update(kw)
    return EsiaTokenVerifier(ring, **args)


def _gost_sign(key: PrivateKey) -> Any:
    return key.sign


def _rsa_sign(key: rsa.RSAPrivateKey) -> Any:
    return lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def test_gost_and_rsa_tokens_verify(
    ring: CertificateRing, gost_key: PrivateKey, rsa_key: rsa.RSAPrivateKey
) -> None:
    verifier = _verifier(ring)
    gost = _jwt({**ACCESS, "alg": "GOST3410_2012_256"}, _access_claims(), _gost_sign(gost_key))
    assert verifier.verify(gost, "access").oid == "1000299681"
    rs = _jwt({**ID, "alg": "RS256"}, _id_claims(), _rsa_sign(rsa_key))
    assert verifier.verify(rs, "id").oid == "1000299681"
    listed = _jwt({**ID, "alg": "RS256"}, _id_claims(aud=["X", CLIENT]), _rsa_sign(rsa_key))
    assert verifier.verify(listed, "id").claims["aud"] == ["X", CLIENT]
    by_sub = _id_claims()
    del by_sub["urn:esia:sbj"]
    assert verifier.verify(_jwt({**ID, "alg": "RS256"}, by_sub, _rsa_sign(rsa_key)), "id").oid


@pytest.mark.parametrize(
    ("header", "claims", "kind", "check"),
    [
        ({**ACCESS, "alg": "none"}, _access_claims(), "access", "alg not accepted"),
        ({**ACCESS, "alg": "HS256"}, _access_claims(), "access", "alg not accepted"),
        ({**ID, "alg": "GOST3410_2012_256"}, _access_claims(), "access", "wrong sbt"),
        ({**ACCESS, "alg": "GOST3410_2012_256"}, _id_claims(), "id", "wrong sbt"),
        (
            {**ACCESS, "alg": "GOST3410_2012_256"},
            _access_claims(iss="https://esia.gosuslugi.ru"),
            "access",
            "wrong iss",
        ),
        (
            {**ACCESS, "alg": "GOST3410_2012_256"},
            _access_claims(client_id="OTHER"),
            "access",
            "wrong client_id",
        ),
        ({**ID, "alg": "GOST3410_2012_256"}, _id_claims(aud="OTHER"), "id", "wrong aud"),
        (
            {**ACCESS, "alg": "GOST3410_2012_256"},
            _access_claims(exp=int(NOW) - 61),
            "access",
            "expired",
        ),
        ({**ACCESS, "alg": "GOST3410_2012_256"}, _access_claims(exp=None), "access", "no exp"),
        (
            {**ACCESS, "alg": "GOST3410_2012_256"},
            _access_claims(nbf=int(NOW) + 61),
            "access",
            "nbf in the future",
        ),
        (
            {**ACCESS, "alg": "GOST3410_2012_256"},
            _access_claims(iat=int(NOW) + 61),
            "access",
            "iat in the future",
        ),
        (
            {**ACCESS, "alg": "GOST3410_2012_256"},
            _access_claims(**{"urn:esia:sbj_id": "x1"}),
            "access",
            "no subject oid",
        ),
        (
            {**ACCESS, "alg": "GOST3410_2012_256"},
            _access_claims(**{"urn:esia:sbj_id": True}),
            "access",
            "no subject oid",
        ),
    ],
)
def test_claims_rejected(
    ring: CertificateRing,
    gost_key: PrivateKey,
    header: dict[str, Any],
    claims: dict[str, Any],
    kind: Any,
    check: str,
) -> None:
    token = _jwt(header, claims, _gost_sign(gost_key))
    with pytest.raises(UpstreamProtocolError) as info:
        _verifier(ring).verify(token, kind)
    assert info.value.reason == "esia_token_invalid"
    assert info.value.debug.endswith(check)


def test_leeway_is_honoured(ring: CertificateRing, gost_key: PrivateKey) -> None:
    token = _jwt(
        {**ACCESS, "alg": "GOST3410_2012_256"},
        _access_claims(exp=int(NOW) - 59, nbf=int(NOW) + 59),
        _gost_sign(gost_key),
    )
    assert _verifier(ring).verify(token, "access").oid == "1000299681"
    with pytest.raises(UpstreamProtocolError):
        _verifier(ring, leeway_seconds=0).verify(token, "access")


def test_tampering_and_malformed(ring: CertificateRing, gost_key: PrivateKey) -> None:
    verifier = _verifier(ring)
    good = _jwt({**ACCESS, "alg": "GOST3410_2012_256"}, _access_claims(), _gost_sign(gost_key))
    head, body, sig = good.split(".")
    forged_body = b64url(json.dumps(_access_claims(**{"urn:esia:sbj_id": 1})).encode())
    for bad in (
        f"{head}.{forged_body}.{sig}",
        f"{head}.{body}.{sig[:-2]}AA",
        f"{head}.{body}",
        f"{head}.{body}.",
        "not a token",
        "eyJ.eyJ.x",
        good + "." + sig,
        "é" * 10,
        "A" * 20000,
    ):
        with pytest.raises(UpstreamProtocolError):
            verifier.verify(bad, "access")


def test_rsa_signature_cannot_pass_as_gost(
    ring: CertificateRing, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = _jwt({**ACCESS, "alg": "GOST3410_2012_256"}, _access_claims(), _rsa_sign(rsa_key))
    with pytest.raises(UpstreamProtocolError):
        _verifier(ring).verify(token, "access")


def test_algs_setting_narrows(ring: CertificateRing, rsa_key: rsa.RSAPrivateKey) -> None:
    token = _jwt({**ACCESS, "alg": "RS256"}, _access_claims(), _rsa_sign(rsa_key))
    with pytest.raises(UpstreamProtocolError):
        _verifier(ring, algs=("GOST3410_2012_256",)).verify(token, "access")


def test_ring_rotation_picks_valid_certificates(gost_key: PrivateKey) -> None:
    """ESIA rotates every spring: the old and the new certificate overlap in the ring."""
    new_key = PrivateKey.generate(CRYPTOPRO_A)
    old = load_certificate(_gost_cert(gost_key), "old")
    new = load_certificate(_gost_cert(new_key), "new")
    year = 365 * 86400.0
    old = dataclasses.replace(old, not_before=NOW - year, not_after=NOW + 10)
    new = dataclasses.replace(new, not_before=NOW - 10, not_after=NOW + year)
    ring = CertificateRing([old, new])
    by_old = _jwt({**ACCESS, "alg": "GOST3410_2012_256"}, _access_claims(), gost_key.sign)
    by_new = _jwt({**ACCESS, "alg": "GOST3410_2012_256"}, _access_claims(), new_key.sign)
    assert _verifier(ring).verify(by_old, "access").oid
    assert _verifier(ring).verify(by_new, "access").oid
    later = NOW + 3600
    late_old = _jwt(
        {**ACCESS, "alg": "GOST3410_2012_256"},
        _access_claims(iat=int(later), nbf=int(later), exp=int(later) + 60),
        gost_key.sign,
    )
    with pytest.raises(UpstreamProtocolError) as info:
        _verifier(ring, now=later).verify(late_old, "access")  # the old cert has expired
    assert info.value.debug.endswith("bad signature")
    stale = CertificateRing([old])
    with pytest.raises(UpstreamProtocolError) as info:
        _verifier(stale, now=later).verify(late_old, "access")
    assert "no valid" in info.value.debug


def test_bundled_and_shipped_esia_certificates_load() -> None:
    ring = CertificateRing.from_files(
        ["bundled:esia-prod-gost-2025.cer", str(REPO / "tests/data/gost/esia-test-gost-2021.cer")]
    )
    prod, test = ring.certificates
    assert prod.key_type == "gost"
    assert prod.valid_at(datetime(2025, 9, 1, tzinfo=UTC).timestamp())
    assert not test.valid_at(datetime(2025, 9, 1, tzinfo=UTC).timestamp())


def test_ring_refuses_bad_entries(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        CertificateRing.from_files([str(tmp_path / "missing.pem")])
    with pytest.raises(ValueError, match="bare file name"):
        CertificateRing.from_files(["bundled:../settings.py"])
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"\x30\x03\x02\x01\x01")
    with pytest.raises(ValueError, match=r"junk\.pem"):
        CertificateRing.from_files([str(junk)])


def test_trusted_certificate_is_plain_data() -> None:
    cert = TrustedCertificate("rsa", 0.0, 1.0, lambda a, b: False, "x")
    assert cert.valid_at(0.5)
    assert not cert.valid_at(2.0)
