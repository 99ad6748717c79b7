"""Claims limited by scope (T98) and the account use case (consent revocation, T97)."""

from __future__ import annotations

from typing import Any

from gateway.core.clock import FixedClock
from gateway.core.types import Grant
from gateway.journey.service import JourneyService
from gateway.journey.service import StepKind
from providers.upstream.fake import FakeUpstream
from tests.unit.journey.conftest import CLIENT_ID
from tests.unit.journey.conftest import Browser
from tests.unit.journey.conftest import consent_and_finish
from tests.unit.journey.conftest import login
from tests.unit.journey.conftest import request_for


def signed_in(journeys: JourneyService, fake: FakeUpstream, persona: str = "parent") -> str:
    browser = Browser(binding="B" * 43)
    step = login(journeys, fake, browser, journeys.begin(request_for(), None, browser.binding))
    done = consent_and_finish(journeys, browser, step)
    assert done.outcome is not None
    return done.outcome.subject_id


def test_no_personal_claims_without_scopes(
    journeys: JourneyService, fake: FakeUpstream, services: Any
) -> None:
    subject_id = signed_in(journeys, fake)
    assert services.claims.claims(subject_id, ("openid",)) == {}
    assert services.claims.claims(subject_id, ("openid", "diary", "schedule")) == {}
    assert services.claims.claims("unknown-subject", ("openid", "profile")) == {}


def test_profile_scope(journeys: JourneyService, fake: FakeUpstream, services: Any) -> None:
    subject_id = signed_in(journeys, fake)
    claims = services.claims.claims(subject_id, ("openid", "profile"))
    assert claims["family_name"] == "Тестова"
    assert claims["given_name"] == "Анна"
    assert claims["middle_name"] == "Сергеевна"
    assert claims["name"] == "Анна Сергеевна Тестова"
    assert "birthdate" in claims
    assert "email" not in claims
    assert "sub" not in claims


def test_email_scope_only(journeys: JourneyService, fake: FakeUpstream, services: Any) -> None:
    subject_id = signed_in(journeys, fake)
    claims = services.claims.claims(subject_id, ("openid", "email"))
    assert claims == {"email": "parent@example.invalid", "email_verified": True}


def test_children_and_snils_never_leave(
    journeys: JourneyService, fake: FakeUpstream, services: Any
) -> None:
    subject_id = signed_in(journeys, fake)
    everything = tuple(services.config.scopes)
    claims = services.claims.claims(subject_id, everything)
    text = repr(claims)
    assert "Миша" not in text  # a child's name
    assert "snils" not in text.lower()
    assert "children" not in claims


def test_profile_is_sealed_at_rest(
    journeys: JourneyService, fake: FakeUpstream, services: Any
) -> None:
    subject_id = signed_in(journeys, fake)
    with services.uow() as uow:
        subject = uow.subjects.get(subject_id)
    assert subject is not None
    assert subject.sealed_profile is not None
    assert "Тестова".encode() not in subject.sealed_profile
    assert subject.account_level == "confirmed"
    assert subject.roles == ("parent",)


def test_account_overview_and_revoke(
    journeys: JourneyService, fake: FakeUpstream, services: Any, clock: FixedClock
) -> None:
    subject_id = signed_in(journeys, fake)
    grant = Grant(
        grant_id="g1",
        client_id=CLIENT_ID,
        subject_id=subject_id,
        sub="pairwise",
        scopes=("openid", "profile"),
        created_at=clock.now(),
        expires_at=clock.now() + 3600,
    )
    with services.uow() as uow:
        uow.grants.add(grant)
        uow.commit()
    marked: list[str] = []

    class Revoker:
        def mark_grant_revoked(self, grant_id: str) -> None:
            marked.append(grant_id)

    revoker = Revoker()
    view = services.accounts.overview(subject_id)
    assert view.display_name == "Анна Сергеевна Тестова"
    assert [c.client_id for c in view.consents] == [CLIENT_ID]
    assert services.accounts.revoke_consent(subject_id, CLIENT_ID, revoker) is True
    assert services.accounts.revoke_consent(subject_id, CLIENT_ID, revoker) is False
    assert services.accounts.overview(subject_id).consents == ()
    assert marked == ["g1"]
    with services.uow() as uow:
        stored = uow.grants.get("g1")
    assert stored is not None
    assert stored.revoked_at is not None
    with services.uow() as uow:
        revoked = [e for e in uow.audit.iter_all() if e.event == "consent.revoked"]
    assert len(revoked) == 1
    assert revoked[0].fields["client_id"] == CLIENT_ID
    # The next login to the client asks for consent again.
    browser = Browser(binding="Z" * 43)
    step = login(journeys, fake, browser, journeys.begin(request_for(), None, browser.binding))
    assert step.kind is StepKind.CONSENT
