"""The configuration schema: every option and its default, in one place (the second-factor
sections are in ``gateway.config.factors``; ``GatewayConfig`` here holds them all).

Sections are pydantic models with ``extra="forbid"`` (typos are errors) and ``frozen``.
Durations carry their unit in the name (``*_seconds``). Secrets are ``SecretStr`` and come
from the environment or ``*_file`` paths, never from the TOML file in production (see
``gateway.config.loader``). ``validate_mode`` holds the production-mode refusals.
"""

from __future__ import annotations

import enum
from typing import Annotated
from typing import Literal

from pydantic import Field
from pydantic import SecretStr
from pydantic import field_validator
from pydantic import model_validator

from gateway.config.applications import DEFAULT_SUPPORT
from gateway.config.applications import ApplicationSettings
from gateway.config.applications import SupportContact
from gateway.config.applications import check_support
from gateway.config.factors import EmailSettings
from gateway.config.factors import LockoutSettings
from gateway.config.factors import PushSettings
from gateway.config.factors import SmsSettings
from gateway.config.factors import TotpSettings
from gateway.config.section import Section
from gateway.core.factors import ACR_ESIA as ACR_ESIA  # re-exported
from gateway.core.factors import ACR_ESIA_MFA as ACR_ESIA_MFA  # re-exported
from gateway.core.factors import ACR_VALUES as ACR_VALUES  # re-exported

DEV_SECRET_PREFIX = "dev-only:"
"""Secrets generated for dev mode carry this prefix; production mode refuses them."""


class Mode(enum.StrEnum):
    DEV = "dev"
    PRODUCTION = "production"


class ServerSettings(Section):
    server: Literal["granian", "gunicorn"] = "granian"
    """The HTTP server ``vhod serve`` runs: granian (Rust, WSGI interface; the default) or
    gunicorn (gthread workers). ``vhod serve --server`` overrides it."""
    issuer: str = "http://127.0.0.1:8080"
    """The OpenID issuer: https and no trailing slash in production."""
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    workers: Annotated[int, Field(ge=1, le=64)] = 2
    threads: Annotated[int, Field(ge=1, le=64)] = 4
    data_dir: str = "var"
    """Where the embedded default keeps its data; ``VHOD_DATA_DIR`` overrides it."""
    trusted_proxy_hops: Annotated[int, Field(ge=0, le=5)] = 0
    """How many reverse proxies in front of vhod may set ``X-Forwarded-For``."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed to call discovery, JWKS and the token endpoint from a browser."""
    request_timeout_seconds: Annotated[int, Field(ge=1, le=300)] = 30
    """gunicorn only (its worker ``--timeout``); granian has no equivalent."""
    max_in_flight: Annotated[int, Field(ge=1, le=512)] = 16
    """Requests one worker admits at once: ``threads`` of them work, the others wait for a
    working slot; past it, ``503`` + ``Retry-After`` (SECURITY.md §5 R14). The worker runs
    twice as many threads, the spares answering the shed."""
    admission_wait_seconds: Annotated[float, Field(ge=0, le=30)] = 2.0
    """How long a request waits for a working slot before ``503`` + ``Retry-After``."""

    @model_validator(mode="after")
    def _in_flight_covers_threads(self) -> ServerSettings:
        if self.max_in_flight < self.threads:
            raise ValueError("max_in_flight must be at least threads")
        return self

    @field_validator("issuer")
    @classmethod
    def _issuer_shape(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        if v.endswith("/") or "?" in v or "#" in v:
            raise ValueError("must have no trailing slash, query or fragment")
        return v


class StoreSettings(Section):
    database_url: str = ""
    """SQLAlchemy URL of the durable store; empty means SQLite in the data dir."""
    ephemeral_url: str = "sql"
    """``redis://…`` (production), ``sql`` (embedded default), ``memory://`` (tests only)."""
    redis_prefix: str = "vhod"
    operation_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 2.0
    pool_size: Annotated[int, Field(ge=1, le=200)] = 10
    retry_after_seconds: Annotated[int, Field(ge=1, le=3600)] = 5
    """``Retry-After`` sent with a 503 when a store is unavailable."""

    @field_validator("ephemeral_url")
    @classmethod
    def _ephemeral_scheme(cls, v: str) -> str:
        if v != "sql" and not v.startswith(("redis://", "rediss://", "unix://", "memory://")):
            raise ValueError("must be 'sql', 'memory://' or a redis:// URL")
        return v


class SecretSettings(Section):
    """Server secrets. Set through ``VHOD__SECRETS__<NAME>`` or ``…_FILE`` variables."""

    pepper: SecretStr | None = None
    """Key of the keyed digests of tokens, codes and client secrets."""
    key_encryption_key: SecretStr | None = None
    """32 bytes, base64url: wraps the data keys that seal personal data and private keys."""
    session_secret: SecretStr | None = None
    """Signs vhod's browser cookies (CSRF)."""
    blind_index_key: SecretStr | None = None
    """Key of the blind index used for equality lookups of identifiers."""
    sms_auth: SecretStr | None = None
    """Value of the SMS gateway's auth header (``[sms.http] auth_header``), if it needs one."""
    smtp_password: SecretStr | None = None
    """Password of ``[email] smtp_username`` on the SMTP server."""


class KeySettings(Section):
    id_token_alg: Literal["RS256", "ES256"] = "RS256"
    access_token_alg: Literal["RS256", "ES256"] = "ES256"
    rsa_bits: Literal[2048, 3072, 4096] = 2048
    retired_keep_seconds: Annotated[int, Field(ge=60)] = 7 * 24 * 3600
    """How long a retired key stays in JWKS (longer than any token it signed)."""


class OAuthSettings(Section):
    code_ttl_seconds: Annotated[int, Field(ge=10, le=600)] = 60
    access_token_ttl_seconds: Annotated[int, Field(ge=60, le=86400)] = 600
    id_token_ttl_seconds: Annotated[int, Field(ge=60, le=86400)] = 600
    refresh_idle_seconds: Annotated[int, Field(ge=300)] = 14 * 24 * 3600
    refresh_absolute_seconds: Annotated[int, Field(ge=300)] = 30 * 24 * 3600
    par_ttl_seconds: Annotated[int, Field(ge=5, le=600)] = 90
    leeway_seconds: Annotated[int, Field(ge=0, le=60)] = 30
    max_state_length: Annotated[int, Field(ge=64, le=4096)] = 1024
    max_nonce_length: Annotated[int, Field(ge=64, le=4096)] = 1024
    client_auth_failures_per_minute: Annotated[int, Field(ge=1)] = 20
    pairwise_subjects: bool = True

    @model_validator(mode="after")
    def _refresh_bounds(self) -> OAuthSettings:
        if self.refresh_idle_seconds > self.refresh_absolute_seconds:
            raise ValueError("refresh_idle_seconds must not exceed refresh_absolute_seconds")
        return self


class SessionSettings(Section):
    idle_seconds: Annotated[int, Field(ge=60, le=86400)] = 30 * 60
    absolute_seconds: Annotated[int, Field(ge=300, le=7 * 86400)] = 12 * 3600
    admin_idle_seconds: Annotated[int, Field(ge=60, le=86400)] = 15 * 60
    journey_ttl_seconds: Annotated[int, Field(ge=60, le=3600)] = 15 * 60
    fresh_login_seconds: Annotated[int, Field(ge=60, le=3600)] = 10 * 60
    """How recent a sign-in must be to change second factors on ``/account`` (T84)."""


class ScopeSettings(Section):
    """One entry of the scope catalogue (shown in discovery)."""

    claims: tuple[str, ...] = ()
    delegable: bool = False
    """May be used in a token that acts for a linked child."""
    min_acr: str = ACR_ESIA
    machine_only: bool = False
    """Only for a school system's own tokens (client credentials, e.g. ``roster``): never
    asked of a person, so ``/authorize`` refuses it and no consent page shows it."""
    description_ru: str = ""
    description_en: str = ""

    @field_validator("min_acr")
    @classmethod
    def _known_acr(cls, v: str) -> str:
        if v not in ACR_VALUES:
            raise ValueError(f"must be one of {', '.join(ACR_VALUES)}")
        return v


def _scope(
    ru: str, en: str, claims: tuple[str, ...] = (), delegable: bool = False, acr: str = ACR_ESIA
) -> ScopeSettings:
    return ScopeSettings(
        claims=claims, delegable=delegable, min_acr=acr, description_ru=ru, description_en=en
    )


DEFAULT_SCOPES: dict[str, ScopeSettings] = {
    "openid": _scope("Вход через vhod", "Sign in with vhod", ("sub",), delegable=True),
    "offline_access": _scope(
        "Доступ, когда вы не в сети", "Access while you are offline", delegable=True
    ),
    "profile": _scope(
        "Фамилия, имя, отчество и дата рождения",
        "Full name and date of birth",
        ("name", "family_name", "given_name", "middle_name", "birthdate"),
    ),
    "email": _scope("Адрес электронной почты", "E-mail address", ("email", "email_verified")),
    "phone": _scope(
        "Номер мобильного телефона",
        "Mobile phone number",
        ("phone_number", "phone_number_verified"),
    ),
    "diary": _scope(
        "Электронный дневник: оценки и посещаемость", "Diary: grades and attendance", delegable=True
    ),
    "schedule": _scope("Расписание уроков", "Timetable", delegable=True),
    "homework": _scope("Домашние задания", "Homework", delegable=True),
    "messages": _scope("Сообщения от школы", "Messages from school", delegable=True),
    "payments": _scope(
        "Платежи за школьные услуги",
        "Payments for school services",
        delegable=True,
        acr=ACR_ESIA_MFA,
    ),
    "meals": _scope("Школьное питание", "School meals", delegable=True),
    "clubs": _scope("Кружки и секции", "Clubs and activities", delegable=True),
    "documents": _scope(
        "Документы для школы", "Documents for school", delegable=True, acr=ACR_ESIA_MFA
    ),
    "children": _scope("Список ваших детей", "The list of your children", ("children",)),
    "child": _scope(
        "Действовать от имени ребёнка", "Act for one of your children", ("act",), delegable=True
    ),
    "roster": ScopeSettings(
        description_ru="Передавать списки учеников своих школ (для школьных систем)",
        description_en="Push the pupil rosters of its own schools (school systems)",
        machine_only=True,
    ),
}


class UpstreamSettings(Section):
    provider: Literal["esia", "fake"] = "fake"
    """Which upstream identity provider the journey uses. ``fake`` is for dev and tests
    only; production mode refuses it."""


EsiaTokenAlg = Literal["RS256", "GOST3410_2012_256"]


class EsiaSettings(Section):
    """vhod as ESIA's relying party (``providers.upstream.esia``; facts in ESIA.md).

    The defaults talk to the local ESIA sandbox of ``vhod dev`` (``[dev] sandbox_port``)
    with the demo system the sandbox registers on its first start. Each protocol fact that
    ESIA.md marks [unsure] is one option here (``protocol``, ``refresh_variant``,
    ``timestamp_utc``) so it can be changed without code.
    """

    base_url: str = "http://127.0.0.1:8081"
    """ESIA: ``https://esia.gosuslugi.ru`` (production), ``https://esia-portal1.test.gosuslugi.ru``
    (test). Endpoints are fixed paths under it (ESIA.md §1)."""
    issuer: str = "http://127.0.0.1:8081/"
    """``iss`` of ESIA's tokens: http with a trailing slash, e.g. ``http://esia.gosuslugi.ru/``,
    ``http://esia-portal1.test.gosuslugi.ru/`` (ESIA.md §1)."""
    client_id: str = "VHOD_DEV"
    """The mnemonic of vhod's information system on ESIA's technology portal."""
    certificate_path: str = ""
    """vhod's GOST R 34.10-2012 certificate registered on the technology portal (PEM or DER).
    Empty: the demo certificate the sandbox generates under ``<data_dir>/esia-sandbox``."""
    key_path: str = ""
    """Its private key (PKCS#8 PEM). Empty: the sandbox's demo key, as above."""
    signer: Literal["pure", "openssl"] = "pure"
    """How ``client_secret`` is signed: pure Python GOST, or OpenSSL with gost-engine."""
    protocol: Literal["v2", "v1"] = "v2"
    """``v2``: /aas/oauth2/v2/ac + /aas/oauth2/v3/te, raw signature + certificate hash (ESIA.md
    §2.4). ``v1``: /aas/oauth2/ac + /aas/oauth2/te, detached CMS (§2.2–2.3; legacy)."""
    refresh_variant: Literal["ili4", "ais"] = "ili4"
    """v3 refresh signed string [unsure, ESIA.md §3.1]: ``ili4`` signs
    client_id+scope+scope_org+timestamp+state+redirect_uri; ``ais`` signs
    client_id+scope+timestamp+state+refresh_token and sends no redirect_uri."""
    access_type: Literal["online", "offline"] = "online"
    """``offline`` asks ESIA for a refresh token; vhod needs none for a login."""
    connect_timeout_seconds: Annotated[float, Field(gt=0, le=5)] = 2.0
    read_timeout_seconds: Annotated[float, Field(gt=0, le=5)] = 5.0
    """Per request; POSTs are never retried (SECURITY.md T93)."""
    breaker_failure_threshold: Annotated[int, Field(ge=1, le=100)] = 5
    """Consecutive failures (timeouts, 5xx, ESIA-007007/007008) that open the circuit."""
    breaker_reset_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    """How long the circuit stays open before one trial request (half-open)."""
    trusted_certificates: tuple[str, ...] = ()
    """ESIA's token-signing certificates (PEM or DER paths; ``bundled:<name>`` for a file
    shipped in ``providers/upstream/esia/certs``). ESIA rotates them every spring: list the old
    and the new one. Empty: the sandbox's certificates under ``<data_dir>/esia-sandbox``."""
    token_algs: tuple[EsiaTokenAlg, ...] = ("RS256", "GOST3410_2012_256")
    """JWT algorithms accepted from ESIA (a per-system setting on the portal, ESIA.md §3.3)."""
    leeway_seconds: Annotated[int, Field(ge=0, le=300)] = 60
    """Clock leeway for ``exp`` / ``nbf`` / ``iat`` of ESIA's tokens."""
    timestamp_utc: bool = True
    """Send ``timestamp`` in UTC (``+0000``); ``false``: local time with its offset. Both are
    seen working [ESIA.md §2.1]."""
    clock_offset_seconds: Annotated[int, Field(ge=-600, le=600)] = 0
    """Added to our clock for ``timestamp`` when ESIA answers ESIA-007015 (clock skew)."""
    request_mobile: bool = True
    """Ask for the verified mobile number (scope ``mobile``): where SMS codes go (the SMS
    second factor is offered only to a number ESIA verified)."""
    request_email: bool = False
    """Ask for the verified e-mail address (scope ``email``): set to offer e-mail codes as a
    second factor (off by default: data minimisation)."""
    roster_matching: bool = True
    """Ask for the SNILS (scope ``snils``) to match pupils against school rosters."""

    @field_validator("base_url")
    @classmethod
    def _base_url_shape(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")) or v.endswith("/") or "?" in v:
            raise ValueError("must be an http(s) URL without a trailing slash or query")
        return v

    @field_validator("issuer")
    @classmethod
    def _esia_issuer_shape(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")) or not v.endswith("/"):
            raise ValueError("must be an http(s) URL ending with '/' (ESIA writes http://host/)")
        return v

    @field_validator("token_algs")
    @classmethod
    def _some_alg(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("list at least one algorithm")
        return v


class AdminSettings(Section):
    """The admin side (``/admin``, ``vhod policy``)."""

    require_second_factor: bool = True
    """Admins must have signed in with acr ``urn:vhod:acr:esia-mfa`` (ESIA plus a vhod
    second factor): the admin sign-in asks for it (a step-up in a fresh SSO session)."""
    policy_reload_seconds: Annotated[float, Field(ge=0, le=300)] = 5.0
    """How often each process checks for a newly applied rule-document version."""


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "json"


class DevSettings(Section):
    """Dev-only apps (ESIA sandbox, demo school, outbox). Refused in production mode."""

    enabled: bool = False
    sandbox_port: Annotated[int, Field(ge=1, le=65535)] = 8081
    school_port: Annotated[int, Field(ge=1, le=65535)] = 8082


class GatewayConfig(Section):
    mode: Mode = Mode.DEV
    server: ServerSettings = ServerSettings()
    store: StoreSettings = StoreSettings()
    secrets: SecretSettings = SecretSettings()
    keys: KeySettings = KeySettings()
    oauth: OAuthSettings = OAuthSettings()
    session: SessionSettings = SessionSettings()
    scopes: dict[str, ScopeSettings] = Field(default_factory=lambda: dict(DEFAULT_SCOPES))
    upstream: UpstreamSettings = UpstreamSettings()
    esia: EsiaSettings = EsiaSettings()
    admin: AdminSettings = AdminSettings()
    logging: LoggingSettings = LoggingSettings()
    dev: DevSettings = DevSettings()
    totp: TotpSettings = TotpSettings()
    push: PushSettings = PushSettings()
    sms: SmsSettings = SmsSettings()
    email: EmailSettings = EmailSettings()
    lockout: LockoutSettings = LockoutSettings()
    applications: ApplicationSettings = ApplicationSettings()
    support: dict[str, SupportContact] = Field(default_factory=lambda: dict(DEFAULT_SUPPORT))
    """Support contacts by region code (``[support.77]``) and ``[support.default]``."""

    @field_validator("support")
    @classmethod
    def _support_regions(cls, v: dict[str, SupportContact]) -> dict[str, SupportContact]:
        return check_support(v)

    @field_validator("scopes")
    @classmethod
    def _scope_names(cls, v: dict[str, ScopeSettings]) -> dict[str, ScopeSettings]:
        for name in v:
            if not name or any(c in name for c in ' "\\') or not name.isascii():
                raise ValueError(f"scope name {name!r} is not a valid OAuth scope token")
        if "openid" not in v:
            raise ValueError("the catalogue must contain 'openid'")
        return v

    @property
    def is_production(self) -> bool:
        return self.mode is Mode.PRODUCTION


def production_problems(config: GatewayConfig) -> list[str]:
    """What production mode refuses, one line per problem (empty in dev mode)."""
    if not config.is_production:
        return []
    problems: list[str] = []
    if not config.server.issuer.startswith("https://"):
        problems.append("[server] issuer: must be https in production mode")
    if config.store.ephemeral_url.startswith("memory://"):
        problems.append(
            "[store] ephemeral_url: the memory store is for tests; refused in production"
        )
    if config.upstream.provider == "fake":
        problems.append("[upstream] provider: 'fake' is for dev and tests; refused in production")
    if config.dev.enabled:
        problems.append("[dev] enabled: dev apps are refused in production mode")
    problems += _sender_problems(config)
    problems += _secret_problems(config)
    for name in ("pepper", "key_encryption_key", "session_secret", "blind_index_key"):
        value = getattr(config.secrets, name)
        if value is None:
            problems.append(
                f"[secrets] {name}: required in production "
                f"(set VHOD__SECRETS__{name.upper()} or VHOD__SECRETS__{name.upper()}_FILE)"
            )
        elif value.get_secret_value().startswith(DEV_SECRET_PREFIX):
            problems.append(f"[secrets] {name}: a dev-only secret is refused in production")
    return problems


def _secret_problems(config: GatewayConfig) -> list[str]:
    """Each secret has its own job: one value reused for two of them is refused."""
    seen: dict[str, str] = {}
    problems: list[str] = []
    for name in ("pepper", "key_encryption_key", "session_secret", "blind_index_key"):
        value = getattr(config.secrets, name)
        if value is None:
            continue
        other = seen.setdefault(value.get_secret_value(), name)
        if other != name:
            problems.append(f"[secrets] {name}: must differ from {other}")
    return problems


def _sender_problems(config: GatewayConfig) -> list[str]:
    """Production refuses the dev outbox senders and half-configured real ones."""
    problems: list[str] = []
    if config.sms.sender == "outbox":
        problems.append("[sms] sender: 'outbox' is for dev; refused in production (use 'http')")
    elif not config.sms.http.url.startswith("https://"):
        problems.append("[sms.http] url: an https URL is required in production")
    if config.email.sender == "outbox":
        problems.append("[email] sender: 'outbox' is for dev; refused in production (use 'smtp')")
    elif config.email.smtp_security == "plain":
        problems.append("[email] smtp_security: 'plain' is refused in production")
    return problems
