"""Journey ↔ sealed bytes for the ephemeral store.

Once the upstream answered, a journey carries personal data (the upstream identity), so
it is always sealed (AES-GCM through the :class:`~gateway.core.ports.Sealer` port, context
``"journey"``); the journey id is also inside the sealed payload and checked on opening,
so a value copied under another key does not open as that journey.

Size: while waiting for the upstream a journey holds only the validated request and a few
ids; the encoding is compact JSON (short keys, defaults left out) and stays under
:data:`MAX_PENDING_BYTES` for ordinary requests (a test asserts it).
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from gateway.core.factors import FactorChallenge
from gateway.core.ports import Sealer
from gateway.core.types import AuthContext
from gateway.core.types import AuthorizationRequest
from gateway.core.types import JourneyKind
from gateway.core.types import UpstreamIdentity
from gateway.journey.state import Journey
from gateway.journey.state import JourneyState

CONTEXT = "journey"
VERSION = 1
MAX_PENDING_BYTES = 2048
"""Budget for a sealed journey while it waits for the upstream (DESIGN.md "Storage")."""


class JourneyDecodeError(Exception):
    """The stored journey cannot be opened or is not the expected one."""


def encode(journey: Journey, sealer: Sealer) -> bytes:
    return sealer.seal(_dumps(journey), CONTEXT)


def decode(sealed: bytes, jid: str, sealer: Sealer) -> Journey:
    """Open a stored journey and check that it is ``jid``.

    :raises JourneyDecodeError: tampered, sealed for another context, or another journey.
    """
    try:
        data = json.loads(sealer.open(sealed, CONTEXT))
        journey = _from_dict(data)
    except Exception as exc:
        raise JourneyDecodeError("journey cannot be opened") from exc
    if journey.jid != jid:
        raise JourneyDecodeError("journey id mismatch")
    return journey


def _dumps(journey: Journey) -> bytes:
    body: dict[str, Any] = {
        "v": VERSION,
        "id": journey.jid,
        "b": journey.binding,
        "t": journey.created_at,
        "k": journey.kind.value,
        "s": journey.state.value,
    }
    optional: dict[str, Any] = {
        "rq": None if journey.request is None else _compact(vars(journey.request)),
        "rt": journey.return_to,
        "up": journey.upstream,
        "us": journey.upstream_state,
        "id_": None if journey.identity is None else _compact(vars(journey.identity)),
        "sub": journey.subject_id,
        "au": None if journey.auth is None else dict(vars(journey.auth)),
        "sid": journey.sid,
        "fr": journey.fresh_login or None,
        "cg": journey.consent_given or None,
        "ma": journey.min_acr,
        "fa": None if journey.factor is None else _compact(vars(journey.factor)),
        "af": journey.acting_for,
        "ok": journey.ready or None,
        "f": journey.failure,
        "h": [s.value for s in journey.history] or None,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    """Leave out empty values; the dataclass defaults restore them. (``vars`` of the flat
    dataclasses, not ``dataclasses.asdict``: no deep copy is needed to serialise them.)"""
    return {k: v for k, v in values.items() if v not in (None, (), [], {}, "")}


def _from_dict(data: dict[str, Any]) -> Journey:
    if data.get("v") != VERSION:
        raise ValueError("unknown journey encoding version")
    rq = data.get("rq")
    ident = data.get("id_")
    auth = data.get("au")
    return Journey(
        jid=str(data["id"]),
        binding=str(data["b"]),
        created_at=float(data["t"]),
        kind=JourneyKind(data["k"]),
        state=JourneyState(data["s"]),
        request=None if rq is None else _request(rq),
        return_to=data.get("rt"),
        upstream=data.get("up"),
        upstream_state=data.get("us"),
        identity=None if ident is None else _identity(ident),
        subject_id=data.get("sub"),
        auth=None
        if auth is None
        else AuthContext(str(auth["acr"]), tuple(auth["amr"]), int(auth["auth_time"])),
        sid=data.get("sid"),
        fresh_login=bool(data.get("fr", False)),
        consent_given=bool(data.get("cg", False)),
        min_acr=data.get("ma"),
        factor=None if data.get("fa") is None else _factor(data["fa"]),
        acting_for=data.get("af"),
        ready=bool(data.get("ok", False)),
        failure=data.get("f"),
        history=tuple(JourneyState(s) for s in data.get("h", ())),
    )


_TUPLE_FIELDS = frozenset({"scopes", "prompt", "acr_values", "resource"})


def _request(values: dict[str, Any]) -> AuthorizationRequest:
    known = {f.name for f in fields(AuthorizationRequest)}
    kwargs: dict[str, Any] = {
        k: tuple(v) if k in _TUPLE_FIELDS else v for k, v in values.items() if k in known
    }
    return AuthorizationRequest(**kwargs)


def _factor(values: dict[str, Any]) -> FactorChallenge:
    number = values.get("number")
    return FactorChallenge(
        kind=str(values["kind"]),
        hint=str(values.get("hint", "")),
        number=None if number is None else int(number),
        challenge_id=values.get("challenge_id"),
    )


def _identity(values: dict[str, Any]) -> UpstreamIdentity:
    return UpstreamIdentity(
        provider=str(values["provider"]),
        subject=str(values["subject"]),
        account_level=str(values["account_level"]),
        amr=tuple(values.get("amr", ())),
        attributes=dict(values.get("attributes", {})),
        children=tuple(dict(c) for c in values.get("children", ())),
    )
