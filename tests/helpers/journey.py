"""``JourneyActions``: drive the Flask test client through a whole login, like flaskr's
``AuthActions``: ``/authorize`` → fake upstream persona page → callback → consent page →
the redirect back to the client with ``code`` (or ``error``).

Usable by any feature test (OAuth ones included)::

    actions = JourneyActions(client, services)
    actions.register_client("school")
    response = actions.login_and_consent(client_id="school", persona="parent")
    code = actions.redirect_params(response)["code"]
    verifier = actions.code_verifier  # for the token request

Only the gateway's own redirects are followed (path and query only, so the test client's
cookies stay on one host); the final redirect to the client's ``redirect_uri`` is returned.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

from gateway.admin.clients import client_secret_digest
from gateway.core.types import Client
from providers.factors.senders.outbox import DevOutbox

DEFAULT_SCOPE = "openid profile"
_HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[a-z_]+)" value="(?P<value>[^"]*)">')
_GATEWAY_PREFIXES = ("/login", "/account", "/authorize", "/logout")


def redirect_uri_for(client_id: str) -> str:
    return f"https://{client_id}.example/cb"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a page's forms (csrf_token, step, state...)."""
    return {m.group("name"): m.group("value") for m in _HIDDEN.finditer(html)}


class JourneyActions:
    def __init__(self, client: Any, services: Any) -> None:
        self.client = client
        self.services = services
        self.code_verifier: str | None = None
        self.last_request: dict[str, str] = {}

    # ---------------------------------------------------------------- setup

    def register_client(
        self,
        client_id: str = "school",
        scopes: tuple[str, ...] = ("openid", "profile", "email", "diary", "payments"),
        secret: str | None = None,
        **kw: Any,
    ) -> Client:
        """Register a client directly in the store (``secret``: its client secret)."""
        if secret is not None:
            kw["secret_digest"] = client_secret_digest(self.services.pepper, secret)
        client = Client(
            client_id=client_id,
            redirect_uris=(redirect_uri_for(client_id),),
            scopes=scopes,
            name=kw.pop("name", f"Школа {client_id}"),
            **kw,
        )
        with self.services.uow() as uow:
            uow.clients.add(client)
            uow.commit()
        return client

    # ---------------------------------------------------------------- steps

    def authorize(self, client_id: str = "school", scope: str = DEFAULT_SCOPE, **extra: str) -> Any:
        """``GET /authorize`` with PKCE (S256), ``state`` and ``nonce``."""
        verifier, challenge = pkce_pair()
        self.code_verifier = verifier
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri_for(client_id),
            "scope": scope,
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update(extra)
        self.last_request = params
        return self.client.get(f"/authorize?{urlencode(params)}")

    def follow(self, response: Any) -> Any:
        """Follow the gateway's own redirects; stop at a page or a foreign redirect."""
        for _ in range(10):
            target = self.local_location(response)
            if target is None:
                return response
            response = self.client.get(target)
        raise AssertionError("too many redirects")

    def login_via_fake(
        self, persona: str = "parent", response: Any = None, **authorize: Any
    ) -> Any:
        """Authorize (unless ``response`` continues one), pick ``persona`` on the fake
        upstream page, and return what the callback answered (followed locally). When an
        SSO session is reused there is no upstream page: the followed answer is returned."""
        if response is None:
            response = self.authorize(**authorize)
        page = self.follow(response)
        if page.status_code != 200 or page.request.path != "/login/fake":
            return page  # an SSO session was reused: no upstream step
        fields = hidden_fields(page.get_data(as_text=True))
        answer = self.client.post(
            "/login/fake",
            data={"csrf_token": fields["csrf_token"], "state": fields["state"], "persona": persona},
        )
        return self.follow(answer)

    def cancel_at_fake(self, **authorize: Any) -> Any:
        page = self.follow(self.authorize(**authorize))
        fields = hidden_fields(page.get_data(as_text=True))
        answer = self.client.post(
            "/login/fake",
            data={"csrf_token": fields["csrf_token"], "state": fields["state"], "cancel": "1"},
        )
        return self.follow(answer)

    def give_consent(self, page: Any, approve: bool = True) -> Any:
        """Answer the consent page ``page`` (a followed response showing it)."""
        assert page.status_code == 200, page.status_code
        assert page.request.path.endswith("/consent"), page.request.path
        fields = hidden_fields(page.get_data(as_text=True))
        return self.client.post(
            page.request.path,
            data={
                "csrf_token": fields["csrf_token"],
                "step": fields["step"],
                "decision": "approve" if approve else "deny",
            },
        )

    # ---------------------------------------------------------------- second factors

    def pick_factor(self, page: Any, kind: str) -> Any:
        """On the factor page ``page``, pick ``kind`` (sends the code / the push)."""
        path = page.request.path.removesuffix("/send")
        assert path.endswith("/factor"), path
        fields = hidden_fields(page.get_data(as_text=True))
        return self.client.post(
            path + "/send",
            data={"csrf_token": fields["csrf_token"], "step": fields["step"], "kind": kind},
        )

    def answer_factor(self, page: Any, code: str = "") -> Any:
        """Answer the factor started on ``page`` (the page after :meth:`pick_factor`)."""
        path = page.request.path.removesuffix("/send")
        fields = hidden_fields(page.get_data(as_text=True))
        return self.client.post(
            path, data={"csrf_token": fields["csrf_token"], "step": fields["step"], "code": code}
        )

    def outbox_code(self, kind: str = "sms") -> str:
        """The code in the newest dev-outbox message of ``kind`` (``sms`` / ``email``)."""
        outbox = DevOutbox(self.services.ephemeral, self.services.clock)
        messages = outbox.messages(kind)
        assert messages, f"no {kind} message in the dev outbox"
        found = re.search(r"\b(\d{6})\b", messages[0].text)
        assert found is not None, "no code in the message"
        return found.group(1)

    def pass_factor(self, page: Any, kind: str = "sms") -> Any:
        """Pick ``kind`` on the factor page, read the code from the dev outbox, answer it;
        the followed answer (consent page, or the redirect to the client)."""
        sent = self.pick_factor(page, kind)
        assert sent.status_code == 200, sent.status_code
        return self.follow(self.answer_factor(sent, self.outbox_code(kind)))

    def login_and_consent(self, persona: str = "parent", **authorize: Any) -> Any:
        """The whole login; consent is given when the consent page shows up."""
        response = self.login_via_fake(persona, **authorize)
        if response.status_code == 200 and response.request.path.endswith("/consent"):
            response = self.give_consent(response)
        return response

    def exchange_code(self, response: Any, secret: str) -> Any:
        """``POST /token`` with the code of ``response`` (client_secret_basic + PKCE)."""
        params = self.redirect_params(response)
        client_id = self.last_request["client_id"]
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        return self.client.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": self.last_request["redirect_uri"],
                "code_verifier": self.code_verifier,
            },
            headers={"Authorization": f"Basic {basic}"},
        )

    # ---------------------------------------------------------------- reading answers

    def local_location(self, response: Any) -> str | None:
        """The path and query of a redirect within the gateway, else ``None``."""
        if response.status_code not in (301, 302, 303, 307, 308):
            return None
        parts = urlsplit(response.headers["Location"])
        ours = urlsplit(self.services.config.server.issuer).netloc
        if parts.netloc and parts.netloc not in (ours, "localhost"):
            return None
        if not parts.path.startswith(_GATEWAY_PREFIXES):
            return None
        return parts.path + (f"?{parts.query}" if parts.query else "")

    @staticmethod
    def redirect_params(response: Any) -> dict[str, str]:
        """The query of a redirect to the client (``code``/``error``, ``state``, ``iss``)."""
        assert response.status_code in (302, 303), response.status_code
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        return {k: v[0] for k, v in query.items()}
