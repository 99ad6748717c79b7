"""``EsiaClient``: the HTTP side of vhod as ESIA's relying party.

What it does (ESIA.md §2–§5):

* builds the signed authorize URL: v2 ``/aas/oauth2/v2/ac`` (raw GOST signature over
  ``client_id+scope+scope_org+timestamp+state+redirect_uri`` and ``client_certificate_hash``,
  §2.4–2.5) or legacy v1 ``/aas/oauth2/ac`` (detached CMS over
  ``scope+timestamp+client_id+state``, §2.2–2.3);
* exchanges the code at v3 ``/aas/oauth2/v3/te`` (signed string ``+code``) or v1
  ``/aas/oauth2/te``, with a **fresh UUID** ``state`` that must come back in the answer
  (§3.1–3.2);
* refreshes with either documented v3 variant, one switch (``[esia] refresh_variant``);
* reads ``/rs/prns/{oid}``, ``/ctts``, ``/docs``, ``/kids``, ``/kids/{id}/docs`` with
  ``embed=(elements)`` (§5.1); the person with its contacts and documents inline in one
  request (``embed=(contacts.elements,documents.elements)``, §5.1), each collection read
  on its own when the answer does not carry it inline.

Resilience (SECURITY.md T93, R11): every request has a connect and a read timeout (≤ 5 s,
``[esia]``); nothing is retried (a POST may have consumed the one-time code; a GET retry
would only add load when ESIA struggles); a :class:`CircuitBreaker` fails fast with
``UpstreamUnavailable("esia_circuit_open")`` after repeated timeouts / 5xx /
ESIA-007007/007008 and lets one trial request through after ``breaker_reset_seconds``.
Answers are read up to :data:`MAX_RESPONSE_BYTES`.

Transport: a ``urllib3`` pool (``transport.environment_pool``: keep-alive connections to
ESIA, the environment's proxy and CA bundle read once); the breaker is ``breaker.py``.

Privacy: ESIA's REST answers are personal data. Logs carry the endpoint name, the HTTP
status and the ESIA code only (DESIGN.md, logs), never bodies, tokens, codes or the oid;
the oid is in REST URLs, so URLs are never logged either.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from gateway.config.schema import EsiaSettings
from gateway.core.clock import SystemClock
from gateway.core.errors import UpstreamError
from gateway.core.errors import UpstreamProtocolError
from gateway.core.errors import UpstreamUnavailable
from gateway.core.ids import constant_time_equals
from gateway.core.ids import new_uuid
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from providers.upstream.esia.breaker import BreakerState
from providers.upstream.esia.breaker import CircuitBreaker
from providers.upstream.esia.certificates import client_certificate_hash
from providers.upstream.esia.errors import ESIA_BAD_RESPONSE
from providers.upstream.esia.errors import ESIA_STATE_MISMATCH
from providers.upstream.esia.errors import ESIA_TIMEOUT
from providers.upstream.esia.errors import ESIA_UNAVAILABLE
from providers.upstream.esia.errors import UNAVAILABLE_CODES
from providers.upstream.esia.errors import error_from_esia
from providers.upstream.esia.errors import esia_code
from providers.upstream.esia.scopes import scope_string
from providers.upstream.esia.signing import Signer
from providers.upstream.esia.signing import sign_v1_cms
from providers.upstream.esia.signing import sign_v2
from providers.upstream.esia.transport import MAX_RESPONSE_BYTES
from providers.upstream.esia.transport import TooLarge
from providers.upstream.esia.transport import environment_pool
from providers.upstream.esia.transport import failure_kind
from providers.upstream.esia.transport import json_or_none
from providers.upstream.esia.transport import read_limited

__all__ = [
    "AUTHORIZE_PATHS",
    "MAX_RESPONSE_BYTES",
    "TOKEN_PATHS",
    "BreakerState",
    "CircuitBreaker",
    "EsiaClient",
    "TokenResponse",
    "environment_pool",
    "esia_timestamp",
]

log = logging.getLogger(__name__)
# urllib3 logs every request URL at DEBUG, and ESIA's REST URLs carry the person's oid
# (personal data under 152-FZ): keep that logger at INFO or above whatever the root level.
logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)

AUTHORIZE_PATHS = {"v2": "/aas/oauth2/v2/ac", "v1": "/aas/oauth2/ac"}
TOKEN_PATHS = {"v2": "/aas/oauth2/v3/te", "v1": "/aas/oauth2/te"}
LOGOUT_PATH = "/idp/ext/Logout"
REST_PERSONS = "/rs/prns"
EMBED = {"embed": "(elements)"}
PERSON_EMBEDS = {"contacts": "ctts", "documents": "docs"}
"""The person's collections that :meth:`EsiaClient.person_with` asks for inline, with
their paths under ``/rs/prns/{oid}`` (ESIA.md §5.1: the documented nested embeds; the kids
are read on their own, §5.5)."""

MAX_ELEMENTS = 50
"""At most this many items of a collection are read (kids, documents, contacts)."""

SCOPE_ORG = ""
"""v2 ``scope_org``: vhod asks for no organisation scopes; it is signed even when empty
(ESIA.md §2.1, ILI4)."""
TOKEN_TYPE = "Bearer"
V1_SIGNED_ATTRIBUTES = False
"""v1 CMS without signed attributes (``openssl smime -noattr``, as EKA does in production).
ESIA is reported to accept both forms [ESIA.md §2.3]; the sandbox checks both."""


def esia_timestamp(now: float, utc: bool = True) -> str:
    """ESIA's ``timestamp``: ``yyyy.MM.dd HH:mm:ss Z`` with no colon in the offset (§2.1).

    >>> esia_timestamp(1735732800.0)
    '2025.01.01 12:00:00 +0000'

    :param utc: ``True``: UTC with ``+0000``; ``False``: local time with its offset. Both
        are seen working; ESIA compares instants ([unsure], ``[esia] timestamp_utc``).
    """
    moment = datetime.fromtimestamp(now, tz=UTC)
    if not utc:
        moment = moment.astimezone()
    return moment.strftime("%Y.%m.%d %H:%M:%S %z")


# --------------------------------------------------------------------------- client


@dataclass(frozen=True)
class TokenResponse:
    """ESIA's token answer (§3.2). Tokens are credentials: never log them."""

    access_token: str
    id_token: str | None
    refresh_token: str | None
    expires_in: int | None
    token_type: str


class EsiaClient:
    """Talks to one ESIA (or the sandbox) for one registered system.

    :param settings: ``[esia]``.
    :param signer: signs ``client_secret`` with vhod's registered GOST key (``signing.py``).
    :param clock: wall-clock time for ``timestamp``.
    :param http: a ``urllib3`` pool manager (:func:`environment_pool` by default).
    :param breaker: shared circuit breaker; one is made from the settings if omitted.
    """

    def __init__(
        self,
        settings: EsiaSettings,
        signer: Signer,
        clock: Clock | None = None,
        http: urllib3.PoolManager | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.settings = settings
        self._signer = signer
        self._certificate_hash = client_certificate_hash(signer.certificate)
        self._clock = clock or SystemClock()
        self._http = http or environment_pool(settings.base_url)
        self.breaker = breaker or CircuitBreaker(
            settings.breaker_failure_threshold, settings.breaker_reset_seconds
        )
        self._timeout = urllib3.Timeout(
            connect=settings.connect_timeout_seconds, read=settings.read_timeout_seconds
        )
        self._base = settings.base_url

    # ------------------------------------------------------------------ signing

    def _timestamp(self) -> str:
        return esia_timestamp(
            self._clock.now() + self.settings.clock_offset_seconds, self.settings.timestamp_utc
        )

    def _v2_secret(self, *parts: str) -> str:
        # §2.4: the parts concatenated with no separators; raw s‖r, base64url unpadded.
        return sign_v2(self._signer, "".join(parts))

    def _v1_secret(self, scope: str, timestamp: str, state: str) -> str:
        # §2.2: scope + timestamp + client_id + state, no separators; detached CMS (§2.3).
        message = f"{scope}{timestamp}{self.settings.client_id}{state}"
        return sign_v1_cms(self._signer, message, signed_attrs=V1_SIGNED_ATTRIBUTES)

    # ------------------------------------------------------------------ authorize

    def authorization_url(self, state: str, scopes: tuple[str, ...], redirect_uri: str) -> str:
        """The signed authorize URL (v2 or v1 per ``[esia] protocol``).

        :param state: the journey's UUID ``state`` (ESIA requires a UUID, §2.1).
        :param scopes: ESIA scope names (``scopes.esia_scopes``).
        :param redirect_uri: vhod's registered callback.
        """
        scope = scope_string(scopes)
        timestamp = self._timestamp()
        client_id = self.settings.client_id
        params: dict[str, str] = {"client_id": client_id}
        if self.settings.protocol == "v2":
            params["client_certificate_hash"] = self._certificate_hash
            params["client_secret"] = self._v2_secret(
                client_id, scope, SCOPE_ORG, timestamp, state, redirect_uri
            )
        else:
            params["client_secret"] = self._v1_secret(scope, timestamp, state)
        params.update(
            {
                "redirect_uri": redirect_uri,
                "scope": scope,
                "response_type": "code",
                "state": state,
                "timestamp": timestamp,
                "access_type": self.settings.access_type,
            }
        )
        path = AUTHORIZE_PATHS[self.settings.protocol]
        return f"{self._base}{path}?{urlencode(params, quote_via=quote)}"

    def logout_url(self, post_logout_redirect_uri: str) -> str:
        """``/idp/ext/Logout?client_id=…&redirect_url=…`` (ESIA.md §1: ``redirect_url``)."""
        query = urlencode(
            {"client_id": self.settings.client_id, "redirect_url": post_logout_redirect_uri},
            quote_via=quote,
        )
        return f"{self._base}{LOGOUT_PATH}?{query}"

    # ------------------------------------------------------------------ token

    def exchange_code(self, code: str, scopes: tuple[str, ...], redirect_uri: str) -> TokenResponse:
        """Trade the authorization code for tokens (v3/te or v1/te, §3.1).

        ``scope`` and ``redirect_uri`` must be those of the authorize request; v2 signs
        ``client_id+scope+scope_org+timestamp+state+redirect_uri+code``.
        """
        return self._token_grant(
            "authorization_code",
            ("code", code),
            scopes,
            redirect_uri=redirect_uri,
            with_org=True,
            signed_tail=(redirect_uri, code),
        )

    def refresh(
        self, refresh_token: str, scopes: tuple[str, ...], redirect_uri: str
    ) -> TokenResponse:
        """Refresh tokens (``access_type=offline`` only).

        v3 has two documented variants [unsure, ESIA.md §3.1], chosen by
        ``[esia] refresh_variant``: ``ili4`` sends ``redirect_uri`` and
        ``client_certificate_hash`` and signs ``client_id+scope+scope_org+timestamp+state+
        redirect_uri``; ``ais`` sends neither and signs
        ``client_id+scope+timestamp+state+refresh_token``. v1 sends ``redirect_uri`` and
        signs as §2.2.
        """
        ili4 = self.settings.refresh_variant == "ili4"
        sends_redirect = ili4 or self.settings.protocol == "v1"
        return self._token_grant(
            "refresh_token",
            ("refresh_token", refresh_token),
            scopes,
            redirect_uri=redirect_uri if sends_redirect else None,
            with_org=ili4,
            signed_tail=(redirect_uri,) if ili4 else (refresh_token,),
        )

    def _token_grant(
        self,
        grant_type: str,
        credential: tuple[str, str],
        scopes: tuple[str, ...],
        *,
        redirect_uri: str | None,
        with_org: bool,
        signed_tail: tuple[str, ...],
    ) -> TokenResponse:
        """The one token-endpoint form (§3.1): a fresh ``state`` and ``timestamp``, the
        grant's credential (``code`` or ``refresh_token``), and ``client_secret``.

        :param redirect_uri: sent when not ``None``.
        :param with_org: v2 only: send ``client_certificate_hash`` and ``scope_org`` and
            sign ``scope_org`` after ``scope``.
        :param signed_tail: v2 only: what the signed text ends with after
            ``client_id+scope[+scope_org]+timestamp+state``. v1 always signs
            ``scope+timestamp+client_id+state`` (§2.2).
        """
        scope = scope_string(scopes)
        state = new_uuid()
        timestamp = self._timestamp()
        client_id = self.settings.client_id
        name, value = credential
        form: dict[str, str] = {"client_id": client_id, name: value, "grant_type": grant_type}
        if redirect_uri is not None:
            form["redirect_uri"] = redirect_uri
        form.update(scope=scope, state=state, timestamp=timestamp, token_type=TOKEN_TYPE)
        if self.settings.protocol == "v1":
            form["client_secret"] = self._v1_secret(scope, timestamp, state)
            return self._token_request(form, state)
        org: tuple[str, ...] = ()
        if with_org:
            form["client_certificate_hash"] = self._certificate_hash
            form["scope_org"] = SCOPE_ORG
            org = (SCOPE_ORG,)
        form["client_secret"] = self._v2_secret(
            client_id, scope, *org, timestamp, state, *signed_tail
        )
        return self._token_request(form, state)

    def _token_request(self, form: dict[str, str], state: str) -> TokenResponse:
        path = TOKEN_PATHS[self.settings.protocol]
        body = self._call("POST", path, "token", data=form)
        if not isinstance(body, dict):
            raise UpstreamProtocolError(ESIA_BAD_RESPONSE, "token: not a JSON object")
        echoed = body.get("state")
        # §3.2: the answer echoes the state of THIS request (ILI4, AIS, GO check it).
        if not isinstance(echoed, str) or not constant_time_equals(echoed, state):
            raise UpstreamProtocolError(ESIA_STATE_MISMATCH, "token: state not echoed")
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise UpstreamProtocolError(ESIA_BAD_RESPONSE, "token: no access_token")
        id_token = body.get("id_token")
        refresh = body.get("refresh_token")
        expires = body.get("expires_in")
        if isinstance(expires, str) and expires.isdigit():
            expires = int(expires)  # AIS parses a string; tolerate both (§3.2)
        token_type = body.get("token_type")
        return TokenResponse(
            access_token=access,
            id_token=id_token if isinstance(id_token, str) and id_token else None,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            expires_in=expires if isinstance(expires, int) else None,
            token_type=token_type if isinstance(token_type, str) else TOKEN_TYPE,
        )

    # ------------------------------------------------------------------ REST

    def person(self, oid: str, access_token: str) -> dict[str, Any]:
        """``/rs/prns/{oid}`` (ESIA.md §5.2)."""
        return self.person_with(oid, access_token)[0]

    def person_with(
        self, oid: str, access_token: str, collections: tuple[str, ...] = ()
    ) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
        """``/rs/prns/{oid}`` with ``collections`` (``"contacts"``, ``"documents"``) in one
        request: ``?embed=(contacts.elements,…)`` (ESIA.md §5.1). Returns the person and
        each collection's items; a collection the answer does not carry inline (an ESIA
        that ignores the embed, item URLs instead of items) is read on its own,
        ``/rs/prns/{oid}/ctts`` or ``/docs?embed=(elements)`` (§5.3, §5.4).
        """
        for name in collections:
            if name not in PERSON_EMBEDS:
                raise ValueError(f"not a person collection: {name}")
        path = f"{REST_PERSONS}/{_oid(oid)}"
        embed = ",".join(f"{name}.elements" for name in collections)
        params = {"embed": f"({embed})"} if collections else None
        body = self._rest(path, access_token, "person", params)
        if not isinstance(body, dict):
            raise UpstreamProtocolError(ESIA_BAD_RESPONSE, "person: not a JSON object")
        items: dict[str, list[dict[str, Any]]] = {}
        for name in collections:
            envelope = body.pop(name, None)
            elements = envelope.get("elements") if isinstance(envelope, dict) else None
            if isinstance(elements, list) and all(isinstance(e, dict) for e in elements):
                items[name] = elements[:MAX_ELEMENTS]
            else:
                items[name] = self._collection(f"{path}/{PERSON_EMBEDS[name]}", access_token, name)
        return body, items

    def kids(self, oid: str, access_token: str) -> list[dict[str, Any]]:
        """``/rs/prns/{oid}/kids?embed=(elements)`` (§5.5)."""
        return self._collection(f"{REST_PERSONS}/{_oid(oid)}/kids", access_token, "kids")

    def kid_documents(self, oid: str, kid_id: str, access_token: str) -> list[dict[str, Any]]:
        """``/rs/prns/{oid}/kids/{kidId}/docs?embed=(elements)`` (§5.5)."""
        path = f"{REST_PERSONS}/{_oid(oid)}/kids/{_oid(kid_id)}/docs"
        return self._collection(path, access_token, "kid_documents")

    def _rest(
        self, path: str, access_token: str, what: str, params: Mapping[str, str] | None = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        return self._call("GET", path, what, params=params, headers=headers)

    def _collection(self, path: str, access_token: str, what: str) -> list[dict[str, Any]]:
        """The ``elements`` of a collection envelope (§5.1).

        With ``embed=(elements)`` the items are inline. If ESIA answers with item URLs
        instead, each is fetched, but only when it lies under the same collection path of
        the configured base URL (no request to anywhere else).
        """
        envelope = self._rest(path, access_token, what, EMBED)
        elements = envelope.get("elements") if isinstance(envelope, dict) else None
        if not isinstance(elements, list):
            raise UpstreamProtocolError(ESIA_BAD_RESPONSE, f"{what}: no elements")
        items: list[dict[str, Any]] = []
        prefix = f"{self._base}{path}/"
        for element in elements[:MAX_ELEMENTS]:
            if isinstance(element, dict):
                items.append(element)
            elif isinstance(element, str) and element.startswith(prefix):
                rest = element[len(self._base) :]
                if "?" in rest or "#" in rest or ".." in rest:
                    continue
                item = self._rest(rest, access_token, what)
                if isinstance(item, dict):
                    items.append(item)
        return items

    # ------------------------------------------------------------------ transport

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """One request: breaker check, bounded timeouts, no retry, errors mapped."""
        self.breaker.before_request()
        started = time.monotonic()
        url = f"{self._base}{path}"
        if params:
            url = f"{url}?{urlencode(params)}"
        body = None
        sent = dict(headers or {})
        if data is not None:
            body = urlencode(data)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            response = self._http.request(
                method,
                url,
                body=body,
                headers=sent,
                timeout=self._timeout,
                retries=False,
                redirect=False,
                preload_content=False,
            )
            raw = read_limited(response)
        except (Urllib3Error, OSError, TooLarge) as exc:
            reason = failure_kind(exc)
            self.breaker.record_failure()
            log_event(log, "esia.request_failed", logging.WARNING, endpoint=what, reason=reason)
            failure = ESIA_TIMEOUT if reason == "timeout" else ESIA_UNAVAILABLE
            detail = reason if reason in ("timeout", "connection") else type(exc).__name__
            raise UpstreamUnavailable(failure, f"{what}: {detail}") from exc
        status = response.status
        elapsed_ms = int((time.monotonic() - started) * 1000)
        answer = json_or_none(raw)
        if status >= 500:
            self.breaker.record_failure()
            log_event(log, "esia.request_failed", logging.WARNING, endpoint=what, status=status)
            raise UpstreamUnavailable(ESIA_UNAVAILABLE, f"{what}: HTTP {status}")
        if status >= 400:
            error = answer.get("error") if isinstance(answer, dict) else None
            description = answer.get("error_description") if isinstance(answer, dict) else None
            code = esia_code(description if isinstance(description, str) else None)
            if code in UNAVAILABLE_CODES:
                self.breaker.record_failure()
            else:
                self.breaker.record_success()
            log_event(
                log,
                "esia.request_rejected",
                logging.WARNING,
                endpoint=what,
                status=status,
                esia_code=code or "-",
            )
            if status in (401, 403) and code is None:
                raise UpstreamProtocolError(ESIA_BAD_RESPONSE, f"{what}: HTTP {status}")
            err: UpstreamError = error_from_esia(
                error if isinstance(error, str) else None,
                description if isinstance(description, str) else None,
                what,
            )
            raise err
        self.breaker.record_success()
        if status != 200 or answer is None:
            raise UpstreamProtocolError(ESIA_BAD_RESPONSE, f"{what}: HTTP {status}, not JSON")
        log_event(log, "esia.request_done", logging.DEBUG, endpoint=what, ms=elapsed_ms)
        return answer


def _oid(value: str) -> str:
    """An oid or record id as a path segment: digits only (it comes from a signed token)."""
    if not value.isascii() or not value.isdigit() or len(value) > 20:
        raise UpstreamProtocolError(ESIA_BAD_RESPONSE, "identifier is not numeric")
    return value
