"""R4 — the rate-limit / counter store down (SECURITY.md §5 R4): factor sends and
verifications answer 503 with ``Retry-After``; no SMS leaves; no code is accepted.

Two ways down:

* the whole ephemeral store: a ``redis-server`` this test starts on a free port, killed by
  its PID between the factor page and the answer (the shared Redis is never touched);
* only the counters: an ephemeral store whose ``incr`` fails while reads and writes of
  records work — the case a fail-open limiter would get wrong, since the journey itself
  still loads (the SMS limits, the resend cool-down, the attempt counters and the lockout
  are all ``incr``).

SMS sends are counted at the sender (``OutboxSmsSender.send``), not in the outbox, which
lives in the very store that is down.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from gateway.app import build_services
from gateway.app import create_app
from gateway.config.loader import data_dir
from gateway.core.clock import FixedClock
from gateway.core.errors import StoreUnavailable
from gateway.core.factors import ACR_ESIA_MFA
from gateway.core.ports import EphemeralStore
from providers.factors.senders.outbox import OutboxSmsSender
from providers.factors.totp import TotpFactor
from tests.conftest import make_config
from tests.helpers.backends import require
from tests.helpers.journey import hidden_fields
from tests.helpers.oauth import OAuthKit
from tests.helpers.oauth import RegisteredClient
from tests.helpers.processes import OwnRedis

SCOPES = ("openid", "profile", "email", "diary")


class CountingSms:
    """Every SMS handed to the sender, whatever happens after."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[str] = []
        original = OutboxSmsSender.send

        def send(sender: OutboxSmsSender, to: str, text: str) -> None:
            self.sent.append(to)
            original(sender, to, text)

        monkeypatch.setattr(OutboxSmsSender, "send", send)


class CountersDown:
    """An ephemeral store whose counters (``incr``) can be switched off."""

    def __init__(self, inner: EphemeralStore) -> None:
        self._inner = inner
        self.down = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def incr(self, namespace: str, key: str, ttl_seconds: int, amount: int = 1) -> int:
        if self.down:
            raise StoreUnavailable("redis", "injected: counters down")
        return self._inner.incr(namespace, key, ttl_seconds, amount=amount)


def _assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, (response.status_code, response.get_data()[:300])
    assert int(response.headers["Retry-After"]) > 0
    assert "Location" not in response.headers


def _factor_page(kit: OAuthKit, rc: RegisteredClient) -> Any:
    first = kit.get_authorize(rc, acr_values=ACR_ESIA_MFA)
    page = kit.journey.login_via_fake("parent", response=first)
    assert page.status_code == 200, page.status_code
    assert page.request.path.endswith("/factor"), page.request.path
    return page


def _kit(services: Any) -> OAuthKit:
    app = create_app(services=services)
    app.testing = True
    return OAuthKit(app.test_client(), services)


# ---------------------------------------------------------------- the whole store down


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    require("redis-server", shutil.which("redis-server") is not None, "binary not installed")
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_services(tmp_path: Path, own_redis: OwnRedis, oauth_template: Path) -> Iterator[Any]:
    config = make_config(
        tmp_path,
        store={
            "ephemeral_url": own_redis.url,
            "operation_timeout_seconds": 0.5,
            "retry_after_seconds": 7,
        },
    )
    shutil.copytree(oauth_template, data_dir(config), dirs_exist_ok=True)
    svc = build_services(config, FixedClock(), prepare_stores=True)
    yield svc
    svc.engine.dispose()


@pytest.mark.redis
def test_r4_redis_killed_no_sms_and_no_code_accepted(
    redis_services: Any, own_redis: OwnRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    sms = CountingSms(monkeypatch)
    kit = _kit(redis_services)
    school = kit.register("school", scopes=SCOPES)
    page = _factor_page(kit, school)
    sent = kit.journey.pick_factor(page, "sms")
    assert sent.status_code == 200
    assert len(sms.sent) == 1
    code = kit.journey.outbox_code("sms")

    own_redis.stop()  # killed by its PID

    # A resend: 503, and nothing handed to the SMS gateway.
    _assert_unavailable(kit.journey.pick_factor(sent, "sms"))
    assert len(sms.sent) == 1
    # The right code: 503, not accepted.
    _assert_unavailable(kit.journey.answer_factor(sent, code))

    # Back, but empty (a restart without persistence): the journey is gone, the code too.
    own_redis.start()
    again = kit.journey.answer_factor(sent, code)
    assert again.status_code == 400
    assert "Location" not in again.headers
    assert len(sms.sent) == 1


# ---------------------------------------------------------------- only the counters down


@pytest.fixture
def counters(
    config: Any, oauth_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, CountersDown]]:
    """Services on the embedded default whose ephemeral store's counters can fail."""
    import gateway.compose

    wrapped: list[CountersDown] = []
    build = gateway.compose.ephemeral_store_from_url

    def wrap(*args: Any, **kwargs: Any) -> Any:
        store = CountersDown(build(*args, **kwargs))
        wrapped.append(store)
        return store

    monkeypatch.setattr(gateway.compose, "ephemeral_store_from_url", wrap)
    shutil.copytree(oauth_template, data_dir(config), dirs_exist_ok=True)
    svc = build_services(config, FixedClock(), prepare_stores=True)
    yield svc, wrapped[0]
    svc.engine.dispose()


def test_r4_counters_down_sms_send_refused_nothing_sent(
    counters: tuple[Any, CountersDown], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, store = counters
    sms = CountingSms(monkeypatch)
    kit = _kit(services)
    school = kit.register("school", scopes=SCOPES)
    page = _factor_page(kit, school)
    store.down = True
    _assert_unavailable(kit.journey.pick_factor(page, "sms"))
    assert sms.sent == []


def test_r4_counters_down_right_sms_code_not_accepted(
    counters: tuple[Any, CountersDown], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, store = counters
    sms = CountingSms(monkeypatch)
    kit = _kit(services)
    school = kit.register("school", scopes=SCOPES)
    sent = kit.journey.pick_factor(_factor_page(kit, school), "sms")
    assert len(sms.sent) == 1
    code = kit.journey.outbox_code("sms")
    store.down = True
    _assert_unavailable(kit.journey.answer_factor(sent, code))
    store.down = False
    # Back: the step the 503 answered was single use, so the same form is refused (the
    # person starts again) — fail closed, never a late acceptance.
    again = kit.journey.answer_factor(sent, code)
    assert again.status_code == 400
    assert "Location" not in again.headers
    assert len(sms.sent) == 1


def test_r4_counters_down_right_totp_code_not_accepted(
    counters: tuple[Any, CountersDown],
) -> None:
    services, store = counters
    kit = _kit(services)
    school = kit.register("school", scopes=SCOPES)
    generator = _enrol_totp(kit, school)
    services.clock.advance(31)
    page = _factor_page_again(kit, school)
    started = kit.journey.pick_factor(page, "totp")
    assert started.status_code == 200
    store.down = True
    _assert_unavailable(kit.journey.answer_factor(started, generator.at(services.clock.now())))


def _enrol_totp(kit: OAuthKit, school: RegisteredClient) -> pyotp.TOTP:
    """A TOTP authenticator for the persona (its subject exists after a first login)."""
    from tests.features.factors.test_factor_login import _subject_of

    svc = kit.services
    totp = TotpFactor(svc.config.totp, svc.ephemeral, svc.sealer, svc.clock)
    subject = _subject_of(kit, school)
    with svc.uow() as uow:
        offer = totp.begin_enrolment(uow.credentials, subject)
        uow.commit()
    generator = pyotp.TOTP(offer.secret)
    with svc.uow(read_only=True) as uow:
        pending = totp.check_enrolment(
            uow.credentials, subject, offer.credential.credential_id, generator.at(svc.clock.now())
        )
    with svc.uow() as uow:
        totp.activate(uow.credentials, pending)
        uow.commit()
    return generator


def _factor_page_again(kit: OAuthKit, rc: RegisteredClient) -> Any:
    first = kit.get_authorize(rc, acr_values=ACR_ESIA_MFA, prompt="login")
    page = kit.journey.login_via_fake("parent", response=first)
    assert page.request.path.endswith("/factor"), page.request.path
    assert "csrf_token" in hidden_fields(page.get_data(as_text=True))
    return page
