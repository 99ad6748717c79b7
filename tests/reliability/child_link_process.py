"""A process that links the sandbox personas' rostered kids to a parent with the linker
of ESIA logins (``GuardianshipLinker``), armed with ``VHOD_CRASH_AT`` — run by the R5
test as ``python -m tests.reliability.child_link_process CONFIG PARENT_ID``; it prints
how many links it wrote (when no crash point killed it first)."""

from __future__ import annotations

import sys
from pathlib import Path

from gateway.core.faults import arm_from_environment
from gateway.core.types import UpstreamIdentity
from gateway.dev.school_registry import roster_rows
from gateway.journey.guardianship import GuardianshipLinker
from gateway.journey.guardianship import LinkProblems
from gateway.journey.pupils import PupilIdentities
from providers.upstream.esia_sandbox.personas import load_personas
from tests.reliability.servers import services_of


def kids() -> tuple[dict[str, str], ...]:
    """The rostered kids as ESIA's kids list describes them."""
    return tuple(
        {
            "upstream_id": row["pupil_id"].removeprefix("P"),
            "family_name": row["family_name"],
            "given_name": row["given_name"],
            "middle_name": row["middle_name"],
            "birthdate": row["birthdate"],
            "snils": row["snils"],
        }
        for row in roster_rows(load_personas().values())
    )


def main(config: Path, parent_id: str) -> None:
    with services_of(config) as svc:
        arm_from_environment(config.parent)
        with svc.uow(read_only=True) as uow:
            subject = uow.subjects.get(parent_id)
        assert subject is not None
        linker = GuardianshipLinker(
            svc.uow,
            svc.sealer,
            svc.clock,
            svc.pepper,
            LinkProblems(svc.ephemeral, svc.sealer),
            PupilIdentities(svc.sealer),
        )
        identity = UpstreamIdentity("esia", "parent-oid", "verified", children=kids())
        print(linker.link(subject, identity))  # noqa: T201


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
