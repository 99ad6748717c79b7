"""One brokered login as a browser does it, for ``bench logins``: ``/authorize`` → the ESIA
sandbox's persona page → vhod's callback → (the factor page and the SMS code from the
outbox) → consent → code → ``/token``; and the loop that runs people against the clock."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests

CLIENT_ID = "bench-school"
CLIENT_SECRET = "bench-secret-0123456789-0123456789-0123456789"
REDIRECT_URI = "https://bench-school.example/cb"
SCOPE = "openid profile"
PERSONAS = ("parent", "teen15", "single", "parent_foreign")
ACR_MFA = "urn:vhod:acr:esia-mfa"
SMS_LIMITS: dict[str, object] = {
    "per_number_per_minute": 10,
    "per_number_per_day": 50,
    "per_account_per_hour": 100,
    "per_account_per_day": 200,
    "per_ip_per_hour": 10000,
    "per_prefix_per_hour": 10000,
    "global_per_hour": 1_000_000,
    "global_per_day": 1_000_000,
}
"""``[sms.limits]`` at their maxima: one bench client sends many SMS from one address."""
_CODE = re.compile(r"\b(\d{6})\b")
_TXN = re.compile(r'name="txn" value="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')
_FORM = re.compile(r'<form method="post" action="([^"]+)"')
_PHONES: dict[str, str] = {}
"""The SMS personas' mobile numbers (filled by :func:`_sms_personas`)."""


# ------------------------------------------------------------------------------ one login


class LoginFailed(Exception):
    pass


class SmsCodes:
    """The SMS codes the gateway "sent": the dev outbox in the shared ephemeral store."""

    def __init__(self, config_path: Path) -> None:
        from gateway.app import build_services
        from gateway.config.loader import load_config
        from providers.factors.senders.outbox import DevOutbox

        self._services = build_services(load_config(config_path))
        self._outbox = DevOutbox(self._services.ephemeral, self._services.clock)

    def code_for(self, last_digits: str) -> str:
        """The code of the newest SMS to the number ending in ``last_digits``."""
        for message in self._outbox.messages("sms"):
            found = _CODE.search(message.text)
            if message.to.endswith(last_digits) and found is not None:
                return found.group(1)
        raise LoginFailed("no SMS in the outbox")

    def close(self) -> None:
        self._services.engine.dispose()


class Rotation:
    """Personas handed out in turn to the clients (thread-safe)."""

    def __init__(self, personas: list[str]) -> None:
        self._personas = personas
        self._next = 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            persona = self._personas[self._next % len(self._personas)]
            self._next += 1
        return persona


class Person:
    """A browser (its own connection pool) that logs in again and again.

    :param sms: with the SMS factor (``acr_values`` esia-mfa; codes from ``sms``), as the
        persona ``rotation`` hands out for each login.
    """

    def __init__(
        self,
        gateway: str,
        sandbox: str,
        persona: str,
        *,
        sms: SmsCodes | None = None,
        rotation: Rotation | None = None,
    ) -> None:
        self.gateway = gateway
        self.sandbox = sandbox
        self.persona = persona
        self.sms = sms
        self.rotation = rotation
        self.session = requests.Session()

    def _get(self, url: str) -> requests.Response:
        return self.session.get(url, allow_redirects=False, timeout=30)

    def _follow(self, response: requests.Response) -> requests.Response:
        for _ in range(10):
            location = response.headers.get("Location")
            if response.status_code not in (302, 303) or location is None:
                return response
            target = urljoin(response.url, location)
            if target.startswith(REDIRECT_URI):
                return response
            response = self._get(target)
        raise LoginFailed("redirect loop")

    def login(self) -> dict[str, object]:
        self.session.cookies.clear()  # no SSO: every login goes through ESIA
        if self.rotation is not None:
            self.persona = self.rotation()
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        state = secrets.token_urlsafe(16)
        query = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": SCOPE,
            "state": state,
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
        if self.sms is not None:
            query["acr_values"] = ACR_MFA
        page = self._follow(self._get(f"{self.gateway}/authorize?{urlencode(query)}"))
        match = _TXN.search(page.text) if page.status_code == 200 else None
        if match is None or not page.url.startswith(self.sandbox):
            raise LoginFailed(f"no ESIA page ({page.status_code})")
        answer = self.session.post(
            f"{self.sandbox}/sandbox/login",
            data={"txn": match.group(1), "persona": self.persona, "action": "login"},
            allow_redirects=False,
            timeout=30,
        )
        answer = self._follow(answer)
        if self.sms is not None:
            answer = self._sms_factor(answer, self.sms)
        if answer.status_code == 200 and answer.url.endswith("/consent"):
            answer = self._consent(answer)
        params = parse_qs(urlsplit(answer.headers.get("Location", "")).query)
        if "code" not in params or params.get("state") != [state]:
            raise LoginFailed(f"no code ({answer.status_code} {params.get('error')})")
        token = requests.post(
            f"{self.gateway}/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"][0],
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
            auth=(CLIENT_ID, CLIENT_SECRET),
            timeout=30,
        )
        body: dict[str, object] = token.json()
        if token.status_code != 200 or "id_token" not in body:
            raise LoginFailed(f"token {token.status_code}")
        return body

    def _consent(self, page: requests.Response) -> requests.Response:
        return self._submit(page, "consent", decision="approve")

    def _submit(self, page: requests.Response, what: str, **fields: str) -> requests.Response:
        """Post the page's first form with its hidden fields and ``fields``."""
        form = _FORM.search(page.text)
        if form is None:
            raise LoginFailed(f"no {what} form")
        data = dict(_HIDDEN.findall(page.text)) | fields
        response = self.session.post(
            urljoin(page.url, form.group(1)), data=data, allow_redirects=False, timeout=30
        )
        return self._follow(response)

    def _sms_factor(self, page: requests.Response, sms: SmsCodes) -> requests.Response:
        """On vhod's factor page: «Код в SMS», the code from the outbox, the answer."""
        if page.status_code != 200 or not page.url.endswith("/factor"):
            raise LoginFailed(f"no factor page ({page.status_code})")
        sent = self._submit(page, "factor", kind="sms")
        if sent.status_code != 200:
            raise LoginFailed(f"SMS not sent ({sent.status_code})")
        digits = _PHONES[self.persona][-2:]
        return self._submit(sent, "code", code=sms.code_for(digits))


@dataclass
class Tally:
    ok: int = 0
    failed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, error: str | None) -> None:
        with self.lock:
            if error is None:
                self.ok += 1
            else:
                self.failed += 1
                self.reasons[error] = self.reasons.get(error, 0) + 1


def _run(people: list[Person], seconds: float) -> Tally:
    tally = Tally()
    stop_at = time.monotonic() + seconds

    def worker(person: Person) -> None:
        while time.monotonic() < stop_at:
            try:
                person.login()
            except (LoginFailed, requests.RequestException, ValueError) as exc:
                tally.add(type(exc).__name__ + ": " + str(exc)[:60])
            else:
                tally.add(None)

    threads = [threading.Thread(target=worker, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally
