"""Identifiers and digests.

Every credential vhod hands out (codes, tokens, session ids, PAR request URIs) comes from
``secrets`` with at least 256 bits of entropy (RFC 6749 §10.10 asks for ≤ 2^-128 guess
probability), base64url, RFC 6749 Appendix A character set. Stored credentials are keyed
digests only (``token_digest``), never the raw value.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid


def new_id() -> str:
    """A random public identifier (journeys, grants, families): 128 bits, base64url."""
    return secrets.token_urlsafe(16)


def new_code() -> str:
    """A random credential (code, token, session id): 256 bits, base64url (43 chars)."""
    return secrets.token_urlsafe(32)


def new_uuid() -> str:
    """A random UUID v4 in its canonical lower-case form (ESIA ``state``)."""
    return str(uuid.uuid4())


def keyed_digest(key: bytes, purpose: str, value: str | bytes) -> str:
    """HMAC-SHA256 of ``value`` under ``key``, domain-separated by ``purpose``; hex.

    :param purpose: a short label (``"token"``, ``"client_secret"``, ``"esia_oid"``) so
        that the same value hashed for two purposes gives two unrelated digests.
    """
    data = value.encode() if isinstance(value, str) else value
    return hmac.new(key, purpose.encode() + b"\x00" + data, hashlib.sha256).hexdigest()


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    """Compare two secrets in constant time (``hmac.compare_digest``)."""
    aa = a.encode() if isinstance(a, str) else a
    bb = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(aa, bb)


def subject_digest(pepper: bytes, subject_id: str) -> str:
    """How a subject appears in audit events and logs (never the internal id itself)."""
    return keyed_digest(pepper, "audit_subject", subject_id)[:32]
