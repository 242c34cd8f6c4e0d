"""All settings in one typed object, read from the environment and a git-ignored `.env`."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.alerts.policy import (
    PAGERDUTY_EVENTS_URL,
    Routing,
    build_routing,
    check_routing_key,
    check_url,
    parse_policy,
)
from app.libpq import libpq_option
from app.validation import error_lines, error_reasons, load_json

_CHECKOUT = Path(__file__).resolve().parent.parent
# A checkout (the editable install of `make setup`, `python -m`): its root, where `.env` and
# `var/pg` live. Installed from a wheel: the working directory, never site-packages.
PROJECT_ROOT = _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else Path.cwd()


def sql_dir() -> Path:
    """The SQL sources (bootstrap, migrations, function files, grants) as package data:
    `app/sql` is a link to `db/` in a checkout and a copy of it in a wheel."""
    root = resources.files("app").joinpath("sql")
    if not isinstance(root, Path) or not root.joinpath("bootstrap.sql").is_file():
        raise RuntimeError(f"starpass: the SQL files are missing from the package ({root})")
    return root.resolve()  # in a checkout: db/, so messages name db/functions/...


MIN_PEPPER_BYTES = 32  # whitespace not counted
MIN_PEPPER_DISTINCT_CHARS = (
    8  # catches placeholders ("x" * 32, spaces); any generated secret passes
)
MIN_TOKEN_CHARS = 32
# The scopes a token in INTERNAL_API_TOKENS_JSON may carry.
KNOWN_SCOPES = frozenset(
    {"promo:redeem", "promo:admin", "metrics", "purchases:refund", "audit:read"}
)
# What a scope name looks like; anything else in `scopes` may be a misplaced secret: not shown.
_SCOPE_NAME = re.compile(r"^[a-z][a-z_]{0,31}(:[a-z_]{1,32})?$")
# A problem `type` is `<base>#<code>`: the base is a URI (or a relative reference) to
# docs/errors.md, without a fragment, query, blank or control character.
DEFAULT_PROBLEM_TYPE_BASE = "docs/errors.md"
PROBLEM_TYPE_BASE_PATTERN = r"^[A-Za-z0-9._~:/@!$&'()*+,;=%-]{1,500}$"


class ApiToken(BaseModel):
    """One internal API caller: its name becomes the audit actor."""

    # Validation errors never echo the input: it may be the token.
    model_config = ConfigDict(hide_input_in_errors=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    token: SecretStr
    scopes: frozenset[str]

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < MIN_TOKEN_CHARS:
            raise ValueError(f"a token must be at least {MIN_TOKEN_CHARS} characters")
        return value

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, value: frozenset[str]) -> frozenset[str]:
        unknown = value - KNOWN_SCOPES
        if unknown:
            shown = sorted(
                s if _SCOPE_NAME.match(s) else "(not shown: no scope name)" for s in unknown
            )
            raise ValueError(
                f"unknown scope {', '.join(shown)}; known: {', '.join(sorted(KNOWN_SCOPES))}"
            )
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=PROJECT_ROOT / ".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,  # errors name the variable, never its value
    )

    # Application database (role starpass_app). Unset: the embedded cluster.
    database_url: str | None = None
    # Superuser or owner URL for migrations. Unset: DATABASE_URL, else the embedded cluster.
    database_admin_url: str | None = None
    # The admin API's connection, as role starpass_admin. Unset: DATABASE_URL with that user
    # (password from ~/.pgpass or PGPASSFILE), else the embedded cluster.
    starpass_admin_database_url: str | None = None
    # A hot standby for the read-only admin endpoints (GET campaign(s), GET throttle), as
    # starpass_admin; they may lag the primary by the replication delay. Writes never use it.
    # Unset: those endpoints read the primary through the admin pool.
    database_replica_url: str | None = None
    promo_secret_pepper: SecretStr | None = None
    # During a pepper rotation: the pepper codes created before it were hashed with.
    promo_secret_pepper_previous: SecretStr | None = None
    internal_api_tokens_json: str = "[]"

    # Embedded PostgreSQL (ignored when DATABASE_URL is set).
    starpass_db_dir: Path = PROJECT_ROOT / "var" / "pg"
    starpass_db_port: int = Field(default=54329, ge=1024, le=65535)
    starpass_pg_bindir: Path = Path("/usr/lib/postgresql/15/bin")

    starpass_db_pool_min: int = Field(default=1, ge=0)
    starpass_db_pool_max: int = Field(default=10, ge=1)
    starpass_admin_pool_max: int = Field(default=3, ge=1)
    # How long a request waits for a pool connection before `503 overloaded`; at most this many
    # wait at once (0: no bound), the rest are refused at once (docs/runbooks/database.md).
    starpass_db_pool_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    starpass_db_pool_max_waiting: int = Field(default=1000, ge=0)
    # A request body must arrive within this time (408 otherwise).
    starpass_http_body_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # An idle keep-alive connection is closed after this time; it also bounds how long a client
    # may take from connecting to sending its request line and headers (slow clients).
    starpass_http_keepalive_timeout_seconds: float = Field(default=75.0, gt=0, le=3600)
    starpass_log_level: str = "INFO"
    # Where docs/errors.md is read: a problem's `type` is `<this>#<code>`, an anchor of that
    # page. The default is the file's path in the repository (a relative reference).
    starpass_problem_type_base: str = Field(
        default=DEFAULT_PROBLEM_TYPE_BASE, pattern=PROBLEM_TYPE_BASE_PATTERN
    )

    # The Telegram bot (mounted on `starpass serve` at /telegram/webhook). Without a token,
    # `starpass serve` runs the bot against the local Bot API sandbox (app/bot/sandbox.py).
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    public_base_url: str | None = None
    # Where the sandbox listens when it runs inside `starpass serve`.
    starpass_sandbox_port: int = Field(default=8081, ge=1024, le=65535)

    # Ops alerts (docs/alerts.md): the targets (secrets: URLs with tokens, routing keys), the
    # escalation policy, the dispatcher's connection and timings.
    ops_alert_webhook_url: SecretStr | None = None
    ops_alert_slack_webhook_url: SecretStr | None = None
    ops_alert_pagerduty_routing_key: SecretStr | None = None
    ops_alert_pagerduty_events_url: str = PAGERDUTY_EVENTS_URL
    ops_alert_escalation_policy_json: SecretStr | None = None
    # The dispatcher's connection, as role starpass_alerts (unset: as for the admin URL).
    starpass_alerts_database_url: str | None = None
    # Polling is the source of truth (a NOTIFY only wakes the dispatcher early).
    starpass_alerts_poll_seconds: float = Field(default=5.0, gt=0, le=300)
    # One HTTP request may take this long; a claim's lease must outlast it.
    starpass_alerts_http_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    starpass_alerts_lease_seconds: int = Field(default=60, ge=1, le=3600)
    # A delivery is dead after this many attempts (then it falls back, see the policy).
    starpass_alerts_max_attempts: int = Field(default=10, ge=1, le=100)
    # Retries back off exponentially from the base up to the cap, with jitter.
    starpass_alerts_backoff_base_seconds: float = Field(default=5.0, gt=0, le=3600)
    starpass_alerts_backoff_max_seconds: float = Field(default=900.0, gt=0, le=86400)

    @field_validator(
        "ops_alert_webhook_url",
        "ops_alert_slack_webhook_url",
        "ops_alert_pagerduty_routing_key",
        "ops_alert_escalation_policy_json",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("ops_alert_webhook_url", "ops_alert_slack_webhook_url")
    @classmethod
    def _alert_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_url(value.get_secret_value())
        return value

    @field_validator("ops_alert_pagerduty_events_url")
    @classmethod
    def _events_url(cls, value: str) -> str:
        return check_url(value)

    @field_validator("ops_alert_pagerduty_routing_key")
    @classmethod
    def _routing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_routing_key(value.get_secret_value())
        return value

    @field_validator("ops_alert_escalation_policy_json")
    @classmethod
    def _policy(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        policy = parse_policy(value.get_secret_value()) if value is not None else None
        targets = (
            "ops_alert_webhook_url",
            "ops_alert_slack_webhook_url",
            "ops_alert_pagerduty_routing_key",
            "ops_alert_pagerduty_events_url",
        )
        if policy is not None and all(name in info.data for name in targets):
            # What the policy routes to must be configured (each invalid target variable is
            # reported on its own, above).
            _routing(*(_secret(info.data[name]) for name in targets), value)
        return value

    @field_validator("starpass_alerts_lease_seconds")
    @classmethod
    def _lease_outlasts_request(cls, value: int, info: ValidationInfo) -> int:
        timeout = info.data.get("starpass_alerts_http_timeout_seconds")
        if timeout is not None and value <= timeout:
            raise ValueError("the lease must be longer than STARPASS_ALERTS_HTTP_TIMEOUT_SECONDS")
        return value

    @property
    def alert_routing(self) -> Routing | None:
        """The alert targets and each event's route; None when no target is configured."""
        return _routing(
            _secret(self.ops_alert_webhook_url),
            _secret(self.ops_alert_slack_webhook_url),
            _secret(self.ops_alert_pagerduty_routing_key),
            self.ops_alert_pagerduty_events_url,
            self.ops_alert_escalation_policy_json,
        )

    @field_validator("promo_secret_pepper", "promo_secret_pepper_previous")
    @classmethod
    def _pepper_strong_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        pepper = value.get_secret_value()
        if len("".join(pepper.split()).encode()) < MIN_PEPPER_BYTES:
            raise ValueError(
                f"a pepper must be at least {MIN_PEPPER_BYTES} bytes, whitespace not counted"
            )
        if len({c for c in pepper if not c.isspace()}) < MIN_PEPPER_DISTINCT_CHARS:
            raise ValueError(
                f"a pepper needs at least {MIN_PEPPER_DISTINCT_CHARS} different characters"
                " (this looks like a placeholder)"
            )
        return value

    def pepper_settings(self) -> list[tuple[str, str]]:
        """The pepper(s) as (setting, value): `promo.pepper`, and `promo.pepper_previous`
        during a rotation. The service sets them per transaction (app/db/pool.py)."""
        return [
            (name, secret.get_secret_value())
            for name, secret in (
                ("promo.pepper", self.promo_secret_pepper),
                ("promo.pepper_previous", self.promo_secret_pepper_previous),
            )
            if secret is not None
        ]

    def pepper_options(self) -> str:
        """libpq startup options that give a whole session the pepper(s), for an operator's
        `starpass db psql` on a direct connection (a pooler in transaction mode drops them)."""
        return " ".join(libpq_option(name, value) for name, value in self.pepper_settings())

    @field_validator("internal_api_tokens_json")
    @classmethod
    def _tokens_parse(cls, value: str) -> str:
        cls.parse_tokens(value)
        return value

    @staticmethod
    def parse_tokens(raw: str) -> list[ApiToken]:
        """The tokens, or a ValueError that describes every bad entry without any value."""
        data = load_json(raw)
        if not isinstance(data, list):
            raise ValueError("must be a JSON array of tokens")
        tokens: list[ApiToken] = []
        problems: list[str] = []
        for number, item in enumerate(data, start=1):
            try:
                tokens.append(ApiToken.model_validate(item))
            except ValidationError as exc:
                problems += [f"entry {number}: {line}" for line in error_lines(exc)]
        if problems:
            raise ValueError("; ".join(problems))
        names = [t.name for t in tokens]
        secrets_ = [t.token.get_secret_value() for t in tokens]
        if len(set(names)) != len(names) or len(set(secrets_)) != len(secrets_):
            raise ValueError("repeats a token name or a token")
        return tokens

    @property
    def api_tokens(self) -> tuple[ApiToken, ...]:
        # Read on every request: parsed once per distinct value, not per call.
        return _parsed_tokens(self.internal_api_tokens_json)


def describe_settings_error(exc: ValidationError) -> list[str]:
    """One line per environment variable with its reasons; never a value."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    reasons: dict[str, list[str]] = {}
    for where, why in error_reasons(exc):
        variable = (prefix + where[0]).upper() if where else "configuration"
        reasons.setdefault(variable, []).append(
            f"{'.'.join(where[1:])}: {why}" if where[1:] else why
        )
    return [f"{variable}: {'; '.join(why)}" for variable, why in reasons.items()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


@lru_cache(maxsize=4)
def _parsed_tokens(raw: str) -> tuple[ApiToken, ...]:
    return tuple(Settings.parse_tokens(raw))


def _secret(value: SecretStr | str | None) -> str | None:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value


@lru_cache(maxsize=4)
def _routing(
    webhook_url: str | None,
    slack_webhook_url: str | None,
    pagerduty_routing_key: str | None,
    pagerduty_events_url: str | None,
    policy_json: SecretStr | None,
) -> Routing | None:
    return build_routing(
        webhook_url=webhook_url,
        slack_webhook_url=slack_webhook_url,
        pagerduty_routing_key=pagerduty_routing_key,
        pagerduty_events_url=pagerduty_events_url or PAGERDUTY_EVENTS_URL,
        policy=parse_policy(policy_json.get_secret_value()) if policy_json is not None else None,
    )
