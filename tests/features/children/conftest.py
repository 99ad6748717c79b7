"""A gateway + ESIA sandbox pair with the school registry and roster of the dev stack
(the sandbox personas' kids, Мария left off), the school system ``school`` bound to
``demo-school-1`` and able to push its roster (client credentials, scope ``roster``)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from gateway.admin.clients import register_client
from gateway.core.ids import keyed_digest
from gateway.core.types import TOKEN_EXCHANGE
from gateway.core.types import Client
from gateway.dev.school_registry import seed_school_registry
from providers.upstream.esia_sandbox.personas import load_personas
from tests.features.esia_journey.browser import Browser
from tests.features.esia_journey.browser import SchoolClient
from tests.features.esia_journey.stack import JourneyStack

SCOPES = (
    "openid",
    "profile",
    "children",
    "child",
    "diary",
    "schedule",
    "offline_access",
    "roster",
)
KIDS_SCHOOL = SchoolClient(
    "kids-school",
    "kids-school-secret-0123456789-0123456789-0123456789",
    "https://kids-school.example/cb",
    "https://kids-school.example/signed-out",
)
"""The school system of ``demo-school-1`` (bound to it; may push its roster, act for a
parent's children and exchange a parent's token for a child's)."""


def subject_of(stack: JourneyStack, persona_oid: int) -> str:
    """The subject id of a sandbox persona (by its ESIA oid) once it signed in."""
    digest = keyed_digest(stack.services.pepper, "upstream_subject", str(persona_oid))
    with stack.services.uow(read_only=True) as uow:
        subject = uow.subjects.find_by_upstream("esia", digest)
    assert subject is not None
    return subject.subject_id


@pytest.fixture(scope="module")
def log_stream() -> Iterator[io.StringIO]:
    """Every log record of the module, raw (no redaction filter: callers must not log
    personal data at all; the filter is only a safety net)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s %(args)s"))
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old)


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, log_stream: io.StringIO
) -> Iterator[JourneyStack]:
    running = JourneyStack(tmp_path_factory.mktemp("children"))
    services = running.services
    register_client(
        services.uow,
        services.clock,
        services.pepper,
        services.config.scopes,
        Client(
            client_id=KIDS_SCHOOL.client_id,
            redirect_uris=(KIDS_SCHOOL.redirect_uri,),
            scopes=SCOPES,
            name="Электронный дневник",
            grant_types=(
                "authorization_code",
                "refresh_token",
                "client_credentials",
                TOKEN_EXCHANGE,
            ),
        ),
        KIDS_SCHOOL.secret,
    )
    seed_school_registry(services, load_personas(), client_ids=(KIDS_SCHOOL.client_id,))
    yield running
    running.stop()


@pytest.fixture
def browser(stack: JourneyStack) -> Iterator[Browser]:
    opened = stack.browser()
    yield opened
    opened.close()
