"""The escalation policy: which targets each event goes to, parsed from
OPS_ALERT_ESCALATION_POLICY_JSON and the OPS_ALERT_* variables, validated before anything
starts (docs/alerts.md, "Policy"). Errors name the key and the reason, never a value: the
policy holds webhook URLs and routing keys, which are secrets."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.alerts.catalog import (
    DEFAULT_TIER_TARGETS,
    EVENTS,
    FALLBACK_CHAIN,
    TIER_NAMES,
)
from app.validation import error_lines, load_json
from app.vocabulary import AlertProvider as Provider
from app.vocabulary import AlertSeverity as Severity

TARGET_NAME = re.compile(r"^(generic|slack|pagerduty)(:[A-Za-z0-9#._-]{1,80})?$")
_SUFFIX = re.compile(r"^[A-Za-z0-9#._-]{1,80}$")
_EVENT_NAME = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")
ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
_HTTP_URL = re.compile(r"^https?://[^\s/?#]+(/[^\s]*)?$")


def check_url(value: str) -> str:
    """An http(s) URL; the error never repeats it (it may carry a token)."""
    if not _HTTP_URL.match(value):
        raise ValueError("must be an http:// or https:// URL")
    return value


def check_routing_key(value: str) -> str:
    if not ROUTING_KEY.match(value):
        raise ValueError("a PagerDuty routing key is 32 letters and digits")
    return value


def _shown(name: str, pattern: re.Pattern[str]) -> str:
    """A name from the policy, when it looks like one; else a placeholder (it may be a
    misplaced secret)."""
    return repr(name) if pattern.match(name) else "(not shown: not a name)"


class _Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True)

    flood_limit: int | None = Field(default=None, ge=1, le=100_000)
    repeat_interval_seconds: float | None = Field(default=None, gt=0, le=604_800)


class TierPolicy(_Limits):
    targets: tuple[str, ...] | None = Field(default=None, min_length=1, max_length=20)

    @field_validator("targets")
    @classmethod
    def _names(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for name in value or ():
            if not TARGET_NAME.match(name):
                raise ValueError(
                    f"{_shown(name, TARGET_NAME)} is not a target (generic, slack,"
                    " slack:<channel>, pagerduty, pagerduty:<name>)"
                )
        return value


class EventPolicy(TierPolicy):
    tier: Literal[1, 2, 3] | None = None
    severity: Severity | None = None


class Policy(_Limits):
    """OPS_ALERT_ESCALATION_POLICY_JSON, as written."""

    slack_channels: dict[str, str] = Field(default_factory=dict)
    pagerduty_routing_keys: dict[str, str] = Field(default_factory=dict)
    tiers: dict[Literal["1", "2", "3"], TierPolicy] = Field(default_factory=dict)
    events: dict[str, EventPolicy] = Field(default_factory=dict)
    fallback: tuple[str, ...] = ("generic",)
    source: str = Field(default="starpass", min_length=1, max_length=255)

    @field_validator("slack_channels")
    @classmethod
    def _channels(cls, value: dict[str, str]) -> dict[str, str]:
        return _named_secrets(value, "channel", check_url)

    @field_validator("pagerduty_routing_keys")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        return _named_secrets(value, "key", check_routing_key)

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: dict[str, EventPolicy]) -> dict[str, EventPolicy]:
        unknown = sorted(set(value) - set(EVENTS))
        if unknown:
            names = ", ".join(_shown(name, _EVENT_NAME) for name in unknown)
            raise ValueError(f"unknown event {names} (the catalog: docs/alerts.md)")
        return value

    @field_validator("fallback")
    @classmethod
    def _fallback_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return TierPolicy._names(value) or ()


def _named_secrets(value: dict[str, str], what: str, check: Callable[[str], str]) -> dict[str, str]:
    """Names (shown) of secrets (checked, never shown): Slack channels, routing keys."""
    for name, secret in value.items():
        if not _SUFFIX.match(name):
            raise ValueError(f"{what} {_shown(name, _SUFFIX)}: 1 to 80 of A-Z a-z 0-9 # . _ -")
        try:
            check(secret)
        except ValueError as exc:
            raise ValueError(f"{what} {name!r}: {exc}") from None
    return value


def parse_policy(raw: str) -> Policy:
    """The policy, or a ValueError listing every problem as `key.path: reason`."""
    data = load_json(raw)
    if not isinstance(data, dict):
        raise ValueError("must be a JSON object")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise ValueError("; ".join(error_lines(exc))) from None


@dataclass(frozen=True)
class Target:
    """Where a target name delivers. The URL and the key are secrets: never logged; the
    fingerprint tells which one is configured without showing it."""

    name: str
    provider: Provider
    url: str = field(repr=False)
    routing_key: str | None = field(default=None, repr=False)

    @property
    def channel(self) -> str | None:
        """The Slack channel a `slack:<channel>` target names (legacy webhooks honour it)."""
        if self.provider == "slack" and ":" in self.name:
            return self.name.split(":", 1)[1]
        return None

    @property
    def fingerprint(self) -> str:
        secret = f"{self.url}\n{self.routing_key or ''}".encode()
        return hashlib.sha256(secret).hexdigest()[:8]


@dataclass(frozen=True)
class Route:
    """What becomes of one event: its tier, its severity (None: as raised), its targets, its
    flood control (None: the database's settings)."""

    event: str
    tier: int
    severity: Severity | None
    targets: tuple[str, ...]
    flood_limit: int | None
    repeat_interval_seconds: float | None

    @property
    def tier_name(self) -> str:
        return TIER_NAMES[self.tier]


@dataclass(frozen=True)
class Routing:
    targets: dict[str, Target]
    routes: dict[str, Route]
    fallback: tuple[str, ...]
    source: str

    def route(self, event: str) -> Route:
        """The event's route; an event the catalog does not know (raised by a newer database)
        is routed as chat."""
        known = self.routes.get(event)
        if known is not None:
            return known
        return Route(event, 2, None, _configured((), 2, set(self.targets)), None, None)

    def fallback_for(self, target: str) -> str | None:
        """Where a target's alerts go when it fails for good: the first configured fallback
        that is another target."""
        return next((t for t in self.fallback if t != target and t in self.targets), None)


def _configured(wanted: tuple[str, ...], tier: int, configured: set[str]) -> tuple[str, ...]:
    chosen = tuple(t for t in (wanted or DEFAULT_TIER_TARGETS[tier]) if t in configured)
    if chosen:
        return chosen
    return tuple(t for t in FALLBACK_CHAIN if t in configured)[:1]


def build_routing(
    *,
    webhook_url: str | None,
    slack_webhook_url: str | None,
    pagerduty_routing_key: str | None,
    pagerduty_events_url: str = PAGERDUTY_EVENTS_URL,
    policy: Policy | None = None,
) -> Routing | None:
    """Every target's route from the configuration, or None when no target is configured (no
    dispatcher then). Raises ValueError naming what the policy asks for but is not
    configured."""
    policy = policy or Policy()
    targets: dict[str, Target] = {}
    if webhook_url:
        targets["generic"] = Target("generic", "generic", webhook_url)
    if slack_webhook_url:
        targets["slack"] = Target("slack", "slack", slack_webhook_url)
    for channel, url in policy.slack_channels.items():
        targets[f"slack:{channel}"] = Target(f"slack:{channel}", "slack", url)
    if pagerduty_routing_key:
        targets["pagerduty"] = Target(
            "pagerduty", "pagerduty", pagerduty_events_url, pagerduty_routing_key
        )
    for name, key in policy.pagerduty_routing_keys.items():
        targets[f"pagerduty:{name}"] = Target(
            f"pagerduty:{name}", "pagerduty", pagerduty_events_url, key
        )
    problems = _unconfigured(policy, set(targets))
    if problems:
        raise ValueError("; ".join(problems))
    if not targets:
        return None
    routes: dict[str, Route] = {}
    for name, event in EVENTS.items():
        override = policy.events.get(name, EventPolicy())
        tier = override.tier or event.tier
        tier_policy = policy.tiers.get(str(tier), TierPolicy())  # type: ignore[call-overload]
        wanted = override.targets or tier_policy.targets or ()
        routes[name] = Route(
            event=name,
            tier=tier,
            severity=override.severity,
            targets=_configured(wanted, tier, set(targets)),
            flood_limit=_first(override.flood_limit, tier_policy.flood_limit, policy.flood_limit),
            repeat_interval_seconds=_first(
                override.repeat_interval_seconds,
                tier_policy.repeat_interval_seconds,
                policy.repeat_interval_seconds,
            ),
        )
    return Routing(targets, routes, policy.fallback, policy.source)


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


_NEEDS = {
    "generic": "OPS_ALERT_WEBHOOK_URL is not set",
    "slack": "OPS_ALERT_SLACK_WEBHOOK_URL is not set",
    "pagerduty": "OPS_ALERT_PAGERDUTY_ROUTING_KEY is not set",
}


def _unconfigured(policy: Policy, configured: set[str]) -> list[str]:
    """`key.path: why` for each target the policy names that nothing configures."""
    named: list[tuple[str, str]] = [
        (f"tiers.{tier}.targets", t) for tier, p in policy.tiers.items() for t in p.targets or ()
    ]
    named += [
        (f"events.{event}.targets", t)
        for event, p in policy.events.items()
        for t in p.targets or ()
    ]
    if "fallback" in policy.model_fields_set:
        named += [(f"fallback[{i}]", t) for i, t in enumerate(policy.fallback)]
    problems = []
    for where, target in named:
        if target in configured:
            continue
        if target in _NEEDS:
            why = _NEEDS[target]
        else:
            provider, suffix = target.split(":", 1)
            table = "slack_channels" if provider == "slack" else "pagerduty_routing_keys"
            why = f"{suffix!r} is not in {table}"
        problems.append(f"{where}: target {target!r} is not configured ({why})")
    return problems
