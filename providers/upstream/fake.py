"""``FakeUpstream``: a stand-in for ESIA in dev and in unit/feature tests.

Its :meth:`~FakeUpstream.authorization_url` leads to a small page served by the gateway
(``/login/fake``, :mod:`providers.upstream.fake_page`, registered only while this upstream
is enabled) listing a few personas; picking one makes a one-time code
(:meth:`~FakeUpstream.issue_code`) and sends the browser to the fixed callback
``/login/callback/fake?code=…&state=…``; "cancel" sends ``error=access_denied``.
:meth:`~FakeUpstream.complete` turns the code into an :class:`UpstreamIdentity`. Codes
are stored as keyed digests and consumed once.

Production mode refuses it twice: the config (``[upstream] provider = "fake"``) and the
factory in ``providers.registry``. Integration tests of the real ESIA path use the ESIA
sandbox over HTTP instead.

The personas' birth dates are relative to the clock, so their ages hold at any time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from gateway.core.errors import ReplayDetected
from gateway.core.errors import UpstreamDenied
from gateway.core.errors import UpstreamProtocolError
from gateway.core.ids import constant_time_equals
from gateway.core.ids import keyed_digest
from gateway.core.ids import new_code
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import UpstreamProvider
from gateway.core.types import AccountLevel
from gateway.core.types import UpstreamIdentity

NAME = "fake"
CODE_NAMESPACE = "fake_code"
CODE_TTL_SECONDS = 120
DENIAL_ERRORS = frozenset({"access_denied"})


@dataclass(frozen=True)
class Persona:
    """A made-up person of the fake upstream (no real data)."""

    persona_id: str
    label_ru: str
    label_en: str
    upstream_subject: str
    account_level: AccountLevel
    family_name: str
    given_name: str
    middle_name: str
    age: int
    children: tuple[tuple[str, str, int], ...] = ()
    """(family name, given name, age) of each linked child."""


PERSONAS: dict[str, Persona] = {
    p.persona_id: p
    for p in (
        Persona(
            "parent",
            "Родитель с подтверждённой учётной записью и двумя детьми",
            "Parent with a confirmed account and two children",
            "fake-1000001",
            AccountLevel.CONFIRMED,
            "Тестова",
            "Анна",
            "Сергеевна",
            38,
            (("Тестов", "Миша", 10), ("Тестова", "Вера", 15)),
        ),
        Persona(
            "teen",
            "Подросток 15 лет с собственной подтверждённой учётной записью",
            "A 15-year-old with their own confirmed account",
            "fake-1000002",
            AccountLevel.CONFIRMED,
            "Тестова",
            "Вера",
            "Петровна",
            15,
        ),
        Persona(
            "child",
            "Детская учётная запись (10 лет)",
            "Child account (10 years old)",
            "fake-1000003",
            AccountLevel.CHILD,
            "Тестов",
            "Миша",
            "Петрович",
            10,
        ),
        Persona(
            "standard",
            "Взрослый со стандартной учётной записью",
            "Adult with a standard account",
            "fake-1000004",
            AccountLevel.STANDARD,
            "Пробный",
            "Олег",
            "Иванович",
            45,
        ),
        Persona(
            "simplified",
            "Взрослый с упрощённой учётной записью",
            "Adult with a simplified account",
            "fake-1000005",
            AccountLevel.SIMPLIFIED,
            "Пробная",
            "Ольга",
            "Ивановна",
            29,
        ),
        Persona(
            "other_parent",
            "Другой родитель с подтверждённой учётной записью",
            "Another parent with a confirmed account",
            "fake-1000006",
            AccountLevel.CONFIRMED,
            "Примерный",
            "Пётр",
            "Андреевич",
            41,
        ),
    )
}


def birthdate_for_age(today: date, age: int) -> date:
    """A birth date that makes someone exactly ``age`` years old ``today``."""
    try:
        anniversary = today.replace(year=today.year - age)
    except ValueError:  # 29 February
        anniversary = today.replace(year=today.year - age, day=28)
    return anniversary - timedelta(days=10)


class FakeUpstream:
    """The fake upstream identity provider (dev and tests only)."""

    name = NAME

    def __init__(self, store: EphemeralStore, clock: Clock, pepper: bytes, base_url: str) -> None:
        """
        :param base_url: the gateway's issuer URL; the persona page lives under it.
        """
        self._store = store
        self._clock = clock
        self._pepper = pepper
        self._base_url = base_url.rstrip("/")

    @property
    def personas(self) -> tuple[Persona, ...]:
        return tuple(PERSONAS.values())

    def authorization_url(self, state: str, scopes: tuple[str, ...], redirect_uri: str) -> str:
        return f"{self._base_url}/login/fake?{urlencode({'state': state})}"

    def issue_code(self, persona_id: str, state: str) -> str:
        """A one-time code for ``persona_id``, bound to the upstream ``state``.

        :raises KeyError: for an unknown persona.
        """
        if persona_id not in PERSONAS:
            raise KeyError(persona_id)
        code = new_code()
        value = json.dumps({"persona": persona_id, "state": state}).encode()
        self._store.put(CODE_NAMESPACE, self._digest(code), value, CODE_TTL_SECONDS)
        return code

    def complete(
        self,
        params: dict[str, str],
        expected_state: str,
        redirect_uri: str,
        scopes: tuple[str, ...] = (),
    ) -> UpstreamIdentity:
        """The persona behind the callback's code.

        :raises UpstreamDenied: the person cancelled (``error=access_denied``).
        :raises UpstreamProtocolError: wrong state, or an unknown, expired or reused code.
        """
        if not constant_time_equals(params.get("state", ""), expected_state):
            raise UpstreamProtocolError("state_mismatch")
        error = params.get("error")
        if error is not None:
            raise UpstreamDenied(error if error in DENIAL_ERRORS else "upstream_error")
        code = params.get("code", "")
        if not code:
            raise UpstreamProtocolError("code_missing")
        try:
            raw = self._store.consume(CODE_NAMESPACE, self._digest(code), CODE_TTL_SECONDS)
        except ReplayDetected as exc:
            raise UpstreamProtocolError("code_replayed") from exc
        if raw is None:
            raise UpstreamProtocolError("code_unknown")
        stored: dict[str, Any] = json.loads(raw)
        if not constant_time_equals(str(stored.get("state", "")), expected_state):
            raise UpstreamProtocolError("code_state_mismatch")
        return self.identity(str(stored["persona"]))

    def identity(self, persona_id: str) -> UpstreamIdentity:
        """The persona as an upstream identity, ages relative to the clock."""
        persona = PERSONAS[persona_id]
        today = datetime.fromtimestamp(self._clock.now(), tz=UTC).date()
        children = tuple(
            {
                "family_name": family,
                "given_name": given,
                "birthdate": birthdate_for_age(today, age).isoformat(),
            }
            for family, given, age in persona.children
        )
        return UpstreamIdentity(
            provider=NAME,
            subject=persona.upstream_subject,
            account_level=persona.account_level.value,
            amr=("pwd",),
            attributes={
                "family_name": persona.family_name,
                "given_name": persona.given_name,
                "middle_name": persona.middle_name,
                "birthdate": birthdate_for_age(today, persona.age).isoformat(),
                "email": f"{persona.persona_id}@example.invalid",
                "email_verified": True,
                # A made-up mobile in the +7 900 range the SMS limits allow.
                "phone_number": "+7900" + persona.upstream_subject.rsplit("-", 1)[-1],
                "phone_number_verified": True,
            },
            children=children,
        )

    def logout_url(self, post_logout_redirect_uri: str) -> str | None:
        return None

    def _digest(self, code: str) -> str:
        return keyed_digest(self._pepper, "fake_code", code)


_: type[UpstreamProvider] = FakeUpstream
