"""``EsiaProvider``: ESIA (Gosuslugi) behind the ``UpstreamProvider`` port.

The journey calls three methods (``gateway.core.ports.UpstreamProvider``):

1. :meth:`EsiaProvider.authorization_url` — the signed ESIA authorize URL for the
   journey's UUID ``state``; the ESIA scopes come from the school system's scopes through
   the table of ``scopes.py``.
2. :meth:`EsiaProvider.complete` — the callback's query → :class:`UpstreamIdentity`:

   a. an ``error`` in the callback → the mapped error (``errors.py``, ESIA.md §7);
   b. ``state`` must equal the journey's (constant-time; SECURITY.md T90);
   c. code → tokens at v3/te (or v1/te) with a fresh UUID ``state`` checked in the answer;
   d. access token and id_token verified (``tokens.py``; T91); the two must name the same
      oid;
   e. ``/rs/prns/{oid}``; ``/ctts`` when ``mobile`` or ``email`` was granted; ``/kids`` and each
      kid's ``/docs`` when the ``kid_*`` scopes were granted;
   f. the allow-list of ``mapping.py`` builds the identity; everything else is dropped.

3. :meth:`EsiaProvider.logout_url` — ESIA's ``/idp/ext/Logout`` with ``redirect_url``.

**Scopes at the token step.** ESIA wants the same ``scope`` at the token endpoint as at
the authorize endpoint (ESIA.md §3.1, GO). The ESIA scopes are a function of the school
system's scopes and ``[esia]`` (``scopes.py``), and the journey passes the same school
scopes to :meth:`authorization_url` and :meth:`complete`, so the provider derives the same
ESIA scope string twice and keeps no state between the two calls (any worker may take the
callback; nothing is written per login). Replays are refused by the journey (its ``state``
is single-use) and by ESIA (its code is).
"""

from __future__ import annotations

import logging
from typing import Any

import urllib3

from gateway.config.schema import EsiaSettings
from gateway.config.schema import GatewayConfig
from gateway.core.clock import SystemClock
from gateway.core.errors import ConfigError
from gateway.core.errors import UpstreamProtocolError
from gateway.core.ids import constant_time_equals
from gateway.core.logs import log_event
from gateway.core.ports import Clock
from gateway.core.ports import UpstreamProvider
from gateway.core.types import UpstreamIdentity
from providers.upstream.esia.client import EsiaClient
from providers.upstream.esia.errors import ESIA_BAD_RESPONSE
from providers.upstream.esia.errors import ESIA_STATE_MISMATCH
from providers.upstream.esia.errors import ESIA_TOKEN_INVALID
from providers.upstream.esia.errors import error_from_esia
from providers.upstream.esia.gost import GostError
from providers.upstream.esia.mapping import KidRecord
from providers.upstream.esia.mapping import map_identity
from providers.upstream.esia.scopes import KID_SCOPES
from providers.upstream.esia.scopes import esia_scopes
from providers.upstream.esia.scopes import granted_scopes
from providers.upstream.esia.settings import resolve_paths
from providers.upstream.esia.signing import Signer
from providers.upstream.esia.signing import make_signer
from providers.upstream.esia.tokens import CertificateRing
from providers.upstream.esia.tokens import EsiaTokenVerifier

__all__ = ["EsiaProvider", "build_esia_provider"]

log = logging.getLogger(__name__)

MAX_KIDS = 20
"""At most this many children are read (and their documents fetched) per login."""
_MAX_PARAM = 8192


class EsiaProvider:
    """ESIA as an :class:`UpstreamProvider` (module docstring).

    :param client: the HTTP client (signing, token exchange, REST).
    :param verifier: checks ESIA's tokens.
    :param settings: ``[esia]``.
    """

    name = "esia"

    def __init__(
        self,
        client: EsiaClient,
        verifier: EsiaTokenVerifier,
        settings: EsiaSettings,
    ) -> None:
        self.client = client
        self._verifier = verifier
        self._settings = settings

    # ------------------------------------------------------------------ scopes

    def esia_scopes(self, downstream: tuple[str, ...]) -> tuple[str, ...]:
        """The ESIA scopes for the school system's ``downstream`` scopes (``scopes.py``)."""
        return esia_scopes(
            downstream,
            sms_factors_enabled=self._settings.request_mobile,
            email_factors_enabled=self._settings.request_email,
            roster_matching=self._settings.roster_matching,
        )

    # ------------------------------------------------------------------ port

    def authorization_url(self, state: str, scopes: tuple[str, ...], redirect_uri: str) -> str:
        """The signed ESIA authorize URL (v2 or v1, ``[esia] protocol``).

        :param state: the journey's state; ESIA requires a UUID (ESIA.md §2.1).
        :param scopes: the school system's (downstream) scopes.
        :param redirect_uri: vhod's fixed ESIA callback, registered at ESIA.
        """
        url = self.client.authorization_url(state, self.esia_scopes(scopes), redirect_uri)
        log_event(log, "esia.authorize_started", protocol=self._settings.protocol)
        return url

    def complete(
        self,
        params: dict[str, str],
        expected_state: str,
        redirect_uri: str,
        scopes: tuple[str, ...],
    ) -> UpstreamIdentity:
        """The callback's query → the person (module docstring, steps a–f).

        :param params: the callback's query parameters.
        :param expected_state: the state the journey sent.
        :param redirect_uri: the same callback URI as in :meth:`authorization_url`.
        :param scopes: the school system's scopes, as given to :meth:`authorization_url`.
        :raises UpstreamDenied: the person cancelled, or ESIA refused the account.
        :raises UpstreamUnavailable: timeouts, 5xx, an open circuit.
        :raises UpstreamProtocolError: state, signature or answer problems.
        """
        if any(len(v) > _MAX_PARAM for v in params.values()):
            raise UpstreamProtocolError(ESIA_BAD_RESPONSE, "callback: parameter too long")
        state = params.get("state", "")
        state_ok = bool(state) and constant_time_equals(state, expected_state)
        if "error" in params:
            err = error_from_esia(params.get("error"), params.get("error_description"), "authorize")
            log_event(log, "esia.authorize_failed", reason=err.reason, state_ok=state_ok)
            if not state_ok:
                # An error for someone else's login must not end this one (T90).
                raise UpstreamProtocolError(ESIA_STATE_MISMATCH, "authorize error: state")
            raise err
        if not state_ok:
            log_event(log, "esia.state_mismatch", logging.WARNING)
            raise UpstreamProtocolError(ESIA_STATE_MISMATCH, "callback: state")
        code = params.get("code", "")
        if not code:
            raise UpstreamProtocolError(ESIA_BAD_RESPONSE, "callback: no code")
        esia = self.esia_scopes(scopes)
        tokens = self.client.exchange_code(code, esia, redirect_uri)
        access = self._verifier.verify(tokens.access_token, "access")
        id_claims: dict[str, Any] | None = None
        if tokens.id_token is not None:
            id_token = self._verifier.verify(tokens.id_token, "id")
            if id_token.oid != access.oid:
                raise UpstreamProtocolError(ESIA_TOKEN_INVALID, "id_token names another oid")
            id_claims = id_token.claims
        granted = granted_scopes(access.claims.get("scope")) & frozenset(esia)
        identity = self._fetch(access.oid, tokens.access_token, granted, id_claims)
        log_event(
            log,
            "esia.login_completed",
            account_level=identity.account_level,
            children=len(identity.children),
        )
        return identity

    def _fetch(
        self,
        oid: str,
        access_token: str,
        granted: frozenset[str],
        id_claims: dict[str, Any] | None,
    ) -> UpstreamIdentity:
        wanted = (("contacts",) if granted & {"mobile", "email"} else ()) + (
            ("documents",) if "id_doc" in granted else ()
        )
        person, inline = self.client.person_with(oid, access_token, wanted)
        contacts = inline.get("contacts", [])
        documents = inline.get("documents")
        kids: list[KidRecord] = []
        if granted.intersection(KID_SCOPES):
            for kid in self.client.kids(oid, access_token)[:MAX_KIDS]:
                kid_id = kid.get("id")
                docs: list[dict[str, Any]] = []
                if "kid_birth_cert_doc" in granted and isinstance(kid_id, int | str):
                    docs = self.client.kid_documents(oid, str(kid_id), access_token)
                kids.append(KidRecord(kid=kid, documents=docs))
        return map_identity(
            oid=oid,
            person=person,
            granted=granted,
            id_claims=id_claims,
            contacts=contacts,
            documents=documents,
            kids=kids,
        )

    def logout_url(self, post_logout_redirect_uri: str) -> str | None:
        """ESIA's logout: ``/idp/ext/Logout?client_id=…&redirect_url=…`` (ESIA.md §1)."""
        return self.client.logout_url(post_logout_redirect_uri)


_: type[UpstreamProvider] = EsiaProvider


def build_esia_provider(
    config: GatewayConfig,
    clock: Clock | None = None,
    *,
    signer: Signer | None = None,
    http: urllib3.PoolManager | None = None,
) -> EsiaProvider:
    """Build the provider from ``[esia]`` (the registry's factory for ``"esia"``).

    Registry wiring: ``"esia": lambda deps: build_esia_provider(deps.config, deps.clock)``.

    :param signer: override the signer (tests); by default made from ``[esia]``
        ``key_path`` / ``certificate_path`` / ``signer``.
    :raises ConfigError: unreadable key, certificate or trusted certificates, or dev
        defaults in production mode.
    """
    settings = config.esia
    clock = clock or SystemClock()
    paths = resolve_paths(config)
    try:
        ring = CertificateRing.from_files(paths.trusted)
    except ValueError as exc:
        raise ConfigError([f"[esia] trusted_certificates: {exc}"]) from exc
    if signer is None:
        try:
            signer = make_signer(settings.signer, paths.key, paths.certificate)
        except GostError as exc:
            hint = " (run the ESIA sandbox once to create it)" if paths.dev_defaults else ""
            raise ConfigError([f"[esia] key_path / certificate_path: {exc}{hint}"]) from exc
    client = EsiaClient(settings, signer, clock=clock, http=http)
    verifier = EsiaTokenVerifier(
        ring,
        issuer=settings.issuer,
        client_id=settings.client_id,
        algs=settings.token_algs,
        leeway_seconds=settings.leeway_seconds,
        clock=clock,
    )
    return EsiaProvider(client, verifier, settings)
