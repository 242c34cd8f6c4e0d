"""The escalation policy: where each event goes for every combination of configured targets,
what the policy overrides, where a failing target falls back, and what refuses to start (the
key named, never a value)."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import pytest
from pydantic import ValidationError

from app.alerts.catalog import EVENTS
from app.alerts.policy import Routing, build_routing, parse_policy
from app.cli import alerts as cli_alerts
from app.config import Settings, describe_settings_error
from tests.conftest import leaks, run_starpass

KEY = "K3yK3yK3yK3yK3yK3yK3yK3yK3yK3yAB"
SLACK_URL = "https://hooks.slack.com/services/T0SECRET/B0SECRET/s3cr3tPathToken"
OTHER_SLACK = "https://hooks.slack.com/services/T1OTHER/B1OTHER/an0therS3cret"
WEBHOOK = "https://alerts.example.org/hook?token=w3bh00kS3cret"


def routing(targets: str, policy: dict[str, Any] | None = None) -> Routing:
    """`targets` names the configured ones: g (generic), s (slack), p (pagerduty)."""
    built = build_routing(
        webhook_url=WEBHOOK if "g" in targets else None,
        slack_webhook_url=SLACK_URL if "s" in targets else None,
        pagerduty_routing_key=KEY if "p" in targets else None,
        policy=parse_policy(json.dumps(policy)) if policy is not None else None,
    )
    assert built is not None
    return built


TIER_EVENT = {1: "payments.unknown_charge", 2: "jobs.failed", 3: "payments.reservation_lost"}


@pytest.mark.parametrize(
    ("configured", "tier1", "tier2", "tier3"),
    [
        ("g", "generic", "generic", "generic"),
        ("s", "slack", "slack", "slack"),
        ("p", "pagerduty", "pagerduty", "pagerduty"),
        ("gs", "slack", "slack", "generic"),
        ("gp", "pagerduty", "generic", "generic"),
        ("sp", "pagerduty slack", "slack", "slack"),
        ("gsp", "pagerduty slack", "slack", "generic"),
    ],
)
def test_default_routes_for_each_combination_of_targets(
    configured: str, tier1: str, tier2: str, tier3: str
) -> None:
    routes = routing(configured)
    for tier, expected in ((1, tier1), (2, tier2), (3, tier3)):
        route = routes.route(TIER_EVENT[tier])
        assert route.tier == tier
        assert route.targets == tuple(expected.split()), (configured, tier)
        assert route.severity is None and route.flood_limit is None


def test_no_target_no_dispatcher() -> None:
    assert (
        build_routing(webhook_url=None, slack_webhook_url=None, pagerduty_routing_key=None) is None
    )
    assert Settings(_env_file=None).alert_routing is None


def test_every_catalog_event_has_a_route() -> None:
    routes = routing("gsp")
    assert set(routes.routes) == set(EVENTS)
    unknown = routes.route("billing.from_a_newer_database")
    assert unknown.tier == 2 and unknown.targets == ("slack",)


POLICY: dict[str, Any] = {
    "slack_channels": {"payments": OTHER_SLACK},
    "pagerduty_routing_keys": {"payments": "P" * 32},
    "tiers": {
        "1": {"targets": ["pagerduty"], "flood_limit": 3},
        "2": {"targets": ["slack", "generic"], "repeat_interval_seconds": 60},
    },
    "events": {
        "payments.support_request": {"targets": ["slack:payments"]},
        "payments.unknown_charge": {"targets": ["pagerduty:payments", "slack:payments"]},
        "jobs.stale": {"tier": 1, "severity": "critical", "flood_limit": 1},
        "jobs.failed": {"repeat_interval_seconds": 5},
    },
    "flood_limit": 7,
    "repeat_interval_seconds": 900,
    "source": "starpass-prod",
}


@pytest.mark.parametrize(
    ("event", "tier", "severity", "targets", "flood_limit", "repeat"),
    [
        # The event's own targets win over its tier's.
        ("payments.support_request", 2, None, ("slack:payments",), 7, 60),
        ("payments.unknown_charge", 1, None, ("pagerduty:payments", "slack:payments"), 3, 900),
        # A tier override takes the new tier's targets; severity and flood control per event.
        ("jobs.stale", 1, "critical", ("pagerduty",), 1, 900),
        # The event's flood control over its tier's over the policy's.
        ("jobs.failed", 2, None, ("slack", "generic"), 7, 5),
        ("promo.bruteforce_suspected", 2, None, ("slack", "generic"), 7, 60),
        # The tier's targets over the catalog's defaults.
        ("payments.amount_mismatch", 1, None, ("pagerduty",), 3, 900),
        # No tier 3 in the policy: the default (generic).
        ("payments.reservation_lost", 3, None, ("generic",), 7, 900),
    ],
)
def test_policy_overrides(
    event: str,
    tier: int,
    severity: str | None,
    targets: tuple[str, ...],
    flood_limit: int,
    repeat: float,
) -> None:
    route = routing("gsp", POLICY).route(event)
    assert (route.tier, route.severity, route.targets) == (tier, severity, targets)
    assert (route.flood_limit, route.repeat_interval_seconds) == (flood_limit, repeat)


def test_named_targets_deliver_where_the_policy_says() -> None:
    targets = routing("gsp", POLICY).targets
    assert targets["slack:payments"].url == OTHER_SLACK
    assert targets["slack:payments"].channel == "payments" and targets["slack"].channel is None
    assert targets["pagerduty:payments"].routing_key == "P" * 32
    assert targets["pagerduty"].routing_key == KEY
    assert len({t.fingerprint for t in targets.values()}) == len(targets)
    for target in targets.values():
        assert target.url not in repr(target) and KEY not in repr(target)


@pytest.mark.parametrize(
    ("configured", "fallback", "expected"),
    [
        ("gsp", None, {"slack": "generic", "pagerduty": "generic", "generic": None}),
        ("sp", None, {"slack": None, "pagerduty": None}),
        ("gs", ["slack", "generic"], {"slack": "generic", "generic": "slack"}),
        ("gsp", ["slack"], {"pagerduty": "slack", "slack": None, "generic": "slack"}),
    ],
)
def test_fallback_matrix(
    configured: str, fallback: list[str] | None, expected: dict[str, str | None]
) -> None:
    routes = routing(configured, {"fallback": fallback} if fallback is not None else None)
    assert {t: routes.fallback_for(t) for t in expected} == expected


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ('{"tier": {}}', "tier: unknown key"),
        (
            '{"events": {"jobs.stale": {"tier": 4}}}',
            "events.jobs.stale.tier: Input should be 1, 2 or 3",
        ),
        (
            '{"events": {"jobs.stale": {"severity": "fatal"}}}',
            "events.jobs.stale.severity: Input should be",
        ),
        ('{"events": {"jobs.stale": {"channel": "x"}}}', "events.jobs.stale.channel: unknown key"),
        ('{"events": {"no.such_event": {}}}', "events: unknown event 'no.such_event'"),
        ('{"tiers": {"4": {}}}', "tiers.4.[key]: Input should be '1', '2' or '3'"),
        ('{"tiers": {"1": {"targets": []}}}', "tiers.1.targets: Tuple should have at least 1 item"),
        (
            '{"tiers": {"1": {"flood_limit": 0}}}',
            "tiers.1.flood_limit: Input should be greater than or equal to 1",
        ),
        ('{"flood_limit": "many"}', "flood_limit: Input should be a valid integer"),
        (
            '{"pagerduty_routing_keys": {"x": "short"}}',
            "pagerduty_routing_keys: key 'x'",
        ),
        ("[1]", "must be a JSON object"),
        ('{"tiers": ', "not valid JSON: Expecting value at line 1 column 11"),
    ],
)
def test_a_bad_policy_names_the_key(policy: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_policy(policy)
    assert message.replace("Value error, ", "") in str(caught.value)


def test_a_secret_in_the_wrong_place_is_not_shown() -> None:
    policy = json.dumps(
        {
            "tiers": {"1": {"targets": [SLACK_URL]}},
            "slack_channels": {"ops": "ftp://" + SLACK_URL[8:]},
        }
    )
    with pytest.raises(ValueError) as caught:
        parse_policy(policy)
    text = str(caught.value)
    assert "(not shown: not a name)" in text and "channel 'ops': must be an http" in text
    assert leaks("s3cr3tPathToken", text) == [] and leaks("T0SECRET", text) == []


@pytest.mark.parametrize(
    ("values", "lines"),
    [
        (
            {
                "ops_alert_escalation_policy_json": '{"tiers": {"1": {"targets": ["pagerduty"]}}}',
                "ops_alert_webhook_url": WEBHOOK,
            },
            [
                "OPS_ALERT_ESCALATION_POLICY_JSON: tiers.1.targets: target 'pagerduty' is not"
                " configured (OPS_ALERT_PAGERDUTY_ROUTING_KEY is not set)"
            ],
        ),
        (
            {
                "ops_alert_escalation_policy_json": json.dumps(
                    {"events": {"jobs.failed": {"targets": ["slack:ops"]}}}
                ),
                "ops_alert_slack_webhook_url": SLACK_URL,
            },
            [
                "OPS_ALERT_ESCALATION_POLICY_JSON: events.jobs.failed.targets: target"
                " 'slack:ops' is not configured ('ops' is not in slack_channels)"
            ],
        ),
        (
            {
                "ops_alert_escalation_policy_json": '{"fallback": ["generic"]}',
                "ops_alert_slack_webhook_url": SLACK_URL,
            },
            [
                "OPS_ALERT_ESCALATION_POLICY_JSON: fallback[0]: target 'generic' is not"
                " configured (OPS_ALERT_WEBHOOK_URL is not set)"
            ],
        ),
        (
            {"ops_alert_pagerduty_routing_key": KEY[:31]},
            ["OPS_ALERT_PAGERDUTY_ROUTING_KEY: a PagerDuty routing key is 32 letters and digits"],
        ),
        (
            {"ops_alert_webhook_url": "ftp://alerts.example.org/w3bh00kS3cret"},
            ["OPS_ALERT_WEBHOOK_URL: must be an http:// or https:// URL"],
        ),
        (
            {"starpass_alerts_lease_seconds": 10, "starpass_alerts_http_timeout_seconds": 10},
            [
                "STARPASS_ALERTS_LEASE_SECONDS: the lease must be longer than"
                " STARPASS_ALERTS_HTTP_TIMEOUT_SECONDS"
            ],
        ),
    ],
    ids=[
        "pagerduty-missing",
        "channel-missing",
        "fallback-missing",
        "short-key",
        "ftp-url",
        "lease",
    ],
)
def test_the_configuration_error_names_the_variable(
    values: dict[str, Any], lines: list[str]
) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, **values)
    described = describe_settings_error(caught.value)
    assert [line.replace("Value error, ", "") for line in described] == [
        line.replace("Value error, ", "") for line in lines
    ]
    for secret in ("w3bh00kS3cret", "s3cr3tPathToken", KEY):
        assert leaks(secret, "\n".join(described)) == []


def test_empty_variables_count_as_unset() -> None:
    settings = Settings(
        _env_file=None, ops_alert_webhook_url="", ops_alert_escalation_policy_json=""
    )
    assert settings.alert_routing is None


def test_the_dispatcher_refuses_to_start_on_a_bad_policy() -> None:
    env = {
        **os.environ,
        "OPS_ALERT_SLACK_WEBHOOK_URL": SLACK_URL,
        "OPS_ALERT_ESCALATION_POLICY_JSON": json.dumps(
            {"slack_channels": {"ops": OTHER_SLACK}, "events": {"jobs.stale": {"tier": 9}}}
        ),
    }
    done = run_starpass("alerts", "run", env=env)
    assert done.returncode == 2, done.stderr
    assert (
        "OPS_ALERT_ESCALATION_POLICY_JSON: events.jobs.stale.tier: Input should be 1, 2 or 3"
        in done.stderr
    )
    for secret in ("s3cr3tPathToken", "an0therS3cret"):
        assert leaks(secret, done.stdout + done.stderr) == [], done.stderr


def test_alerts_run_without_a_target_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_alerts.cmd_run(Settings(_env_file=None), argparse.Namespace()) == 2
    assert "no alert target is configured" in capsys.readouterr().err
