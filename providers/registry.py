"""The plug-in registry: names → factories. The only way a provider enters the gateway.

Config selects names (``[upstream] provider = "esia"``), never import paths (STYLE.md habit
14; the counter-example is SATOSA's ``pydoc.locate`` on module strings). A new upstream is
added here, in code, with a factory that builds it from :class:`UpstreamDeps`; the second
factors and their senders (:func:`build_factors`, :func:`build_senders`) likewise, from
:class:`FactorDeps`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr

from gateway.config.factors import EmailSettings
from gateway.config.factors import SmsSettings
from gateway.config.schema import GatewayConfig
from gateway.core.errors import ConfigError
from gateway.core.ports import Clock
from gateway.core.ports import EphemeralStore
from gateway.core.ports import Sealer
from gateway.core.ports import UnitOfWorkFactory
from gateway.core.ports import UpstreamProvider
from providers.factors.base import Lockout
from providers.factors.codes import OneTimeCodes
from providers.factors.login import LoginFactors
from providers.factors.login import Notices
from providers.factors.manage import ManagedFactors
from providers.factors.push import HttpPushRelay
from providers.factors.push import PushFactor
from providers.factors.push import PushRelay
from providers.factors.recovery import RecoveryCodes
from providers.factors.senders.base import EmailSender
from providers.factors.senders.base import SmsSender
from providers.factors.senders.http_sms import HttpSmsSender
from providers.factors.senders.outbox import DevOutbox
from providers.factors.senders.outbox import OutboxEmailSender
from providers.factors.senders.outbox import OutboxPushRelay
from providers.factors.senders.outbox import OutboxSmsSender
from providers.factors.senders.smtp import SmtpEmailSender
from providers.factors.sms_limits import SmsLimits
from providers.factors.totp import TotpFactor
from providers.upstream.esia.provider import build_esia_provider
from providers.upstream.fake import FakeUpstream


@dataclass(frozen=True)
class UpstreamDeps:
    """What an upstream factory may use."""

    config: GatewayConfig
    ephemeral: EphemeralStore
    clock: Clock
    pepper: bytes


UpstreamFactory = Callable[[UpstreamDeps], UpstreamProvider]


def _fake(deps: UpstreamDeps) -> UpstreamProvider:
    if deps.config.is_production:
        raise ConfigError(["[upstream] provider: 'fake' is refused in production mode"])
    return FakeUpstream(deps.ephemeral, deps.clock, deps.pepper, deps.config.server.issuer)


def _esia(deps: UpstreamDeps) -> UpstreamProvider:
    """ESIA from ``[esia]``: the signer from its key and certificate (the sandbox's demo
    files under ``<data_dir>/esia-sandbox`` when left empty, refused in production)."""
    return build_esia_provider(deps.config, deps.clock)


UPSTREAMS: Mapping[str, UpstreamFactory] = {
    "esia": _esia,
    "fake": _fake,
}
"""Every upstream the gateway can use, by the name config selects."""


def upstream_problems(config: GatewayConfig) -> list[str]:
    """What building the configured upstream would refuse (unreadable or missing ESIA key,
    certificate or trusted certificates, dev defaults in production), without stores: the
    same factory :func:`build_upstreams` calls, so ``vhod config check`` and start-up agree."""
    name = config.upstream.provider
    if name not in UPSTREAMS:
        return [f"[upstream] provider: no upstream named {name!r} is registered"]
    if name != "esia":
        return []  # the fake upstream reads nothing; production refuses it in the schema
    try:
        build_esia_provider(config)
    except ConfigError as err:
        return list(err.problems)
    return []


def build_upstreams(deps: UpstreamDeps) -> dict[str, UpstreamProvider]:
    """The upstream providers the config enables, by name.

    :raises ConfigError: for a name missing from :data:`UPSTREAMS`, or a provider that
        refuses the mode (``fake`` in production).
    """
    name = deps.config.upstream.provider
    factory = UPSTREAMS.get(name)
    if factory is None:
        raise ConfigError([f"[upstream] provider: no upstream named {name!r} is registered"])
    return {name: factory(deps)}


# --------------------------------------------------------------------------- second factors


@dataclass(frozen=True)
class FactorDeps:
    """What the second factors use."""

    config: GatewayConfig
    uow: UnitOfWorkFactory
    ephemeral: EphemeralStore
    sealer: Sealer
    clock: Clock
    pepper: bytes


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def build_senders(deps: FactorDeps) -> tuple[SmsSender, EmailSender]:
    """The SMS and e-mail senders ``[sms] sender`` / ``[email] sender`` name: the dev
    outbox (refused in production by the config) or the real gateways."""
    config = deps.config
    outbox = DevOutbox(deps.ephemeral, deps.clock)
    sms: SmsSender = (
        HttpSmsSender(config.sms.http, _secret(config.secrets.sms_auth))
        if config.sms.sender == "http"
        else OutboxSmsSender(outbox)
    )
    email: EmailSender = (
        SmtpEmailSender(config.email, _secret(config.secrets.smtp_password))
        if config.email.sender == "smtp"
        else OutboxEmailSender(outbox)
    )
    return sms, email


@dataclass(frozen=True)
class _Mechanics:
    """The factor mechanics the login and the management share."""

    sms: SmsSender
    email: EmailSender
    totp: TotpFactor
    push: PushFactor
    recovery: RecoveryCodes
    notices: Notices


def _mechanics(deps: FactorDeps) -> _Mechanics:
    config, store, clock, pepper = deps.config, deps.ephemeral, deps.clock, deps.pepper
    sms, email = build_senders(deps)
    relay = _push_relay(deps)
    return _Mechanics(
        sms=sms,
        email=email,
        totp=TotpFactor(config.totp, store, deps.sealer, clock),
        push=PushFactor(config.push, store, deps.sealer, clock, pepper, relay=relay),
        recovery=RecoveryCodes(deps.sealer, pepper, clock),
        notices=Notices(sms, email, config.sms.service_name),
    )


def build_factors(deps: FactorDeps) -> LoginFactors:
    """vhod's second factors for the login journey, from ``[sms]``, ``[email]``,
    ``[totp]``, ``[push]`` and ``[lockout]``."""
    config, store, clock, pepper = deps.config, deps.ephemeral, deps.clock, deps.pepper
    parts = _mechanics(deps)

    def codes(
        channel: Literal["sms", "email"], settings: SmsSettings | EmailSettings
    ) -> OneTimeCodes:
        return OneTimeCodes(
            store,
            clock,
            pepper,
            channel=channel,
            ttl_seconds=settings.code_ttl_seconds,
            max_attempts=settings.max_attempts,
            resend_cooldown_seconds=settings.resend_cooldown_seconds,
        )

    return LoginFactors(
        uow=deps.uow,
        sealer=deps.sealer,
        clock=clock,
        lockout=Lockout(store, clock, config.lockout, pepper),
        sms_codes=codes("sms", config.sms),
        email_codes=codes("email", config.email),
        sms_limits=SmsLimits(store, clock, pepper, config.sms.limits, config.sms.allowed_prefixes),
        sms=parts.sms,
        email=parts.email,
        totp=parts.totp,
        push=parts.push,
        recovery=parts.recovery,
        notices=parts.notices,
        service=config.sms.service_name,
    )


def build_factor_management(deps: FactorDeps) -> ManagedFactors:
    """The enrolled factors' management (``/account``, admin reset, push devices)."""
    parts = _mechanics(deps)
    return ManagedFactors(
        uow=deps.uow,
        clock=deps.clock,
        pepper=deps.pepper,
        sealer=deps.sealer,
        store=deps.ephemeral,
        totp=parts.totp,
        push=parts.push,
        recovery=parts.recovery,
        notices=parts.notices,
        base_url=deps.config.server.issuer,
        enrol_ttl_seconds=deps.config.push.enrol_token_ttl_seconds,
    )


def _push_relay(deps: FactorDeps) -> PushRelay | None:
    """``[push] relay_url`` when set; in dev mode without one, the dev outbox (a person
    trying ``make run`` sees the push message there); in production none (devices poll)."""
    if deps.config.push.relay_url:
        return HttpPushRelay(deps.config.push.relay_url)
    if deps.config.is_production:
        return None
    return OutboxPushRelay(DevOutbox(deps.ephemeral, deps.clock))
