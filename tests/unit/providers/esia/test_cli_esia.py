"""``vhod esia``: cert-hash, sign, verify; clear errors and exit codes."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from asn1crypto import pem
from click.testing import CliRunner
from click.testing import Result

from gateway.cli_esia import esia
from providers.upstream.esia.certificates import parse_certificate
from providers.upstream.esia.signing import decode_client_secret
from tests.unit.providers.esia.support import DATA
from tests.unit.providers.esia.support import cert_path
from tests.unit.providers.esia.support import key_path
from tests.unit.providers.esia.support import require_openssl_gost

TEXT = "VHOD01openid2025.01.02 03:04:05 +0300some-statehttps://vhod.example/cb"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(esia, [str(a) for a in args])


def _single_line_error(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# --------------------------------------------------------------------------- cert-hash


def test_cert_hash_pem_and_der(tmp_path: Path) -> None:
    expected = parse_certificate(cert_path("xa").read_bytes()).client_certificate_hash
    result = run("cert-hash", cert_path("xa"))
    assert result.exit_code == 0
    assert result.stdout.strip() == expected
    der = tmp_path / "cert.cer"
    der.write_bytes(pem.unarmor(cert_path("xa").read_bytes())[2])
    assert run("cert-hash", der).stdout.strip() == expected


def test_cert_hash_of_esia_certificate() -> None:
    result = run("cert-hash", DATA / "esia-prod-gost-2025.cer")
    assert result.exit_code == 0
    assert len(result.stdout.strip()) == 64


def test_cert_hash_missing_file(tmp_path: Path) -> None:
    line = _single_line_error(run("cert-hash", tmp_path / "nope.pem"), 2)
    assert "nope.pem" in line
    assert "cannot read" in line


def test_cert_hash_not_a_gost_certificate(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("hello")
    assert "neither PEM nor DER" in _single_line_error(run("cert-hash", bogus), 2)
    line = _single_line_error(run("cert-hash", key_path("xa")), 2)
    assert "expected PEM CERTIFICATE" in line


# --------------------------------------------------------------------------- sign + verify


@pytest.mark.parametrize(
    "flags", [[], ["--v1"], ["--v1", "--signed-attrs"]], ids=["v2", "v1", "v1-attrs"]
)
def test_sign_then_verify(flags: list[str]) -> None:
    signed = run(
        "sign", "--key", key_path("tca"), "--cert", cert_path("tca"), "--data", TEXT, *flags
    )
    assert signed.exit_code == 0, signed.output
    secret = signed.stdout.strip()
    if not flags:
        assert len(secret) == 86
        assert len(decode_client_secret(secret)) == 64
    verified = run("verify", "--cert", cert_path("tca"), "--data", TEXT, "--secret", secret)
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.strip() == "OK"
    # Any base64 form is accepted.
    std = base64.b64encode(decode_client_secret(secret)).decode()
    assert run("verify", "--cert", cert_path("tca"), "--data", TEXT, "--secret", std).exit_code == 0


@pytest.mark.parametrize("flags", [[], ["--v1"]], ids=["v2", "v1"])
def test_verify_failure_exits_1(flags: list[str]) -> None:
    secret = run(
        "sign", "--key", key_path("xa"), "--cert", cert_path("xa"), "--data", TEXT, *flags
    ).stdout.strip()
    line = _single_line_error(
        run("verify", "--cert", cert_path("xa"), "--data", TEXT + "!", "--secret", secret), 1
    )
    assert line.endswith("signature does not verify")
    other = run("verify", "--cert", cert_path("a"), "--data", TEXT, "--secret", secret)
    assert other.exit_code == 1


def test_verify_bad_base64_exits_2() -> None:
    line = _single_line_error(
        run("verify", "--cert", cert_path("xa"), "--data", TEXT, "--secret", "%%%not-base64%%%"), 2
    )
    assert "base64" in line


def test_verify_missing_certificate_exits_2(tmp_path: Path) -> None:
    _single_line_error(
        run("verify", "--cert", tmp_path / "x.pem", "--data", TEXT, "--secret", "AAAA"), 2
    )


def test_sign_errors(tmp_path: Path) -> None:
    base: list[str | Path] = ["sign", "--cert", cert_path("xa"), "--data", TEXT]
    assert "no such file" in _single_line_error(run(*base, "--key", tmp_path / "k.pem"), 2)
    line = _single_line_error(run(*base, "--key", key_path("a")), 2)
    assert "does not belong" in line
    line = _single_line_error(run(*base, "--key", key_path("xa"), "--signed-attrs"), 2)
    assert "--v1" in line
    not_a_key = tmp_path / "k.pem"
    not_a_key.write_text("junk")
    _single_line_error(run(*base, "--key", not_a_key), 2)


def test_sign_output_has_no_key_material() -> None:
    result = run("sign", "--key", key_path("xa"), "--cert", cert_path("xa"), "--data", TEXT)
    key_b64 = key_path("xa").read_text().splitlines()[1]
    assert key_b64[-20:] not in result.output


@pytest.mark.openssl
def test_sign_with_openssl_backend() -> None:
    require_openssl_gost()
    signed = run(
        "sign", "--key", key_path("xa"), "--cert", cert_path("xa"), "--data", TEXT,
        "--backend", "openssl",
    )  # fmt: skip
    assert signed.exit_code == 0, signed.output
    verified = run(
        "verify", "--cert", cert_path("xa"), "--data", TEXT, "--secret", signed.stdout.strip()
    )
    assert verified.stdout.strip() == "OK"
