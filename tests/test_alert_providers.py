"""Provider formats within their documented limits, and what each provider's answers mean
(docs/alerts.md, "Providers"), without a network."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest

from app.alerts.policy import Routing, Target, build_routing
from app.alerts.providers import (
    PAGERDUTY_MAX_BYTES,
    Send,
    backoff,
    classify,
    classify_exception,
    generic_payload,
    pagerduty_payload,
    retry_after,
    slack_payload,
)

KEY = "K3yK3yK3yK3yK3yK3yK3yK3yK3yK3yAB"
_BUILT = build_routing(
    webhook_url="https://example.org/hook",
    slack_webhook_url="https://hooks.slack.com/services/T/B/X",
    pagerduty_routing_key=KEY,
)
assert _BUILT is not None
ROUTING: Routing = _BUILT
PD = ROUTING.targets["pagerduty"]
SLACK = ROUTING.targets["slack"]
NOW = datetime(2030, 9, 1, tzinfo=UTC)


def alert(i: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "alert_id": i,
        "event": "payments.unknown_charge",
        "severity": "critical",
        "summary": "Telegram lists a Stars payment of 250 by user 7 that was never recorded",
        "details": {"user_id": 7},
        "dedup_key": f"payments.unknown_charge:{i}",
        "created_at": "2030-09-01T00:00:00.000000Z",
        "action": "trigger",
        "resolves": None,
        "attempts": 1,
        "hold_reason": None,
        **fields,
    }


def send(*alerts: dict[str, Any], kind: str = "alert", action: str = "trigger") -> Send:
    first = alerts[0]
    key = first["resolves"] or first["dedup_key"] if kind == "alert" else "ops.alerts_summarized:9"
    return Send(9, "slack", "slack", kind, action, key, 1, NOW, tuple(alerts))


def test_long_text_stays_within_slacks_limits_and_is_escaped() -> None:
    long = alert(summary="<script>&" + "x" * 5000, event="payments.reconcile_mismatch" + "_x" * 80)
    message = slack_payload(send(long), SLACK, ROUTING)
    assert message["text"] and len(message["text"]) <= 3000
    header = message["blocks"][0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("…")
    section = message["blocks"][1]["text"]["text"]
    assert section.startswith("&lt;script&gt;&amp;") and len(section) <= 3000


def test_a_big_summary_stays_within_fifty_blocks() -> None:
    alerts = [alert(i, event=f"jobs.event_{i % 60}") for i in range(1, 1001)]
    message = slack_payload(send(*alerts, kind="summary"), SLACK, ROUTING)
    assert len(message["blocks"]) <= 50
    assert message["blocks"][0]["text"]["text"] == "[SUMMARY CRITICAL] ops.alerts_summarized"
    assert "alerts 1-1000" in message["blocks"][-1]["elements"][0]["text"]
    assert "1000 alerts for slack in one message" in message["text"]
    for block in message["blocks"]:
        assert len(block.get("text", {}).get("text", "")) <= 3000


def test_a_channel_target_names_its_channel() -> None:
    target = Target("slack:payments", "slack", "https://hooks.slack.com/services/T/B/Y")
    assert slack_payload(send(alert()), target, ROUTING)["channel"] == "#payments"


def test_pagerduty_limits() -> None:
    huge = alert(summary="s" * 2000, details={"blob": "b" * (PAGERDUTY_MAX_BYTES + 10)})
    event = pagerduty_payload(send(huge), PD, ROUTING)
    assert len(event["payload"]["summary"]) == 1024
    assert len(json.dumps(event).encode()) < PAGERDUTY_MAX_BYTES
    assert event["payload"]["custom_details"] == {"truncated": True, "count": 1}
    assert event["routing_key"] == KEY and event["event_action"] == "trigger"


def test_resolves_in_every_format() -> None:
    resolve = alert(
        2, action="resolve", resolves="payments.unknown_charge:1", dedup_key="resolve:1"
    )
    one = send(resolve, action="resolve")
    assert pagerduty_payload(one, PD, ROUTING) == {
        "routing_key": KEY,
        "event_action": "resolve",
        "dedup_key": "payments.unknown_charge:1",
    }
    assert slack_payload(one, SLACK, ROUTING)["blocks"][0]["text"]["text"] == (
        "[RESOLVED] payments.unknown_charge"
    )
    generic = generic_payload(one, ROUTING)
    assert generic["action"] == "resolve" and generic["resolves"] == "payments.unknown_charge:1"


def test_the_policy_severity_and_a_test_alert_show() -> None:
    routing = Routing(
        ROUTING.targets,
        {
            **ROUTING.routes,
            "jobs.failed": ROUTING.routes["jobs.failed"].__class__(
                "jobs.failed", 1, "critical", ("pagerduty",), None, None
            ),
        },
        ROUTING.fallback,
        "prod",
    )
    test = alert(event="jobs.failed", severity="error", details={"test": True})
    event = pagerduty_payload(send(test), PD, routing)
    assert event["payload"]["severity"] == "critical" and event["payload"]["source"] == "prod"
    assert event["payload"]["summary"].startswith("TEST: ")
    assert event["payload"]["group"] == "page"
    header = slack_payload(send(test), SLACK, routing)["blocks"][0]["text"]["text"]
    assert header == "[TEST] [CRITICAL] jobs.failed"


@pytest.mark.parametrize(
    ("provider", "status", "body", "headers", "delivered", "retry", "error", "wait"),
    [
        ("pagerduty", 202, '{"status":"success"}', {}, True, False, "", None),
        ("pagerduty", 400, '{"status":"invalid event"}', {}, False, False, "HTTP 400", None),
        ("pagerduty", 429, "", {}, False, True, "HTTP 429", None),
        ("pagerduty", 500, "", {}, False, True, "HTTP 500", None),
        ("pagerduty", 503, "", {"Retry-After": "7"}, False, True, "HTTP 503", 7.0),
        ("pagerduty", 404, "", {}, False, False, "HTTP 404", None),
        ("slack", 200, "ok", {}, True, False, "", None),
        ("slack", 400, "invalid_payload", {}, False, False, "HTTP 400 invalid_payload", None),
        ("slack", 403, "invalid_token", {}, False, False, "HTTP 403 invalid_token", None),
        ("slack", 404, "channel_not_found", {}, False, False, "HTTP 404 channel_not_found", None),
        (
            "slack",
            410,
            "channel_is_archived",
            {},
            False,
            False,
            "HTTP 410 channel_is_archived",
            None,
        ),
        (
            "slack",
            429,
            "rate_limited",
            {"Retry-After": "30"},
            False,
            True,
            "HTTP 429 rate_limited",
            30.0,
        ),
        (
            "slack",
            500,
            "<html>oops https://hooks.slack.com/x</html>",
            {},
            False,
            True,
            "HTTP 500",
            None,
        ),
        ("slack", 302, "", {"Location": "https://elsewhere"}, False, False, "HTTP 302", None),
        ("generic", 204, "", {}, True, False, "", None),
        ("generic", 408, "", {}, False, True, "HTTP 408", None),
        ("generic", 422, "", {}, False, False, "HTTP 422", None),
        ("generic", 502, "", {}, False, True, "HTTP 502", None),
    ],
)
def test_answers_per_provider(
    provider: str,
    status: int,
    body: str,
    headers: dict[str, str],
    delivered: bool,
    retry: bool,
    error: str,
    wait: float | None,
) -> None:
    verdict = classify(provider, status, body, headers)
    assert (verdict.delivered, verdict.retry, verdict.error, verdict.retry_after) == (
        delivered,
        retry,
        error,
        wait,
    )


def test_no_answer_is_retried_and_never_names_the_url() -> None:
    timeout = classify_exception(TimeoutError(), 10)
    assert timeout.retry and timeout.error == "no answer within 10 s"
    key = aiohttp.client_reqrep.ConnectionKey("hooks.slack.com", 443, True, True, None, None, None)
    refused = classify_exception(
        aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused")), 10
    )
    assert refused.retry and refused.error == "cannot connect: Connection refused"
    broken = classify_exception(
        aiohttp.ServerDisconnectedError("https://hooks.slack.com/T/B/X"), 10
    )
    assert broken.retry and "hooks" not in broken.error


def test_retry_after_seconds_or_date_capped() -> None:
    assert retry_after({"Retry-After": "120"}) == 120.0
    assert retry_after({"Retry-After": "999999"}) == 3600.0
    assert retry_after({}) is None and retry_after({"Retry-After": "soon"}) is None
    now = datetime(2030, 1, 1, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after({"Retry-After": date}, now=now.timestamp()) == pytest.approx(90)


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    assert backoff(1, 5, 900, 0.0) == 2.5 and backoff(1, 5, 900, 0.999) < 5
    assert backoff(4, 5, 900, 0.0) == 20
    assert backoff(20, 5, 900, 0.0) == 450 and backoff(20, 5, 900, 0.999) < 900
