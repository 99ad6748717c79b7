"""Second-factor sections of the configuration: TOTP, push, SMS (its HTTP gateway and its
anti-pumping limits), e-mail codes and the lockout around every verification.

``GatewayConfig`` (``gateway.config.schema``) holds them as ``[totp]``, ``[push]``, ``[sms]``
(``[sms.http]``, ``[sms.limits]``), ``[email]`` and ``[lockout]``. The same rules as for every
section hold: ``extra="forbid"``, frozen, the unit in the name of a duration.
"""

from __future__ import annotations

from typing import Annotated
from typing import Literal

from pydantic import Field
from pydantic import field_validator
from pydantic import model_validator

from gateway.config.section import Section


class TotpSettings(Section):
    """TOTP authenticator apps (RFC 6238; SECURITY.md T77-T79). Six digits, SHA-1 (what the
    apps support), 30-second steps; codes one step either side are accepted."""

    issuer: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[^:]+$")] = "vhod"
    """The issuer name the app shows next to the code (no ``:``)."""
    digits: Literal[6] = 6
    period_seconds: Literal[30] = 30
    window: Annotated[int, Field(ge=0, le=1)] = 1
    """Steps accepted either side of the current one (RFC 6238 §5.2: at most one)."""


class PushSettings(Section):
    """Push approval on an enrolled device, with number matching (SECURITY.md T80-T82)."""

    challenge_ttl_seconds: Annotated[int, Field(ge=30, le=600)] = 120
    max_pending: Annotated[int, Field(ge=1, le=3)] = 1
    """Outstanding challenges per account."""
    max_per_window: Annotated[int, Field(ge=1, le=20)] = 3
    window_seconds: Annotated[int, Field(ge=60, le=86400)] = 600
    deny_cooldown_seconds: Annotated[int, Field(ge=0, le=86400)] = 600
    """No push for this long after the person pressed "Deny / not me"."""
    enrol_token_ttl_seconds: Annotated[int, Field(ge=60, le=3600)] = 600
    relay_url: str = ""
    """Optional push relay: vhod POSTs ``{"challenge_id": …}`` there (nothing else)."""


class SmsHttpSettings(Section):
    """A generic HTTP SMS gateway (SMS.ru, SMSC and alike): one request per message."""

    url: str = ""
    """Where to send; required when ``[sms] sender = "http"`` (https in production)."""
    method: Literal["POST", "GET"] = "POST"
    body_format: Literal["form", "json"] = "form"
    """How ``body_template`` is sent: form fields (or query for GET) or a JSON object."""
    body_template: dict[str, str] = Field(default_factory=lambda: {"to": "{to}", "msg": "{text}"})
    """Fields of the request; in each value ``{to}`` becomes the E.164 number
    (``+79161234567``), ``{to_digits}`` the same without ``+``, ``{text}`` the message."""
    auth_header: str = ""
    """Header carrying ``[secrets] sms_auth`` (e.g. ``Authorization``); empty: none."""
    success_field: str = ""
    """A top-level JSON field of the answer that must equal ``success_value``; empty: the
    status code (2xx) alone decides."""
    success_value: str = ""
    connect_timeout_seconds: Annotated[float, Field(gt=0, le=30)] = 3.0
    read_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0

    @field_validator("url")
    @classmethod
    def _url_shape(cls, v: str) -> str:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v


class SmsLimitSettings(Section):
    """Anti-pumping limits checked before every SMS (SECURITY.md T85–T88)."""

    per_number_per_minute: Annotated[int, Field(ge=1, le=10)] = 1
    per_number_per_day: Annotated[int, Field(ge=1, le=50)] = 5
    per_account_per_hour: Annotated[int, Field(ge=1, le=100)] = 5
    per_account_per_day: Annotated[int, Field(ge=1, le=200)] = 10
    per_ip_per_hour: Annotated[int, Field(ge=1, le=10000)] = 20
    per_session: Annotated[int, Field(ge=1, le=20)] = 3
    """Per login journey (counted for an hour)."""
    per_prefix_per_hour: Annotated[int, Field(ge=1, le=10000)] = 10
    """Sends to numbers sharing a prefix (the number without its last four digits)."""
    global_per_hour: Annotated[int, Field(ge=1)] = 500
    global_per_day: Annotated[int, Field(ge=1)] = 5000


class SmsSettings(Section):
    """One-time codes by SMS (``[sms]``, ``[sms.http]``, ``[sms.limits]``)."""

    sender: Literal["outbox", "http"] = "outbox"
    """``outbox`` (dev: the dev outbox page; refused in production) or ``http``."""
    code_ttl_seconds: Annotated[int, Field(ge=30, le=600)] = 300
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 5
    """Wrong guesses per code; then the code is dead."""
    resend_cooldown_seconds: Annotated[int, Field(ge=10, le=600)] = 60
    allowed_prefixes: tuple[str, ...] = ("+79",)
    """E.164 prefixes SMS may go to; the default is Russian mobile numbers only."""
    service_name: str = "vhod"
    """Named in the message: «Код входа в vhod: 123456. Никому его не сообщайте.»"""
    http: SmsHttpSettings = SmsHttpSettings()
    limits: SmsLimitSettings = SmsLimitSettings()

    @field_validator("allowed_prefixes")
    @classmethod
    def _prefix_shape(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for prefix in v:
            if not (prefix.startswith("+") and prefix[1:].isdigit() and len(prefix) >= 2):
                raise ValueError(f"{prefix!r} is not an E.164 prefix like '+79'")
        return v

    @model_validator(mode="after")
    def _http_needs_url(self) -> SmsSettings:
        if self.sender == "http" and not self.http.url:
            raise ValueError("sender = 'http' needs [sms.http] url")
        return self


class EmailSettings(Section):
    """One-time codes by e-mail (``[email]``)."""

    sender: Literal["outbox", "smtp"] = "outbox"
    """``outbox`` (dev; refused in production) or ``smtp``."""
    code_ttl_seconds: Annotated[int, Field(ge=30, le=600)] = 300
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 5
    resend_cooldown_seconds: Annotated[int, Field(ge=10, le=600)] = 60
    from_address: str = "vhod@localhost"
    smtp_host: str = ""
    """Required when ``sender = "smtp"``."""
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    smtp_security: Literal["starttls", "tls", "plain"] = "starttls"
    """``plain`` sends in the clear; production mode refuses it."""
    smtp_username: str = ""
    """Empty: no login; the password is ``[secrets] smtp_password``."""
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0
    service_name: str = "vhod"

    @model_validator(mode="after")
    def _smtp_needs_host(self) -> EmailSettings:
        if self.sender == "smtp" and not self.smtp_host:
            raise ValueError("sender = 'smtp' needs smtp_host")
        return self


class LockoutSettings(Section):
    """Regulation of second-factor guessing (NIST 800-63B §5.2.2; SECURITY.md T75)."""

    max_failures: Annotated[int, Field(ge=1, le=20)] = 5
    """Failures of one factor of one account within ``window_seconds`` before a lock."""
    max_account_failures: Annotated[int, Field(ge=1, le=50)] = 10
    """Failures of all factors of one account within ``window_seconds`` before a lock."""
    window_seconds: Annotated[int, Field(ge=10, le=86400)] = 300
    ban_seconds: Annotated[int, Field(ge=1, le=3600)] = 60
    """The first lock; each further lock doubles it, up to ``max_ban_seconds``."""
    max_ban_seconds: Annotated[int, Field(ge=1, le=86400)] = 3600
    max_consecutive_failures: Annotated[int, Field(ge=1, le=100)] = 100
    """Failures without a success (across locks) before the long lock; NIST: ≤ 100."""
    hard_lock_seconds: Annotated[int, Field(ge=60, le=7 * 86400)] = 86400
    memory_seconds: Annotated[int, Field(ge=60, le=30 * 86400)] = 86400
    """How long back-off levels and the failure streak are remembered."""

    @model_validator(mode="after")
    def _ban_bounds(self) -> LockoutSettings:
        if self.ban_seconds > self.max_ban_seconds:
            raise ValueError("ban_seconds must not exceed max_ban_seconds")
        return self
