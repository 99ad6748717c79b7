"""``vhod device`` against the app served over real HTTP on a free port (never
8080-8082): enrol with the token from ``/account/factors``, list, approve a login with
the shown number, deny; usage problems exit 2, refusals exit 1."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.core.errors import FactorFailed
from gateway.core.factors import FactorChallenge
from gateway.core.factors import FactorSubject
from gateway.core.types import Subject
from gateway.journey.subjects import seal_profile
from providers.registry import FactorDeps
from providers.registry import build_factors
from tests.conftest import make_config
from tests.helpers.processes import free_port
from tests.helpers.served import served_app


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """The app on 127.0.0.1:<free port> with the system clock (device timestamps are
    real), and its services."""
    port = free_port()
    assert port not in (8080, 8081, 8082)
    url = f"http://127.0.0.1:{port}"
    with served_app(port, make_config(tmp_path, server={"issuer": url})) as services:
        yield url, services


def _person(services: Any) -> str:
    """A subject whose sealed profile has an ESIA-verified e-mail (for the notices)."""
    profile = {"email": "a@example.invalid", "email_verified": True}
    subject = Subject(
        subject_id="s-cli",
        created_at=services.clock.now(),
        account_level="confirmed",
        sealed_profile=seal_profile(services.sealer, "s-cli", profile),
    )
    with services.uow() as uow:
        uow.subjects.add(subject, "fake", "digest-s-cli")
        uow.commit()
    return subject.subject_id


def test_vhod_device_enrols_lists_approves_and_denies(
    served: tuple[str, Any], tmp_path: Path
) -> None:
    url, services = served
    subject_id = _person(services)
    runner = CliRunner()
    key = tmp_path / "dev" / "device.json"
    token = services.factors.push_enrolment(subject_id).token

    enrolled = runner.invoke(
        main, ["device", "enrol", url, token, "--label", "Телефон 1", "--key", str(key)]
    )
    assert enrolled.exit_code == 0, enrolled.output
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert [f.kind.value for f in services.factors.enrolled(subject_id)] == ["push"]

    nothing = runner.invoke(main, ["device", "list", "--key", str(key)])
    assert nothing.exit_code == 0
    assert "nothing pending" in nothing.output

    # A login's push step (what the factor page does), then the device approves.
    login = build_factors(
        FactorDeps(
            services.config,
            services.uow,
            services.ephemeral,
            services.sealer,
            services.clock,
            services.pepper,
        )
    )
    who = FactorSubject(subject_id, "journey-1")
    challenge = login.start(who, "push")
    assert isinstance(challenge, FactorChallenge)
    assert challenge.number is not None
    listed = runner.invoke(main, ["device", "list", "--key", str(key)])
    assert challenge.challenge_id in listed.output
    wrong = runner.invoke(
        main, ["device", "approve", "99" if challenge.number != 99 else "98", "--key", str(key)]
    )
    assert wrong.exit_code == 1
    assert "refused" in wrong.output
    with pytest.raises(FactorFailed):
        login.verify(who, challenge, "")

    services.ephemeral.delete("push_cooldown", subject_id)
    second = login.start(FactorSubject(subject_id, "journey-2"), "push")
    approved = runner.invoke(main, ["device", "approve", str(second.number), "--key", str(key)])
    assert approved.exit_code == 0, approved.output
    assert "approved" in approved.output
    assert login.verify(FactorSubject(subject_id, "journey-2"), second, "") == "swk"

    none_left = runner.invoke(main, ["device", "deny", "--key", str(key)])
    assert none_left.exit_code == 1
    assert "0 pending" in none_left.output


def test_vhod_device_usage_problems_exit_2(served: tuple[str, Any], tmp_path: Path) -> None:
    url, _ = served
    runner = CliRunner()
    missing = runner.invoke(main, ["device", "list", "--key", str(tmp_path / "none.json")])
    assert missing.exit_code == 2
    assert "vhod device enrol" in missing.output
    bad_url = runner.invoke(main, ["device", "enrol", "ftp://x", "t", "--key", str(tmp_path / "d")])
    assert bad_url.exit_code == 2
    refused = runner.invoke(
        main, ["device", "enrol", url, "wrong-token", "--key", str(tmp_path / "d")]
    )
    assert refused.exit_code == 1
    assert "403" in refused.output
    assert not (tmp_path / "d").exists()
    unreachable = runner.invoke(
        main,
        ["device", "enrol", f"http://127.0.0.1:{free_port()}", "t", "--key", str(tmp_path / "e")],
    )
    assert unreachable.exit_code == 1
    assert "unreachable" in unreachable.output
