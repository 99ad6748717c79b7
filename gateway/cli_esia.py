"""``vhod esia``: GOST tools for integrators registering a system with ESIA.

* ``cert-hash CERT`` prints the ``client_certificate_hash`` to enter for v2 requests;
* ``sign`` makes a ``client_secret`` (v2 raw signature, or v1 detached CMS with ``--v1``);
* ``verify`` checks one (v2 or v1, recognised by its length) against a certificate.

Exit codes follow ``vhod``: 0 success; 1 the signature does not verify; 2 bad input (missing
file, not a GOST certificate, bad base64), one line on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from providers.upstream.esia.certificates import GostCertificate
from providers.upstream.esia.certificates import parse_certificate
from providers.upstream.esia.gost import SIGNATURE_SIZE
from providers.upstream.esia.gost import GostError
from providers.upstream.esia.signing import BACKENDS
from providers.upstream.esia.signing import SignatureInvalid
from providers.upstream.esia.signing import decode_client_secret
from providers.upstream.esia.signing import make_signer
from providers.upstream.esia.signing import openssl_gost_available
from providers.upstream.esia.signing import sign_v1_cms
from providers.upstream.esia.signing import sign_v2
from providers.upstream.esia.signing import verify_v1_cms
from providers.upstream.esia.signing import verify_v2

__all__ = ["esia"]


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"vhod esia: {message}", err=True)
    sys.exit(code)


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        _fail(f"cannot read {what} {path}: {exc.strerror or type(exc).__name__}")


def _certificate(path: str) -> GostCertificate:
    try:
        return parse_certificate(_read(path, "certificate"))
    except GostError as exc:
        _fail(f"{path}: {exc}")


@click.group("esia")
def esia() -> None:
    """ESIA (Gosuslugi) GOST tools: certificate hash, client_secret signing and checking."""


@esia.command("cert-hash")
@click.argument("cert", type=click.Path(dir_okay=False))
def cert_hash(cert: str) -> None:
    """Print the client_certificate_hash of CERT (PEM or DER): Streebog-256 of the DER."""
    click.echo(_certificate(cert).client_certificate_hash)


@esia.command("sign")
@click.option(
    "--key", "key_path", required=True, type=click.Path(dir_okay=False), help="PKCS#8 GOST key."
)
@click.option(
    "--cert", "cert_path", required=True, type=click.Path(dir_okay=False), help="Its certificate."
)
@click.option("--data", "text", required=True, help="The exact string ESIA expects to be signed.")
@click.option(
    "--v1", "v1", is_flag=True, help="Detached CMS (v1 endpoints) instead of a raw signature."
)
@click.option(
    "--signed-attrs", is_flag=True, help="With --v1: add contentType/signingTime/messageDigest."
)
@click.option("--backend", type=click.Choice(BACKENDS), default="pure", show_default=True)
def sign(
    key_path: str, cert_path: str, text: str, v1: bool, signed_attrs: bool, backend: str
) -> None:
    """Print the client_secret for TEXT, signed with KEY."""
    if signed_attrs and not v1:
        _fail("--signed-attrs applies to --v1 only")
    for path, what in ((key_path, "key"), (cert_path, "certificate")):
        if not Path(path).is_file():
            _fail(f"cannot read {what} {path}: no such file")
    if backend == "openssl" and not openssl_gost_available():
        _fail("the openssl backend needs OpenSSL with the GOST engine (libengine-gost-openssl)")
    try:
        signer = make_signer(backend, key_path, cert_path)
        secret = (
            sign_v1_cms(signer, text, signed_attrs=signed_attrs) if v1 else sign_v2(signer, text)
        )
    except GostError as exc:
        _fail(str(exc))
    click.echo(secret)


@esia.command("verify")
@click.option(
    "--cert",
    "cert_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Signer's certificate.",
)
@click.option("--data", "text", required=True, help="The string that was signed.")
@click.option(
    "--secret", required=True, help="The client_secret (v2 raw or v1 CMS; any base64 form)."
)
def verify(cert_path: str, text: str, secret: str) -> None:
    """Check a client_secret over TEXT; print OK, or exit 1 if it does not verify."""
    cert = _certificate(cert_path)
    try:
        raw = decode_client_secret(secret)
    except GostError as exc:
        _fail(str(exc))
    if len(raw) == SIGNATURE_SIZE:
        ok = verify_v2(cert, text, secret)
    else:
        try:
            verify_v1_cms(secret, text, [cert])
            ok = True
        except SignatureInvalid:
            ok = False
    if not ok:
        _fail("signature does not verify", 1)
    click.echo("OK")
