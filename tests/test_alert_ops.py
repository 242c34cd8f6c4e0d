"""The dispatcher inside `starpass serve` with its metrics, the operator's commands (list, retry,
test) and the rule that no secret reaches a log line or the database."""

from __future__ import annotations

import argparse
import asyncio
import json

import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.api.app import create_app
from app.cli import alerts as cli_alerts
from app.logs import configure_logging
from tests.alerting import (
    ROUTING_KEY,
    Receiver,
    alert_settings,
    alert_states,
    alerts_admin,
    alerts_db,
    raise_alert,
    receiver,
    running,
    settled,
    until,
)
from tests.conftest import Conn, leaks
from tests.harness import ScratchDatabase

__all__ = ["alerts_admin", "alerts_db", "receiver"]  # fixtures
METRICS_TOKEN = "m" * 40


async def test_serve_runs_the_dispatcher_and_metrics_count_deliveries(
    alerts_db: ScratchDatabase, alerts_admin: Conn, receiver: Receiver
) -> None:
    settings = alert_settings(
        alerts_db,
        receiver,
        slack=False,
        pagerduty=False,
        internal_api_tokens_json=json.dumps(
            [{"name": "prometheus", "token": METRICS_TOKEN, "scopes": ["metrics"]}]
        ),
    )
    receiver.script["/generic"] = [(503, "", {})]
    alert_id = raise_alert(alerts_admin, "jobs.failed", key="serve-1", severity="error")
    async with TestClient(TestServer(create_app(settings))) as client:
        await until(settled(alerts_admin, [alert_id]), what="delivery by the service")
        response = await client.get(
            "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        text = await response.text()
    assert response.status == 200
    labels = 'provider="generic",target="generic"'
    assert f"starpass_alerts_delivered_total{{{labels}}} 1.0" in text
    assert f"starpass_alerts_failed_total{{{labels}}} 1.0" in text
    assert f"starpass_alerts_dead_total{{{labels}}} 0.0" in text
    assert (
        'starpass_alerts_backlog{provider="generic",state="pending",target="generic"} 0.0' in text
    )
    assert 'starpass_alerts_backlog{provider="generic",state="held",target="generic"} 0.0' in text
    assert f"starpass_alerts_oldest_pending_seconds{{{labels}}} 0.0" in text
    assert "# TYPE starpass_alerts_delivered_total counter" in text
    # Without alert targets (or with alerts=False) the service has no dispatcher.
    assert create_app(settings, alerts=False).get("alert_dispatcher") is None


async def test_list_retry_and_test_from_the_command_line(
    alerts_db: ScratchDatabase,
    alerts_admin: Conn,
    receiver: Receiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = alert_settings(alerts_db, receiver, slack=False, pagerduty=False)
    receiver.script["/generic"] = [(400, "bad", {})]
    dead = raise_alert(alerts_admin, "jobs.failed", key="cli-dead", severity="error", job="expire")
    async with running(alerts_db, settings):
        await until(settled(alerts_admin, [dead]), what="the dead alert")
        assert alert_states(alerts_admin)[dead] == "dead"

        def cli(handler: object, **args: object) -> int:
            return handler(settings, argparse.Namespace(**args))  # type: ignore[operator, no-any-return]

        assert cli(cli_alerts.cmd_list, dead=True, state=None, limit=20) == 0
        listed = capsys.readouterr().out
        assert f"{dead}  " in listed and "dead" in listed and "jobs.failed" in listed
        assert "deliveries: generic dead (1 attempts)" in listed
        assert "last error: HTTP 400" in listed

        assert cli(cli_alerts.cmd_retry, alert_id=dead, reason="receiver fixed") == 0
        assert f"alert {dead} is pending again (1 deliveries to retry)" in capsys.readouterr().out
        await until(settled(alerts_admin, [dead]), what="the retried alert")
        assert alert_states(alerts_admin)[dead] == "delivered"
        audit = alerts_admin.execute(
            "SELECT actor, db_role, reason FROM ops.audit_log WHERE action = 'ops.alert_retried'"
        ).fetchone()
        assert audit is not None and str(audit["actor"]).startswith("ops:")
        assert (audit["db_role"], audit["reason"]) == ("starpass_admin", "receiver fixed")
        with pytest.raises(Exception, match="alert is not dead"):
            cli(cli_alerts.cmd_retry, alert_id=dead, reason=None)

        # A test alert of an event goes through that event's routing; the command waits for it.
        code = await asyncio.to_thread(
            cli, cli_alerts.cmd_test, event="payments.unknown_charge", wait=10.0
        )
        out = capsys.readouterr().out
        assert code == 0, out
        assert "tier 1 (page), to generic" in out and "delivered" in out
    [body] = [r.body for r in receiver.on("/generic") if r.body["details"].get("test")]
    assert body["event"] == "payments.unknown_charge" and body["severity"] == "critical"
    assert body["summary"].startswith("TEST: payments.unknown_charge (sent by ops:")
    assert body["tier"] == 1


async def test_no_secret_reaches_a_log_line_or_the_database(
    alerts_db: ScratchDatabase,
    alerts_admin: Conn,
    receiver: Receiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    slack_secret = "XoXb9Qz7Lm2Wp4RtVn6K"
    hook_secret = "Gh5Jk8Lq2Zx7Cv4Bn1Md"
    settings = alert_settings(
        alerts_db,
        receiver,
        ops_alert_webhook_url=f"{receiver.base}/generic?token={hook_secret}",
        ops_alert_slack_webhook_url=f"{receiver.base}/slack/{slack_secret}",
    )
    receiver.script[f"/slack/{slack_secret}"] = [(404, "channel_not_found", {})]
    receiver.script["/v2/enqueue"] = [(500, "", {})]
    receiver.script["/generic"] = [(503, "", {})]
    configure_logging("DEBUG")  # the service's JSON logs, on the captured stderr
    alert_id = raise_alert(alerts_admin, "payments.unknown_charge", key="secrets-1")
    async with running(alerts_db, settings):
        await until(settled(alerts_admin, [alert_id]), what="the alert")
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "alert_send_failed" in output and "alert_dead" in output
    stored = json.dumps(
        alerts_admin.execute("SELECT * FROM ops.alert_deliveries").fetchall(), default=str
    ) + json.dumps(alerts_admin.execute("SELECT * FROM ops.alert_outbox").fetchall(), default=str)
    for secret in (slack_secret, hook_secret, ROUTING_KEY):
        assert leaks(secret, output) == [], secret
        assert leaks(secret, stored) == [], secret
