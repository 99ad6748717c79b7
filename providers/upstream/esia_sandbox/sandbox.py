"""What one sandbox app holds (settings, registered systems, personas, keys, state), the
checks its endpoints share (timestamp, certificate hash, v1/v2 signatures, scopes) and the
tokens it issues (ESIA.md §3.3)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from providers.upstream.esia.certificates import GostCertificate
from providers.upstream.esia.certificates import parse_certificate
from providers.upstream.esia.gost import GostError
from providers.upstream.esia.signing import verify_v1_cms
from providers.upstream.esia.signing import verify_v2
from providers.upstream.esia_sandbox.config import ALL_SCOPES
from providers.upstream.esia_sandbox.config import SandboxConfig
from providers.upstream.esia_sandbox.config import SystemSpec
from providers.upstream.esia_sandbox.crypto import SandboxKeys
from providers.upstream.esia_sandbox.crypto import ensure_system_key
from providers.upstream.esia_sandbox.crypto import load_or_create_keys
from providers.upstream.esia_sandbox.crypto import sign_jwt
from providers.upstream.esia_sandbox.errors import EsiaFailure
from providers.upstream.esia_sandbox.personas import Persona
from providers.upstream.esia_sandbox.personas import load_personas
from providers.upstream.esia_sandbox.state import CodeGrant
from providers.upstream.esia_sandbox.state import SandboxState

__all__ = ["Sandbox", "System"]

_TIMESTAMP_FORMAT = "%Y.%m.%d %H:%M:%S %z"


@dataclass(frozen=True)
class System:
    spec: SystemSpec
    certificate: GostCertificate


@dataclass(frozen=True)
class _Common:
    """What the access token and the ID token of one answer share (spoiled by a defect)."""

    iss: str
    exp: int
    nbf: int
    iat: int
    defect: str | None

    @classmethod
    def of(cls, issuer: str, ttl: int, defect: str | None) -> _Common:
        now = int(time.time())
        exp, nbf, iat = now + ttl, now, now
        if defect == "expired":
            exp, nbf, iat = now - 3600, now - 7200, now - 7200
        if defect == "not_yet_valid":
            nbf, iat = now + 3600, now + 3600
        iss = "http://evil.example/" if defect == "iss" else issuer
        return cls(iss, exp, nbf, iat, defect)


class Sandbox:
    """Everything one sandbox app holds: settings, systems, personas, keys, state."""

    def __init__(self, data_dir: Path, config: SandboxConfig) -> None:
        self.data_dir = data_dir
        self.config = config
        self.keys: SandboxKeys = load_or_create_keys(data_dir)
        self.systems: dict[str, System] = {}
        for spec in config.systems:
            if spec.certificate_path:
                cert = parse_certificate(Path(spec.certificate_path).read_bytes())
            else:
                cert = ensure_system_key(data_dir, spec.client_id)
            self.systems[spec.client_id] = System(spec, cert)
        self.personas: dict[str, Persona] = load_personas(data_dir / "personas.json")
        self.by_oid = {p.oid: p for p in self.personas.values()}
        self.state = SandboxState()

    # --------------------------------------------------------------- checks

    def check_timestamp(self, value: str) -> None:
        try:
            sent = datetime.strptime(value, _TIMESTAMP_FORMAT).timestamp()  # noqa: DTZ007 (%z)
        except ValueError:
            raise EsiaFailure("007003", "timestamp") from None
        if abs(time.time() - sent) > self.config.timestamp_skew_seconds:
            raise EsiaFailure("007015")

    @staticmethod
    def check_hash(system: System, value: str) -> None:
        # Hex, case-insensitive (ESIA.md §11); a wrong hash is 007053 (ILI#7).
        if value.strip().upper() != system.certificate.client_certificate_hash:
            raise EsiaFailure("007053")

    @staticmethod
    def check_v2(system: System, secret: str, *texts: str) -> None:
        if not any(verify_v2(system.certificate, text, secret) for text in texts):
            raise EsiaFailure("007053")

    @staticmethod
    def check_v1(system: System, secret: str, text: str) -> None:
        try:
            verify_v1_cms(secret, text, [system.certificate])
        except (GostError, ValueError, TypeError, KeyError):  # SignatureInvalid is a GostError
            raise EsiaFailure("007053") from None

    def check_scopes(self, system: System, scope: str) -> tuple[str, ...]:
        scopes = tuple(scope.split())
        if not scopes:
            raise EsiaFailure("007013")
        if any(s not in ALL_SCOPES for s in scopes):
            raise EsiaFailure("007006")
        if any(s not in system.spec.scopes for s in scopes):
            raise EsiaFailure("007019")
        return scopes

    # --------------------------------------------------------------- tokens

    def issue_tokens(self, system: System, grant: CodeGrant, echo_state: str) -> dict[str, Any]:
        """The token answer for ``grant`` (spoiled as an injected ``token_defect`` says)."""
        persona = self.personas[grant.persona_id]
        defect = self.state.faults.token_defect
        if defect:
            self.state.consume_fault()
        ttl = self.config.access_token_ttl_seconds
        common = _Common.of(self.config.issuer, ttl, defect)
        access_token = self._access_token(system, grant, persona.oid, common)
        answer: dict[str, Any] = {"access_token": access_token}
        if "openid" in grant.scopes:
            answer["id_token"] = self._id_token(system, grant, persona, common)
        refresh = str(uuid.uuid4()) if grant.access_type == "offline" else None
        if refresh is not None:
            answer["refresh_token"] = refresh
        answer.update(
            {
                "state": str(uuid.uuid4()) if defect == "state" else echo_state,
                "token_type": "Bearer",
                "expires_in": ttl,
            }
        )
        self.state.add_tokens(grant, access_token, refresh, ttl)
        return answer

    def _access_token(self, system: System, grant: CodeGrant, oid: int, common: _Common) -> str:
        defect = common.defect
        scope_claim = " ".join(s if s == "openid" else f"{s}?oid={oid}" for s in grant.scopes)
        claims = {
            "nbf": common.nbf,
            "scope": scope_claim,
            "iss": common.iss,
            "urn:esia:sid": grant.sid,
            "urn:esia:sbj_id": oid,
            "exp": common.exp,
            "iat": common.iat,
            "client_id": "OTHER_SYSTEM" if defect == "client_id" else system.spec.client_id,
        }
        header = {
            "ver": 1,
            "typ": "JWT",
            "sbt": "id" if defect == "sbt" else "access",
            "alg": system.spec.token_alg,
        }
        token = sign_jwt(self.keys, header, claims)
        if defect == "signature":
            head, body, sig = token.split(".")
            flipped = "A" if sig[10] != "A" else "B"
            token = f"{head}.{body}.{sig[:10]}{flipped}{sig[11:]}"
        return token

    def _id_token(self, system: System, grant: CodeGrant, persona: Persona, common: _Common) -> str:
        oid = persona.oid
        sbj: dict[str, Any] = {
            "urn:esia:sbj:typ": "P",
            "urn:esia:sbj:oid": oid,
            "urn:esia:sbj:nam": f"OID.{oid}",
            "urn:esia:sbj:lvl": persona.lvl,
        }
        if persona.trusted:
            sbj["urn:esia:sbj:is_tru"] = True
        claims = {
            "aud": "OTHER_SYSTEM" if common.defect == "aud" else system.spec.client_id,
            "sub": oid,
            "nbf": common.nbf,
            "amr": "PWD",
            "urn:esia:amd": "PWD",
            "auth_time": grant.auth_time,
            "iss": common.iss,
            "urn:esia:sid": grant.sid,
            "urn:esia:sbj": sbj,
            "exp": common.exp,
            "iat": common.iat,
        }
        header = {"ver": 0, "typ": "JWT", "sbt": "id", "alg": system.spec.token_alg}
        return sign_jwt(self.keys, header, claims)
