"""``AdminActions``: become an admin through an invite and drive the admin side with a
browser of its own (a separate test client, so the admin's SSO session is not replaced by
the logins of the people whose tokens a test checks). With ``[admin]
require_second_factor`` (the default) the sign-in passes the SMS factor, the code read
from the dev outbox."""

from __future__ import annotations

from typing import Any

from gateway.admin.invites import create_invite
from gateway.admin.subjects import subject_digest
from tests.helpers.journey import JourneyActions
from tests.helpers.journey import hidden_fields


class AdminActions:
    def __init__(self, app: Any, services: Any) -> None:
        self.app = app
        self.services = services
        self.client = app.test_client()
        self.journey = JourneyActions(self.client, services)
        self.csrf = ""
        self.subject_id = ""

    # ------------------------------------------------------------ sign-in

    def invite(self, ttl_seconds: int = 3600) -> str:
        return create_invite(
            self.services.uow, self.services.clock, self.services.pepper, ttl_seconds
        )

    def sign_in_through_invite(self, token: str, persona: str = "other_parent") -> Any:
        """Open the invite link, sign in with ``persona``, accept; the accept response."""
        landing = self.client.get(f"/admin/invite?token={token}")
        assert landing.status_code == 303, landing.status_code
        assert landing.headers["Location"] == "/admin/invite"
        page = self.client.get("/admin/invite")
        assert page.status_code == 200
        start = self.client.get("/admin/invite/sign-in")
        done = self.through_factor(self.journey.login_via_fake(persona, response=start))
        assert done.status_code in (302, 303), done.status_code
        assert done.headers["Location"] == "/admin/invite"
        page = self.client.get("/admin/invite")
        fields = hidden_fields(page.get_data(as_text=True))
        return self.client.post("/admin/invite", data={"csrf_token": fields["csrf_token"]})

    def become_admin(self, persona: str = "other_parent") -> AdminActions:
        accepted = self.sign_in_through_invite(self.invite(), persona)
        assert accepted.status_code == 303, accepted.get_data(as_text=True)
        assert accepted.headers["Location"] == "/admin/login"
        return self.start_session()

    def through_factor(self, response: Any) -> Any:
        """Pass the SMS factor when ``response`` (followed) is the factor page."""
        if response.status_code == 200 and response.request.path.endswith("/factor"):
            return self.journey.pass_factor(response, "sms")
        return response

    def start_session(self) -> AdminActions:
        signed_in = self.client.get("/admin/login")
        assert signed_in.status_code == 200, signed_in.get_data(as_text=True)
        session = self.client.get("/admin/api/session")
        assert session.status_code == 200
        body = session.get_json()
        self.csrf = body["csrf_token"]
        self.subject = body["subject"]
        return self

    def sign_in_without_invite(self, persona: str) -> Any:
        """A person with an SSO session (fresh sign-in through /account), no admin role."""
        start = self.client.get("/account/login")
        return self.journey.login_via_fake(persona, response=start)

    @property
    def digest(self) -> str:
        return self.subject

    def digest_of(self, subject_id: str) -> str:
        return subject_digest(self.services.pepper, subject_id)

    # ------------------------------------------------------------ API

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        return self.client.post(path, json=json, headers=headers, **kw)

    def form(self, path: str, data: dict[str, Any] | None = None) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf, **(data or {})})

    def audit_events(self, name: str | None = None) -> list[Any]:
        with self.services.uow() as uow:
            events = list(uow.audit.iter_all())
        return [e for e in events if name is None or e.event == name]
