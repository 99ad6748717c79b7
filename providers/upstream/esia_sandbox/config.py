"""The sandbox's settings and its registered information systems.

A *registered system* is what ESIA's technology portal holds for an information system
(ESIA.md §1): the mnemonic (``client_id``), its GOST certificate, its redirect URIs, the
scopes it may request, and the algorithm ESIA signs its tokens with (``RS256`` or
``GOST3410_2012_256``, a per-system portal setting, §3.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from gateway.config.schema import GatewayConfig

__all__ = [
    "ALL_SCOPES",
    "SandboxConfig",
    "SystemSpec",
    "sandbox_config_for",
]

PERSON_SCOPES = (
    "openid",
    "fullname",
    "birthdate",
    "gender",
    "birthplace",
    "citizenship",
    "snils",
    "inn",
    "id_doc",
    "birth_cert_doc",
    "medical_doc",
    "email",
    "mobile",
    "contacts",
)
KID_SCOPES = (
    "kid_fullname",
    "kid_birthdate",
    "kid_gender",
    "kid_snils",
    "kid_inn",
    "kid_birth_cert_doc",
    "kid_medical_doc",
)
ALL_SCOPES = PERSON_SCOPES + KID_SCOPES
"""Every scope the sandbox knows (ESIA.md §4); others are ESIA-007006."""


@dataclass(frozen=True)
class SystemSpec:
    """One registered information system.

    :param certificate_path: its GOST certificate (PEM/DER). ``None``: the sandbox makes a
        demo key and self-signed certificate under ``systems/<client_id>/`` in its data dir.
    """

    client_id: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...] = ALL_SCOPES
    token_alg: str = "GOST3410_2012_256"
    certificate_path: str | None = None


@dataclass(frozen=True)
class SandboxConfig:
    """How the sandbox behaves.

    :param issuer: ``iss`` of its tokens; http with a trailing slash like ESIA (§1).
    :param public_url: its own base URL (for element URLs of collections without embed).
    :param timestamp_skew_seconds: accepted difference of a request's ``timestamp``; the
        real window is unknown (§12 point 6), ESIA-007015 outside it.
    :param faults_enabled: the ``/sandbox/faults`` admin endpoint (dev and tests only).
    """

    issuer: str = "http://127.0.0.1:8081/"
    public_url: str = "http://127.0.0.1:8081"
    systems: tuple[SystemSpec, ...] = field(
        default_factory=lambda: (
            SystemSpec("VHOD_DEV", ("http://127.0.0.1:8080/login/callback/esia",)),
        )
    )
    timestamp_skew_seconds: int = 300
    code_ttl_seconds: int = 240
    access_token_ttl_seconds: int = 3600
    faults_enabled: bool = True


def sandbox_config_for(config: GatewayConfig, host: str, port: int) -> SandboxConfig:
    """The sandbox that ``[esia]`` of this gateway config talks to in dev.

    Registers ``[esia] client_id`` with the gateway's ESIA callback
    (``<issuer>/login/callback/esia``) and, for ``localhost``/``127.0.0.1``, the other name.
    """
    callback = f"{config.server.issuer}/login/callback/esia"
    uris = [callback]
    for a, b in (("//127.0.0.1:", "//localhost:"), ("//localhost:", "//127.0.0.1:")):
        if a in callback:
            uris.append(callback.replace(a, b))
    public = f"http://{host}:{port}"
    return SandboxConfig(
        issuer=config.esia.issuer,
        public_url=public,
        systems=(SystemSpec(config.esia.client_id, tuple(uris)),),
    )
