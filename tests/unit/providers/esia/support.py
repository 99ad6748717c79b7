"""Shared helpers for the GOST tests: test data, OpenSSL with the GOST engine."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from providers.upstream.esia.signing import openssl_gost_available
from tests.helpers.backends import require

DATA = Path(__file__).resolve().parents[3] / "data" / "gost"

#: OpenSSL gost-engine ``paramset:`` names of the key/cert pairs in tests/data/gost/, with
#: the parameter-set OID each one carries.
OPENSSL_PARAM_SETS = {
    "a": "1.2.643.2.2.35.1",
    "b": "1.2.643.2.2.35.2",
    "c": "1.2.643.2.2.35.3",
    "xa": "1.2.643.2.2.36.0",
    "xb": "1.2.643.2.2.36.1",
    "tca": "1.2.643.7.1.2.1.1.1",
    "tcb": "1.2.643.7.1.2.1.1.2",
    "tcc": "1.2.643.7.1.2.1.1.3",
    "tcd": "1.2.643.7.1.2.1.1.4",
}


def key_path(name: str) -> Path:
    return DATA / f"openssl-{name}-key.pem"


def cert_path(name: str) -> Path:
    return DATA / f"openssl-{name}-cert.pem"


def require_openssl_gost() -> None:
    """Skip locally / fail under CI=true when OpenSSL's GOST engine is missing."""
    require(
        "openssl-gost",
        openssl_gost_available(),
        "`openssl engine gost -t` must report the engine (apt-get install libengine-gost-openssl)",
    )


def openssl(*args: str | Path, stdin: bytes = b"") -> bytes:
    """Run ``openssl ARGS -engine gost`` style commands; return stdout, fail on error."""
    done = subprocess.run(
        ["openssl", *map(str, args)], input=stdin, capture_output=True, check=False, timeout=30
    )
    if done.returncode != 0:
        pytest.fail(f"openssl {' '.join(map(str, args[:2]))} failed: {done.stderr.decode()}")
    return done.stdout


def openssl_verifies(name: str, signature: bytes, data: bytes, workdir: Path) -> bool:
    """Whether OpenSSL's GOST engine accepts ``signature`` over ``data`` with the public key
    of the test certificate ``name``."""
    (workdir / "sig.bin").write_bytes(signature)
    pub = openssl("x509", "-engine", "gost", "-in", cert_path(name), "-pubkey", "-noout")
    (workdir / "pub.pem").write_bytes(pub)
    out = openssl(
        "dgst", "-engine", "gost", "-md_gost12_256", "-verify", workdir / "pub.pem",
        "-signature", workdir / "sig.bin", stdin=data,
    )  # fmt: skip
    return b"Verified OK" in out
