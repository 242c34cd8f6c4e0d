"""What each provider receives, and what its answer means (docs/alerts.md, "Providers").

- generic: the outbox row as JSON, the shape of `api.claim_alerts` (alert_id, event, severity,
  summary, details, dedup_key, created_at, attempts), plus action, resolves and tier;
- Slack incoming webhook: text (always, the notification fallback) and blocks (header,
  sections, context) within Slack's limits, channel for a `slack:<channel>` target;
- PagerDuty Events API v2: routing_key, event_action, dedup_key, payload (summary, source,
  severity, timestamp, component, group, class, custom_details).

Answers: 2xx delivered; 429 and 5xx (and 408), timeouts and network errors are retried
(Retry-After respected); any other status is permanent: dead, and the alerts fall back.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

from app.alerts.catalog import SEVERITIES, SUMMARY_EVENT, TIER_NAMES, severity_rank
from app.alerts.policy import Routing, Target

SLACK_MAX_BLOCKS = 50
SLACK_HEADER_CHARS = 150
SLACK_SECTION_CHARS = 3000
SLACK_TEXT_CHARS = 3000
PAGERDUTY_SUMMARY_CHARS = 1024
PAGERDUTY_DEDUP_CHARS = 255
PAGERDUTY_MAX_BYTES = 512 * 1024
SUMMARY_LISTED = 10  # alerts of a summary shown one by one
RETRY_AFTER_CAP_SECONDS = 3600.0
_SLACK_ERROR = re.compile(r"^[a-z_]{1,64}$")
# The generic shape, as api.claim_alerts returns an alert: kept for receivers built on it.
GENERIC_FIELDS = (
    "alert_id",
    "event",
    "severity",
    "summary",
    "details",
    "dedup_key",
    "created_at",
    "attempts",
)


@dataclass(frozen=True)
class Send:
    """One claimed send (api.claim_alert_deliveries): one alert, or a summary of several, to
    one target."""

    delivery_id: int
    target: str
    provider: str
    kind: str
    action: str
    dedup_key: str
    attempts: int
    created_at: datetime
    alerts: tuple[Mapping[str, Any], ...]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Send:
        return cls(
            delivery_id=row["delivery_id"],
            target=row["target"],
            provider=row["provider"],
            kind=row["kind"],
            action=row["action"],
            dedup_key=row["dedup_key"],
            attempts=row["attempts"],
            created_at=row["created_at"],
            alerts=tuple(row["alerts"] or ()),
        )

    @property
    def is_summary(self) -> bool:
        return self.kind == "summary"


@dataclass(frozen=True)
class Verdict:
    """What an answer means: delivered, retry (after at least `retry_after` seconds), or
    permanent. `error` is short and never holds a URL or a key."""

    delivered: bool
    retry: bool
    error: str
    retry_after: float | None = None
    status: int | None = None


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class View:
    """The alert (or summary) of a send as the policy presents it: severities overridden,
    tiers named."""

    def __init__(self, send: Send, routing: Routing) -> None:
        self.send = send
        self.routing = routing

    def severity(self, alert: Mapping[str, Any]) -> str:
        return self.routing.route(alert["event"]).severity or str(alert["severity"])

    def tier(self, alert: Mapping[str, Any]) -> int:
        return self.routing.route(alert["event"]).tier

    @property
    def alert(self) -> Mapping[str, Any]:
        return self.send.alerts[0]

    @property
    def event(self) -> str:
        return SUMMARY_EVENT if self.send.is_summary else str(self.alert["event"])

    @property
    def top_severity(self) -> str:
        return min((self.severity(a) for a in self.send.alerts), key=severity_rank, default="info")

    @property
    def top_tier(self) -> int:
        return min((self.tier(a) for a in self.send.alerts), default=2)

    @property
    def is_test(self) -> bool:
        return not self.send.is_summary and bool(self.alert["details"].get("test"))

    def counts(self) -> list[tuple[str, int]]:
        return Counter(str(a["event"]) for a in self.send.alerts).most_common()

    def summary_line(self) -> str:
        if not self.send.is_summary:
            return str(self.alert["summary"])
        alerts = self.send.alerts
        by_event = ", ".join(f"{n} x {event}" for event, n in self.counts())
        return f"{len(alerts)} alerts for {self.send.target} in one message: {by_event}"

    def summary_details(self) -> dict[str, Any]:
        alerts = self.send.alerts
        held = Counter(str(a["hold_reason"]) for a in alerts if a.get("hold_reason"))
        return {
            "count": len(alerts),
            "by_event": dict(self.counts()),
            "alert_ids": [a["alert_id"] for a in alerts],
            "first_created_at": alerts[0]["created_at"] if alerts else None,
            "last_created_at": alerts[-1]["created_at"] if alerts else None,
            "held": dict(held),
        }


def generic_payload(send: Send, routing: Routing) -> dict[str, Any]:
    view = View(send, routing)
    if send.is_summary:
        return {
            "alert_id": None,
            "event": SUMMARY_EVENT,
            "severity": view.top_severity,
            "summary": view.summary_line(),
            "details": view.summary_details(),
            "dedup_key": send.dedup_key,
            "created_at": _iso(send.created_at),
            "attempts": send.attempts,
            "action": "trigger",
            "resolves": None,
            "tier": view.top_tier,
        }
    alert = view.alert
    return {
        "alert_id": alert["alert_id"],
        "event": alert["event"],
        "severity": view.severity(alert),
        "summary": alert["summary"],
        "details": alert["details"],
        "dedup_key": alert["dedup_key"],
        "created_at": alert["created_at"],
        "attempts": send.attempts,
        "action": alert["action"],
        "resolves": alert["resolves"],
        "tier": view.tier(alert),
    }


def _mrkdwn(text: str) -> str:
    """Slack's three control characters escaped (a summary may hold user input)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _label(view: View) -> str:
    if view.send.is_summary:
        return f"[SUMMARY {view.top_severity.upper()}]"
    if view.send.action == "resolve":
        return "[RESOLVED]"
    return ("[TEST] " if view.is_test else "") + f"[{view.severity(view.alert).upper()}]"


def slack_payload(send: Send, target: Target, routing: Routing) -> dict[str, Any]:
    view = View(send, routing)
    headline = f"{_label(view)} {view.event}"
    text = _cut(f"{headline}: {view.summary_line()}", SLACK_TEXT_CHARS)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(headline, SLACK_HEADER_CHARS)},
        },
        _section(_mrkdwn(view.summary_line())),
    ]
    if send.is_summary:
        for event, n in view.counts()[:20]:
            blocks.append(_section(f"*{n}* x `{_mrkdwn(event)}`"))
        listed = send.alerts[:SUMMARY_LISTED]
        lines = [
            f"• {a['created_at']} `{_mrkdwn(str(a['event']))}` {_mrkdwn(str(a['summary']))}"
            for a in listed
        ]
        if len(send.alerts) > len(listed):
            lines.append(f"… and {len(send.alerts) - len(listed)} more (`starpass alerts list`)")
        blocks.append(_section("\n".join(lines)))
        context = (
            f"alerts {_ranges([int(a['alert_id']) for a in send.alerts])} · key `{send.dedup_key}`"
        )
    else:
        alert = view.alert
        if alert["details"]:
            details = json.dumps(alert["details"], ensure_ascii=False, sort_keys=True)
            blocks.append(_section("```" + _cut(_mrkdwn(details), SLACK_SECTION_CHARS - 6) + "```"))
        tier = view.tier(alert)
        context = (
            f"alert {alert['alert_id']} · tier {tier} ({TIER_NAMES[tier]}) · "
            f"{alert['created_at']} · key `{_mrkdwn(str(alert['dedup_key']))}`"
        )
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": _cut(context, SLACK_SECTION_CHARS)}],
        }
    )
    payload: dict[str, Any] = {"text": text, "blocks": blocks[:SLACK_MAX_BLOCKS]}
    if target.channel is not None:
        payload["channel"] = (
            target.channel if target.channel.startswith("#") else f"#{target.channel}"
        )
    return payload


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SLACK_SECTION_CHARS)}}


def _ranges(ids: list[int]) -> str:
    """1, 2, 3, 7 -> "1-3, 7": a summary's alert ids, short."""
    spans: list[list[int]] = []
    for i in sorted(ids):
        if spans and spans[-1][1] == i - 1:
            spans[-1][1] = i
        else:
            spans.append([i, i])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def pagerduty_payload(send: Send, target: Target, routing: Routing) -> dict[str, Any]:
    view = View(send, routing)
    dedup_key = _cut(send.dedup_key, PAGERDUTY_DEDUP_CHARS)
    if send.action == "resolve":
        # A resolve repeats the trigger's dedup_key and goes to the same routing key.
        return {
            "routing_key": target.routing_key,
            "event_action": "resolve",
            "dedup_key": dedup_key,
        }
    if send.is_summary:
        custom_details: dict[str, Any] = view.summary_details()
        created_at = _iso(send.created_at)
    else:
        alert = view.alert
        custom_details = {
            **alert["details"],
            "alert_id": alert["alert_id"],
            "dedup_key": alert["dedup_key"],
            "attempts": send.attempts,
        }
        created_at = str(alert["created_at"])
    severity = view.top_severity
    payload = {
        "routing_key": target.routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "client": "Starpass",
        "payload": {
            "summary": _cut(
                ("TEST: " if view.is_test else "") + view.summary_line(), PAGERDUTY_SUMMARY_CHARS
            ),
            "source": routing.source,
            "severity": severity if severity in SEVERITIES else "error",
            "timestamp": created_at,
            "component": view.event.split(".", 1)[0],
            "group": TIER_NAMES[view.top_tier],
            "class": view.event,
            "custom_details": custom_details,
        },
    }
    if len(json.dumps(payload).encode()) > PAGERDUTY_MAX_BYTES - 1024:
        payload["payload"]["custom_details"] = {"truncated": True, "count": len(send.alerts)}  # type: ignore[index]
    return payload


def payload_for(send: Send, target: Target, routing: Routing) -> dict[str, Any]:
    if target.provider == "slack":
        return slack_payload(send, target, routing)
    if target.provider == "pagerduty":
        return pagerduty_payload(send, target, routing)
    return generic_payload(send, routing)


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Retry-After in seconds (delta seconds or an HTTP date), capped; None when absent."""
    value = headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_CAP_SECONDS)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_SECONDS)


def classify(provider: str, status: int, body: str, headers: Mapping[str, str]) -> Verdict:
    """What an HTTP answer means for the send (the provider facts in docs/alerts.md)."""
    if 200 <= status < 300:
        return Verdict(True, False, "", status=status)
    code = body.strip() if provider == "slack" and _SLACK_ERROR.match(body.strip()) else ""
    error = f"HTTP {status}" + (f" {code}" if code else "")
    wait = retry_after(headers)
    if status == 429 or status >= 500 or (status == 408 and provider == "generic"):
        return Verdict(False, True, error, wait, status)
    # PagerDuty 400 (invalid event), Slack 400 invalid_payload, 403, 404 channel_not_found,
    # 410 channel_is_archived, a redirect: the same request can never succeed.
    return Verdict(False, False, error, None, status)


def classify_exception(exc: BaseException, timeout: float) -> Verdict:
    """A request that got no answer: retried. The text names the failure, never the URL
    (aiohttp's messages may contain it)."""
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return Verdict(False, True, f"no answer within {timeout:g} s")
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return Verdict(False, True, f"cannot connect: {reason}")
    if isinstance(exc, aiohttp.InvalidURL):
        return Verdict(False, False, "the configured URL is not valid")
    return Verdict(False, True, f"request failed: {type(exc).__name__}")


def backoff(attempt: int, base: float, cap: float, random: float) -> float:
    """Exponential backoff with (equal) jitter: half of min(cap, base * 2^(attempt-1)) plus a
    random share of the other half; `random` in [0, 1)."""
    delay = min(cap, base * math.pow(2, max(attempt - 1, 0)))
    return delay / 2 + random * delay / 2
