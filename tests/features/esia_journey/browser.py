"""A browser-like ``requests.Session`` for the ESIA journey over real HTTP.

It follows redirects between the gateway and the ESIA sandbox (both on loopback, free
ports) and stops at the first redirect that leaves them — the school system's
``redirect_uri`` — or at a page (the sandbox's persona form, vhod's consent page, a
denial or error page). Nothing of the gateway or of our ESIA client is stubbed.

Usage::

    browser = Browser(stack)
    page = browser.authorize(school)            # → the sandbox's persona page
    page = browser.esia_login(page, "parent")   # → vhod's consent page
    answer = browser.consent(page)              # → the redirect to the school
    tokens = browser.token(school, answer)
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests

TIMEOUT = 15
_HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[a-z_]+)" value="(?P<value>[^"]*)">')
_TXN = re.compile(r'name="txn" value="([^"]+)"')
_FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


@dataclass(frozen=True)
class SchoolClient:
    """A registered school system (the gateway's client)."""

    client_id: str
    secret: str
    redirect_uri: str
    post_logout_redirect_uri: str


@dataclass
class Answer:
    """Where the browser stopped: a page, or the redirect to the school."""

    response: requests.Response
    trail: list[str]

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def location(self) -> str | None:
        return self.response.headers.get("Location")

    @property
    def url(self) -> str:
        return self.response.url

    @property
    def text(self) -> str:
        return self.response.text

    @property
    def query(self) -> dict[str, str]:
        """The query of the redirect to the school (``code`` or ``error``, ``state``, ``iss``)."""
        assert self.location is not None, (self.status, self.url)
        return {k: v[0] for k, v in parse_qs(urlsplit(self.location).query).items()}

    def visited(self, base_url: str) -> bool:
        """Whether the redirect chain passed through ``base_url``."""
        return any(url.startswith(base_url) for url in self.trail)


class Browser:
    """One person's browser (its own cookie jar)."""

    def __init__(self, gateway_url: str, sandbox_url: str) -> None:
        self.gateway_url = gateway_url
        self.sandbox_url = sandbox_url
        self.session = requests.Session()
        self.verifier = ""
        self.request: dict[str, str] = {}

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------ navigation

    def get(self, url: str) -> Answer:
        return self.follow(self.session.get(url, allow_redirects=False, timeout=TIMEOUT))

    def post(self, url: str, data: dict[str, str]) -> Answer:
        response = self.session.post(url, data=data, allow_redirects=False, timeout=TIMEOUT)
        return self.follow(response)

    def follow(self, response: requests.Response, trail: list[str] | None = None) -> Answer:
        """Follow redirects within the gateway and the sandbox; stop anywhere else."""
        trail = [] if trail is None else trail
        for _ in range(20):
            trail.append(response.url)
            location = response.headers.get("Location")
            if response.status_code not in (301, 302, 303, 307, 308) or location is None:
                return Answer(response, trail)
            target = urljoin(response.url, location)
            if not target.startswith((self.gateway_url, self.sandbox_url)):
                return Answer(response, trail)
            response = self.session.get(target, allow_redirects=False, timeout=TIMEOUT)
        raise AssertionError(f"too many redirects: {trail[-3:]}")

    # ------------------------------------------------------------------ the journey

    def authorize(
        self, client: SchoolClient, scope: str = "openid profile", **extra: str
    ) -> Answer:
        """``GET /authorize`` with PKCE (S256), ``state`` and ``nonce``."""
        self.verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        self.request = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": client.redirect_uri,
            "scope": scope,
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        return self.get(f"{self.gateway_url}/authorize?{urlencode(self.request)}")

    def esia_form(self, page: Answer, persona: str | None, action: str) -> requests.Response:
        """Submit the sandbox's persona form without following the answer."""
        assert page.status == 200, (page.status, page.url)
        assert page.url.startswith(self.sandbox_url), page.url
        match = _TXN.search(page.text)
        assert match is not None, "no persona form on the sandbox page"
        data = {"txn": match.group(1), "action": action}
        if persona is not None:
            data["persona"] = persona
        return self.session.post(
            f"{self.sandbox_url}/sandbox/login", data=data, allow_redirects=False, timeout=TIMEOUT
        )

    def esia_login(self, page: Answer, persona: str) -> Answer:
        """Pick ``persona`` on the sandbox's page and follow to the next stop."""
        return self.follow(self.esia_form(page, persona, "login"))

    def esia_cancel(self, page: Answer) -> Answer:
        return self.follow(self.esia_form(page, None, "cancel"))

    def submit(self, page: Answer, **fields: str) -> Answer:
        """Submit the page's (first) form with its hidden fields plus ``fields``."""
        assert page.status in (200, 403), (page.status, page.url)
        match = _FORM_ACTION.search(page.text)
        assert match is not None, f"no form on {page.url}"
        data = {m.group("name"): m.group("value") for m in _HIDDEN.finditer(page.text)}
        data.update(fields)
        return self.post(urljoin(page.url, match.group(1)), data)

    def consent(self, page: Answer, approve: bool = True) -> Answer:
        assert page.url.endswith("/consent"), page.url
        return self.submit(page, decision="approve" if approve else "deny")

    def login(
        self, client: SchoolClient, persona: str, scope: str = "openid profile", **extra: str
    ) -> Answer:
        """The whole login: authorize → ESIA persona → (consent) → the school's redirect.

        The answer's ``trail`` holds every URL of the way.
        """
        answer = self.authorize(client, scope, **extra)
        trail = list(answer.trail)
        if answer.url.startswith(self.sandbox_url) and answer.status == 200:
            answer = self.esia_login(answer, persona)
            trail += answer.trail
        if answer.status == 200 and answer.url.endswith("/consent"):
            answer = self.consent(answer)
            trail += answer.trail
        return Answer(answer.response, trail)

    # ------------------------------------------------------------------ the school's side

    def token(self, client: SchoolClient, answer: Answer) -> dict[str, Any]:
        """Exchange the answer's code at ``/token`` (client_secret_basic + PKCE)."""
        response = requests.post(
            f"{self.gateway_url}/token",
            data={
                "grant_type": "authorization_code",
                "code": answer.query["code"],
                "redirect_uri": client.redirect_uri,
                "code_verifier": self.verifier,
            },
            auth=(client.client_id, client.secret),
            timeout=TIMEOUT,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body
