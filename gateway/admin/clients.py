"""Client registration use cases (CLI and admin API share them). Framework-free.

Redirect URIs follow RFC 9700 §2.1 / §4.1.3 and RFC 6749 §3.1.2: absolute, no fragment, no
wildcard, no user-info, ``https`` — ``http`` only for loopback hosts (native apps and local
development). They are stored exactly as given and later compared by exact string match.
Client secrets are long random values, stored as a keyed HMAC-SHA256 digest under the
server pepper (a slow password hash would cost every token request tens of ms for nothing).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import secrets
from collections.abc import Iterable
from collections.abc import Mapping
from urllib.parse import urlsplit

from gateway.core.audit import audit
from gateway.core.errors import Conflict
from gateway.core.errors import NotFound
from gateway.core.errors import ValidationFailed
from gateway.core.factors import ACR_VALUES
from gateway.core.ids import keyed_digest
from gateway.core.ports import Clock
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.types import CLIENT_AUTH_METHODS
from gateway.core.types import GRANT_TYPES
from gateway.core.types import Client
from gateway.core.types import TokenFormat

MIN_SECRET_LENGTH = 32
SECRET_PURPOSE = "client_secret"
_CLIENT_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
_LOOPBACK_NAMES = frozenset({"localhost"})


def new_client_secret() -> str:
    """A fresh secret: 256 bits, base64url (43 characters)."""
    return secrets.token_urlsafe(32)


def client_secret_digest(pepper: bytes, secret: str) -> str:
    return keyed_digest(pepper, SECRET_PURPOSE, secret)


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def redirect_uri_problems(uri: str, option: str = "redirect_uri") -> list[str]:
    """Why ``uri`` may not be registered (empty when it may)."""
    problems: list[str] = []
    if not uri or any(c.isspace() for c in uri) or not uri.isascii():
        return [f"{option}: must be a non-empty ASCII URI without spaces"]
    if "*" in uri:
        problems.append(f"{option}: wildcards are not allowed")
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return [f"{option}: not a valid URI"]
    del port
    if parts.scheme not in ("https", "http"):
        problems.append(f"{option}: scheme must be https (or http for loopback)")
    elif parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        problems.append(f"{option}: http is allowed only for loopback hosts")
    if not parts.hostname:
        problems.append(f"{option}: must be absolute with a host")
    if "#" in uri:
        problems.append(f"{option}: must not contain a fragment")
    if parts.username is not None or parts.password is not None:
        problems.append(f"{option}: must not contain user information")
    return problems


def validate_client_fields(client: Client, scope_catalogue: Iterable[str]) -> list[str]:
    """Every problem with a client's registration, naming the field."""
    problems: list[str] = []
    if (
        not client.client_id
        or len(client.client_id) > 128
        or not set(client.client_id) <= _CLIENT_ID_CHARS
    ):
        problems.append("client_id: 1-128 characters of A-Z a-z 0-9 - _ .")
    if "authorization_code" in client.grant_types and not client.redirect_uris:
        problems.append("redirect_uri: at least one is required for authorization_code")
    for uri in client.redirect_uris:
        problems.extend(redirect_uri_problems(uri))
    for uri in client.post_logout_redirect_uris:
        problems.extend(redirect_uri_problems(uri, "post_logout_redirect_uri"))
    if client.backchannel_logout_uri is not None:
        problems.extend(
            redirect_uri_problems(client.backchannel_logout_uri, "backchannel_logout_uri")
        )
    known = set(scope_catalogue)
    unknown = [s for s in client.scopes if s not in known]
    if unknown:
        problems.append(f"scope: unknown scopes {' '.join(sorted(unknown))}")
    if not client.scopes and client.grant_types != ("client_credentials",):
        problems.append("scope: at least one scope is required")
    bad_grants = [g for g in client.grant_types if g not in GRANT_TYPES]
    if bad_grants or not client.grant_types:
        problems.append(f"grant_type: each must be one of {', '.join(GRANT_TYPES)}")
    if client.token_endpoint_auth_method not in CLIENT_AUTH_METHODS:
        problems.append(f"token_endpoint_auth_method: one of {', '.join(CLIENT_AUTH_METHODS)}")
    if client.token_endpoint_auth_method == "private_key_jwt" and not client.jwks:
        problems.append("jwks: required for private_key_jwt")
    for name in ("access_token_alg", "id_token_alg"):
        if getattr(client, name) not in ("RS256", "ES256"):
            problems.append(f"{name}: must be RS256 or ES256")
    if client.sector is not None and (not client.sector or len(client.sector) > 255):
        problems.append("sector: 1-255 characters")
    if client.min_acr is not None and client.min_acr not in ACR_VALUES:
        problems.append(f"min_acr: one of {', '.join(ACR_VALUES)} (or none)")
    return problems


def register_client(
    uow: UnitOfWorkFactory,
    clock: Clock,
    pepper: bytes,
    scope_catalogue: Iterable[str],
    client: Client,
    secret: str | None,
) -> tuple[Client, str | None]:
    """Validate and store a new client; return it and the secret to show once.

    A confidential client without ``secret`` gets a generated one. ``private_key_jwt``
    clients have no secret.
    """
    problems = validate_client_fields(client, scope_catalogue)
    if client.token_endpoint_auth_method == "private_key_jwt":
        secret = None
    else:
        if secret is None:
            secret = new_client_secret()
        elif len(secret) < MIN_SECRET_LENGTH or not secret.isascii() or secret.strip() != secret:
            problems.append(
                f"secret: at least {MIN_SECRET_LENGTH} ASCII characters, no surrounding spaces "
                "(use a long random value; omit --secret to generate one)"
            )
    if problems:
        raise ValidationFailed(problems)
    stored = dataclasses.replace(
        client,
        secret_digest=client_secret_digest(pepper, secret) if secret is not None else None,
        created_at=clock.now(),
    )
    with uow() as tx:
        if tx.clients.get(client.client_id) is not None:
            raise Conflict(f"client {client.client_id} already exists")
        tx.clients.add(stored)
        audit(tx, clock.now(), "client.registered", client_id=client.client_id)
        tx.commit()
    return stored, secret


def update_client(
    uow: UnitOfWorkFactory,
    clock: Clock,
    scope_catalogue: Iterable[str],
    client_id: str,
    changes: Mapping[str, object],
    actor: str = "cli",
) -> Client:
    """Apply field changes (validated as a whole) and audit them by field name."""
    with uow() as tx:
        current = tx.clients.get(client_id)
        if current is None:
            raise NotFound(f"client {client_id} not found")
        allowed = {f.name for f in dataclasses.fields(Client)} - {
            "client_id",
            "secret_digest",
            "created_at",
        }
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise ValidationFailed([f"{name}: cannot be changed" for name in unknown])
        updated = dataclasses.replace(current, **changes)  # type: ignore[arg-type]
        problems = validate_client_fields(updated, scope_catalogue)
        if problems:
            raise ValidationFailed(problems)
        tx.clients.update(updated)
        audit(
            tx,
            clock.now(),
            "client.updated",
            client_id=client_id,
            fields=sorted(changes),
            actor=actor,
        )
        tx.commit()
    return updated


def rotate_client_secret(
    uow: UnitOfWorkFactory, clock: Clock, pepper: bytes, client_id: str, actor: str = "cli"
) -> str:
    """Replace the secret; the old one stops working at once. Returns the new secret."""
    secret = new_client_secret()
    with uow() as tx:
        current = tx.clients.get(client_id)
        if current is None:
            raise NotFound(f"client {client_id} not found")
        tx.clients.update(
            dataclasses.replace(current, secret_digest=client_secret_digest(pepper, secret))
        )
        audit(tx, clock.now(), "client.secret_rotated", client_id=client_id, actor=actor)
        tx.commit()
    return secret


def set_client_disabled(
    uow: UnitOfWorkFactory, clock: Clock, client_id: str, disabled: bool, actor: str = "cli"
) -> Client:
    with uow() as tx:
        current = tx.clients.get(client_id)
        if current is None:
            raise NotFound(f"client {client_id} not found")
        updated = dataclasses.replace(current, disabled=disabled)
        tx.clients.update(updated)
        event = "client.disabled" if disabled else "client.enabled"
        audit(tx, clock.now(), event, client_id=client_id, actor=actor)
        tx.commit()
    return updated


def describe_client(client: Client) -> dict[str, object]:
    """A client as shown by the CLI and admin API (never the secret digest)."""
    data = dataclasses.asdict(client)
    data.pop("secret_digest", None)
    data["has_secret"] = client.secret_digest is not None
    data["token_format"] = str(client.token_format)
    for key, value in list(data.items()):
        if isinstance(value, tuple):
            data[key] = list(value)
    return data


__all__ = [
    "TokenFormat",
    "client_secret_digest",
    "describe_client",
    "new_client_secret",
    "redirect_uri_problems",
    "register_client",
    "rotate_client_secret",
    "set_client_disabled",
    "update_client",
    "validate_client_fields",
]
