"""SubjectResolver: a known person with unchanged data costs no write; changes are stored."""

from __future__ import annotations

from typing import Any

from gateway.core.profiles import open_profile
from gateway.core.types import UpstreamIdentity
from gateway.journey.subjects import ROLE_PARENT
from gateway.journey.subjects import SubjectResolver

ATTRIBUTES = {"family_name": "Тестова", "given_name": "Анна", "birthdate": "1987-03-04"}


def identity(**changes: Any) -> UpstreamIdentity:
    values: dict[str, Any] = {
        "provider": "esia",
        "subject": "1000001",
        "account_level": "confirmed",
        "amr": ("pwd",),
        "attributes": dict(ATTRIBUTES),
    }
    values.update(changes)
    return UpstreamIdentity(**values)


def resolver(services: Any) -> SubjectResolver:
    return SubjectResolver(services.sealer, services.pepper)


def audit_count(services: Any, event: str) -> int:
    with services.uow() as uow:
        return sum(1 for e in uow.audit.iter_all() if e.event == event)


def test_first_login_creates_the_subject_and_audits_it(services: Any) -> None:
    subject, created = resolver(services).resolve(services.uow, identity(), 100.0)
    assert created
    assert audit_count(services, "subject.created") == 1
    assert open_profile(services.sealer, subject) == ATTRIBUTES


def test_unchanged_data_is_not_written_again(services: Any) -> None:
    first, _ = resolver(services).resolve(services.uow, identity(), 100.0)
    again, created = resolver(services).resolve(services.uow, identity(), 200.0)
    assert not created
    assert again.subject_id == first.subject_id
    assert again.updated_at == 100.0  # no write
    with services.uow(read_only=True) as uow:
        stored = uow.subjects.get(first.subject_id)
    assert stored is not None
    assert stored.sealed_profile == first.sealed_profile


def test_changed_profile_level_or_roles_are_stored(services: Any) -> None:
    first, _ = resolver(services).resolve(services.uow, identity(), 100.0)
    renamed = identity(attributes={**ATTRIBUTES, "family_name": "Иванова"})
    subject, created = resolver(services).resolve(services.uow, renamed, 200.0)
    assert not created
    assert subject.updated_at == 200.0
    assert open_profile(services.sealer, subject)["family_name"] == "Иванова"
    downgraded, _ = resolver(services).resolve(
        services.uow, identity(account_level="standard", attributes=renamed.attributes), 300.0
    )
    assert downgraded.account_level == "standard"
    parent, _ = resolver(services).resolve(
        services.uow,
        identity(
            account_level="standard",
            attributes=renamed.attributes,
            children=({"given_name": "Кира"},),
        ),
        400.0,
    )
    assert ROLE_PARENT in parent.roles
    with services.uow(read_only=True) as uow:
        stored = uow.subjects.get(first.subject_id)
    assert stored is not None
    assert (stored.account_level, stored.updated_at) == ("standard", 400.0)
    assert audit_count(services, "subject.created") == 1


def test_attributes_outside_the_profile_do_not_count_as_a_change(services: Any) -> None:
    resolver(services).resolve(services.uow, identity(), 100.0)
    extra = identity(attributes={**ATTRIBUTES, "snils": "112-233-445 95"})
    subject, _ = resolver(services).resolve(services.uow, extra, 200.0)
    assert subject.updated_at == 100.0
    assert "snils" not in open_profile(services.sealer, subject)
