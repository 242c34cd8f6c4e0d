"""The dispatcher against local receivers that answer as the providers do: payloads field by
field, outages, crashes between the provider's 2xx and the ack, several dispatchers, bursts
against the rate limits, fallbacks, Retry-After, resolves, maintenance windows and flood
control."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, cast

import pytest

from app.alerts.dispatcher import Dispatcher
from app.alerts.policy import Target
from app.alerts.providers import GENERIC_FIELDS, Send, Verdict
from tests.alerting import (
    ROUTING_KEY,
    Receiver,
    alert_settings,
    alert_states,
    alerts_admin,
    alerts_db,
    deliveries,
    raise_alert,
    receiver,
    running,
    settled,
    until,
)
from tests.conftest import Conn, connect
from tests.harness import ScratchDatabase

__all__ = ["alerts_admin", "alerts_db", "receiver"]  # fixtures
PD = "/v2/enqueue"
SLACK = "/slack/default"
GENERIC = "/generic"


async def test_a_page_reaches_pagerduty_and_slack_in_their_formats(
    alerts_db: ScratchDatabase, alerts_admin: Conn, receiver: Receiver
) -> None:
    settings = alert_settings(alerts_db, receiver)
    alert_id = raise_alert(
        alerts_admin, "payments.amount_mismatch", key="payments:abc", user_id=7, total_amount=250
    )
    async with running(alerts_db, settings):
        await until(settled(alerts_admin, [alert_id]), what="the page")
    assert alert_states(alerts_admin)[alert_id] == "delivered"
    # Tier 1 goes to the pager and to chat, not to the log webhook.
    assert {r.path for r in receiver.received} == {PD, SLACK}

    [pd] = receiver.on(PD)
    event = pd.body
    assert set(event) == {"routing_key", "event_action", "dedup_key", "client", "payload"}
    assert event["routing_key"] == ROUTING_KEY and len(event["routing_key"]) == 32
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == "payments:abc" and len(event["dedup_key"]) <= 255
    payload = event["payload"]
    assert set(payload) == {
        "summary",
        "source",
        "severity",
        "timestamp",
        "component",
        "group",
        "class",
        "custom_details",
    }
    assert payload["summary"] == "payments.amount_mismatch for the test"
    assert 1 <= len(payload["summary"]) <= 1024
    assert payload["source"] == "starpass"
    assert payload["severity"] == "critical"
    assert payload["component"] == "payments" and payload["class"] == "payments.amount_mismatch"
    assert payload["group"] == "page"
    assert payload["timestamp"].endswith("Z")
    assert payload["custom_details"] == {
        "user_id": 7,
        "total_amount": 250,
        "alert_id": alert_id,
        "dedup_key": "payments:abc",
        "attempts": 1,
    }
    assert pd.headers["Content-Type"].startswith("application/json")

    [slack] = receiver.on(SLACK)
    message = slack.body
    assert set(message) == {"text", "blocks"}  # the default webhook: no channel override
    assert (
        message["text"]
        == "[CRITICAL] payments.amount_mismatch: payments.amount_mismatch for the test"
    )
    blocks = message["blocks"]
    assert 1 <= len(blocks) <= 50
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "[CRITICAL] payments.amount_mismatch"},
    }
    assert blocks[1] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "payments.amount_mismatch for the test"},
    }
    assert blocks[2]["type"] == "section" and '"total_amount": 250' in blocks[2]["text"]["text"]
    assert blocks[-1]["type"] == "context"
    assert f"alert {alert_id} · tier 1 (page)" in blocks[-1]["elements"][0]["text"]
    for block in blocks:
        text = block.get("text", {}).get("text", "")
        assert len(text) <= (150 if block["type"] == "header" else 3000)


async def test_only_the_generic_webhook_gets_everything_in_the_generic_shape(
    alerts_db: ScratchDatabase, alerts_admin: Conn, receiver: Receiver
) -> None:
    settings = alert_settings(alerts_db, receiver, slack=False, pagerduty=False)
    ids = [
        raise_alert(alerts_admin, "payments.unknown_charge", key="g-1", user_id=1),
        raise_alert(alerts_admin, "jobs.failed", key="g-2", severity="error", job="expire"),
        raise_alert(alerts_admin, "payments.reservation_lost", key="g-3", severity="warning"),
    ]
    async with running(alerts_db, settings):
        await until(settled(alerts_admin, ids), what="three alerts")
    bodies = sorted((r.body for r in receiver.on(GENERIC)), key=lambda b: b["alert_id"])
    assert [b["alert_id"] for b in bodies] == ids
    for body, tier in zip(bodies, [1, 2, 3], strict=True):
        # The earlier shape, unchanged (api.claim_alerts' columns), plus action, resolves, tier.
        assert list(body)[: len(GENERIC_FIELDS)] == list(GENERIC_FIELDS)
        assert set(body) == {*GENERIC_FIELDS, "action", "resolves", "tier"}
        assert isinstance(body["alert_id"], int) and isinstance(body["attempts"], int)
        assert body["action"] == "trigger" and body["resolves"] is None and body["tier"] == tier
    assert bodies[1]["details"] == {"job": "expire"} and bodies[1]["severity"] == "error"
    assert bodies[1]["dedup_key"] == "g-2" and bodies[1]["attempts"] == 1
    assert bodies[1]["created_at"].endswith("Z")


async def test_a_receiver_down_then_up_gets_the_alert(
    alerts_db: ScratchDatabase, alerts_admin: Conn, receiver: Receiver
) -> None:
    await receiver.stop()  # nothing listens on its port
    settings = alert_settings(alerts_db, receiver, slack=False, pagerduty=False)
    alert_id = raise_alert(alerts_admin, "jobs.failed", key="down-up", severity="error")
    async with running(alerts_db, settings):
        await until(
            lambda: deliveries(alerts_admin, alert_id).get("generic", {}).get("failures", 0) >= 2,
            what="two failed attempts",
        )
        assert alert_states(alerts_admin)[alert_id] == "pending"
        assert "cannot connect" in deliveries(alerts_admin, alert_id)["generic"]["last_error"]
        await receiver.start()
        await until(settled(alerts_admin, [alert_id]), what="delivery after the outage")
    row = deliveries(alerts_admin, alert_id)["generic"]
    assert row["state"] == "delivered" and row["attempts"] >= 3
    assert [r.body["dedup_key"] for r in receiver.on(GENERIC)] == ["down-up"]


class CrashAfterSend(Dispatcher):
    """Dies after the provider's 2xx, before the ack (the process was killed)."""

    async def acknowledge(self, send: Send, target: Target, verdict: Verdict) -> None:
        raise OSError("killed")


async def test_a_crash_after_the_2xx_redelivers_with_the_same_dedup_key(
    alerts_db: ScratchDatabase, alerts_admin: Conn, receiver: Receiver
) -> None:
    settings = alert_settings(alerts_db, receiver, generic=False, slack=False)
    alert_id = raise_alert(alerts_admin, "payments.unknown_purchase", key="payments:crash")
    async with running(alerts_db, settings, cls=CrashAfterSend):
        await until(lambda: len(receiver.on(PD)) == 1, what="the first send")
    assert alert_states(alerts_admin)[alert_id] == "pending"
    # The lease runs out (time moves on), and another dispatcher sends it again.
    alerts_admin.execute("UPDATE ops.clock SET shift = interval '10 seconds'")
    async with running(alerts_db, settings):
        await until(settled(alerts_admin, [alert_id]), what="the redelivery")
    first, second = receiver.on(PD)
    assert first.body["dedup_key"] == second.body["dedup_key"] == "payments:crash"
    assert first.body["routing_key"] == second.body["routing_key"] == ROUTING_KEY
    assert second.body["payload"]["custom_details"]["attempts"] == 2
    assert deliveries(alerts_admin, alert_id)["pagerduty"]["attempts"] == 2


class Hangs(Dispatcher):
    """Claims and then never answers (a dispatcher stuck in a send)."""

    async def post(self, send: Send, target: Target) -> Verdict:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_two_dispatchers_deliver_each_alert_once_per_provider(
    alerts_db: ScratchDatabase, alerts_admin: Conn, receiver: Receiver
) -> None:
    alerts_admin.execute(
        "UPDATE ops.settings SET value = '1000' WHERE key = 'ops.alert_overflow_after'"
    )
    # Tier 2 goes to Slack; the policy sends it to the log webhook too.
    settings = alert_settings(
        alerts_db,
        receiver,
        pagerduty=False,
        policy={"tiers": {"2": {"targets": ["slack", "generic"]}}},
    )
    ids = [
        raise_alert(alerts_admin, "jobs.failed", key=f"two-{i}", severity="error")
        for i in range(30)
    ]
    async with running(alerts_db, settings, name="a"), running(alerts_db, settings, name="b"):
        await until(settled(alerts_admin, ids), seconds=20, what="thirty alerts")
    for path in (GENERIC, SLACK):
        keys = [
            r.body["dedup_key"] if path == GENERIC else r.body["blocks"][-1]["elements"][0]["text"]
            for r in receiver.on(path)
        ]
        assert len(keys) == len(set(keys)) == 30, path
    slack_times = [r.at for r in receiver.on(SLACK)]
    gaps = [b - a for a, b in itertools.pairwise(slack_times)]
    assert min(gaps) >= 0.055, "the two dispatchers together keep Slack's spacing"


async def test_a_stuck_dispatchers_lease_runs_out_and_another_delivers(
    alerts_db: ScratchDatabase, alerts_admin: Conn, receiver: Receiver
) -> None:
    settings = alert_settings(
        alerts_db, receiver, slack=False, pagerduty=False, starpass_alerts_http_timeout_seconds=0.3
    )
    alert_id = raise_alert(alerts_admin, "jobs.failed", key="stuck", severity="error")
    async with running(alerts_db, settings, cls=Hangs, name="stuck"):
        await until(
            lambda: deliveries(alerts_admin, alert_id).get("generic", {}).get("attempts") == 1,
            what="the stuck claim",
        )
        async with running(alerts_db, settings, name="healthy"):
            await asyncio.sleep(0.5)
            assert receiver.received == [], "the lease holds while it lasts"
            alerts_admin.execute("UPDATE ops.clock SET shift = interval '10 seconds'")
            await until(settled(alerts_admin, [alert_id]), what="the takeover")
    assert [r.body["attempts"] for r in receiver.on(GENERIC)] == [2]


async def test_a_burst_of_500_keeps_the_rate_limits_summarizes_and_drops_nothing(
    alerts_db: ScratchDatabase, alerts_admin: Conn, receiver: Receiver
) -> None:
    settings = alert_settings(alerts_db, receiver, generic=False)

    def produce() -> None:
        """500 alerts as fast as one connection raises them (about a second): faster than
        either target may send, so each send finds a backlog."""
        with connect(alerts_db.admin_url) as conn:
            for i in range(500):
                raise_alert(conn, "payments.unknown_purchase", key=f"burst-{i}")

    async with running(alerts_db, settings):
        await asyncio.to_thread(produce)
        ids = [
            cast(int, r["alert_id"])
            for r in alerts_admin.execute("SELECT alert_id FROM ops.alert_outbox").fetchall()
        ]
        assert len(ids) == 500
        await until(settled(alerts_admin, ids), seconds=60, what="500 alerts")
    states = alert_states(alerts_admin)
    assert set(states.values()) == {"delivered"}, "every alert delivered, none dropped"
    for path, spacing, target in ((SLACK, 0.06, "slack"), (PD, 0.03, "pagerduty")):
        got = receiver.on(path)
        times = [r.at for r in got]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) >= spacing * 0.95, f"{path}: at most one send per {spacing} s"
        assert 2 <= len(got) < 100, f"{path}: the overflow went out summarized ({len(got)} sends)"
        # Each alert reached the target: alone, or inside a summary the receiver got.
        rows = alerts_admin.execute(
            "SELECT d.alert_id, d.summary_id, d.state FROM ops.alert_deliveries AS d"
            " WHERE d.target = %s AND d.kind = 'alert'",
            (target,),
        ).fetchall()
        assert {r["alert_id"] for r in rows} == set(ids) and {r["state"] for r in rows} == {
            "delivered"
        }
        summaries = {r["summary_id"] for r in rows if r["summary_id"] is not None}
        assert summaries, f"{path}: some alerts were summarized"
        if target == "pagerduty":
            sent = {r.body["dedup_key"] for r in got}
            carried = [
                i
                for r in got
                if r.body["payload"]["class"] == "ops.alerts_summarized"
                for i in r.body["payload"]["custom_details"]["alert_ids"]
            ]
            singles = {
                int(r.body["payload"]["custom_details"]["alert_id"])
                for r in got
                if r.body["payload"]["class"] != "ops.alerts_summarized"
            }
            assert {f"ops.alerts_summarized:{s}" for s in summaries} <= sent
            assert sorted([*carried, *singles]) == sorted(ids), (
                "each alert exactly once at PagerDuty"
            )
        else:
            headers = [r.body["blocks"][0]["text"]["text"] for r in got]
            assert any(h.startswith("[SUMMARY CRITICAL] ops.alerts_summarized") for h in headers)
            assert all(len(r.body["blocks"]) <= 50 for r in got)


@pytest.mark.parametrize(
    ("path", "reply", "error"),
    [
        (SLACK, (404, "channel_not_found", {}), "HTTP 404 channel_not_found"),
        (SLACK, (410, "channel_is_archived", {}), "HTTP 410 channel_is_archived"),
        (SLACK, (403, "invalid_token", {}), "HTTP 403 invalid_token"),
        (SLACK, (400, "invalid_payload", {}), "HTTP 400 invalid_payload"),
        (
            PD,
            (400, '{"status":"invalid event","message":"Event object is invalid"}', {}),
            "HTTP 400",
        ),
    ],
    ids=["slack-404", "slack-410", "slack-403", "slack-400", "pagerduty-400"],
)
async def test_a_permanent_refusal_is_not_retried_and_falls_back_to_generic(
    alerts_db: ScratchDatabase,
    alerts_admin: Conn,
    receiver: Receiver,
    path: str,
    reply: tuple[int, str, dict[str, str]],
    error: str,
) -> None:
    settings = alert_settings(alerts_db, receiver)
    receiver.script[path] = [reply]
    alert_id = raise_alert(alerts_admin, "payments.unknown_charge", key="refused")
    async with running(alerts_db, settings):
        await until(settled(alerts_admin, [alert_id]), what="the fallback")
    assert len(receiver.on(path)) == 1, "a permanent refusal is not retried"
    target = "slack" if path == SLACK else "pagerduty"
    rows = deliveries(alerts_admin, alert_id)
    assert rows[target]["state"] == "dead" and rows[target]["last_error"] == error
    assert rows["generic"]["fallback_for"] == rows[target]["delivery_id"]
    assert rows["generic"]["state"] == "delivered"
    assert [r.body["alert_id"] for r in receiver.on(GENERIC)] == [alert_id]
    assert alert_states(alerts_admin)[alert_id] == "delivered"


@pytest.mark.parametrize(
    ("path", "reply"),
    [
        (PD, (429, '{"status":"throttle event"}', {})),
        (PD, (500, "", {})),
        (PD, (503, "", {})),
        (SLACK, (500, "", {})),
        (GENERIC, (502, "", {})),
        (GENERIC, (408, "", {})),
    ],
    ids=[
        "pagerduty-429",
        "pagerduty-500",
        "pagerduty-503",
        "slack-500",
        "generic-502",
        "generic-408",
    ],
)
async def test_a_transient_failure_is_retried_until_delivered(
    alerts_db: ScratchDatabase,
    alerts_admin: Conn,
    receiver: Receiver,
    path: str,
    reply: tuple[int, str, dict[str, str]],
) -> None:
    settings = alert_settings(
        alerts_db, receiver, generic=path == GENERIC, slack=path == SLACK, pagerduty=path == PD
    )
    receiver.script[path] = [reply, reply]
    alert_id = raise_alert(alerts_admin, "payments.unknown_charge", key="transient")
    async with running(alerts_db, settings):
        await until(settled(alerts_admin, [alert_id]), what="the retried delivery")
    assert len(receiver.on(path)) == 3
    [row] = deliveries(alerts_admin, alert_id).values()
    assert row["state"] == "delivered" and row["failures"] == 2 and row["attempts"] == 3


async def test_slack_429_waits_at_least_retry_after_and_dead_after_n_attempts(
    alerts_db: ScratchDatabase, alerts_admin: Conn, receiver: Receiver
) -> None:
    settings = alert_settings(alerts_db, receiver, pagerduty=False, generic=False)
    receiver.script[SLACK] = [(429, "rate_limited", {"Retry-After": "1"})]
    first = raise_alert(alerts_admin, "jobs.failed", key="ra-1", severity="error")
    async with running(alerts_db, settings):
        await until(settled(alerts_admin, [first]), what="the retry after Retry-After")
    a, b = receiver.on(SLACK)
    assert b.at - a.at >= 1.0, "Retry-After: 1 is waited out"
    # A target that keeps failing: dead after STARPASS_ALERTS_MAX_ATTEMPTS (4), no fallback
    # configured here.
    receiver.received.clear()
    receiver.script[SLACK] = [(503, "", {})] * 10
    second = raise_alert(alerts_admin, "jobs.failed", key="ra-2", severity="error")
    async with running(alerts_db, settings):
        await until(settled(alerts_admin, [second]), what="the dead delivery")
    assert len(receiver.on(SLACK)) == 4
    assert alert_states(alerts_admin)[second] == "dead"


async def test_resuming_an_autopaused_campaign_resolves_the_pagerduty_incident(
    alerts_db: ScratchDatabase, alerts_admin: Conn, receiver: Receiver
) -> None:
    settings = alert_settings(alerts_db, receiver, generic=False, slack=False)
    campaign = alerts_admin.execute(
        "SELECT api.create_promo_code('RESOLVE' || md5(random()::text), 'PREMIUM_GRANT', 'resolve',"
        " p_grant_days => 1) AS id"
    ).fetchone()
    assert campaign is not None
    cid = campaign["id"]
    # As the guard does: pause with its reason, raise the alert.
    alerts_admin.execute(
        "UPDATE promo.promo_codes SET status = 'PAUSED', paused_at = ops.now(),"
        " paused_reason = 'BRUTE_FORCE_GUARD' WHERE promo_code_id = %s",
        (cid,),
    )
    trigger = raise_alert(
        alerts_admin,
        "promo.campaign_autopaused",
        key=f"promo.campaign_autopaused:{cid}:t",
        promo_code_id=cid,
    )
    async with running(alerts_db, settings):
        await until(settled(alerts_admin, [trigger]), what="the page")
        alerts_admin.execute(
            "SELECT api.set_promo_campaign_status(%s, 'ACTIVE', 'ops-anna')", (cid,)
        )
        await until(lambda: len(receiver.on(PD)) == 2, what="the resolve")
    opened, closed = (r.body for r in receiver.on(PD))
    assert opened["event_action"] == "trigger" and closed["event_action"] == "resolve"
    assert closed == {
        "routing_key": opened["routing_key"],
        "event_action": "resolve",
        "dedup_key": opened["dedup_key"],
    }
    assert closed["dedup_key"] == f"promo.campaign_autopaused:{cid}:t"


async def test_a_maintenance_window_holds_pages_and_delivers_them_after(
    alerts_db: ScratchDatabase, alerts_admin: Conn, receiver: Receiver
) -> None:
    settings = alert_settings(alerts_db, receiver, generic=False)
    alerts_admin.execute(
        "SELECT api.set_setting('ops.alert_maintenance_until', to_char(now() + interval '1 hour',"
        " 'YYYY-MM-DD HH24:MI:SSOF'), 'ops-anna', 'db upgrade')"
    )
    ids = [raise_alert(alerts_admin, "payments.unknown_charge", key=f"maint-{i}") for i in range(3)]
    async with running(alerts_db, settings):
        await until(lambda: len(receiver.on(SLACK)) == 3, what="chat during the window")
        await asyncio.sleep(0.4)
        assert receiver.on(PD) == [], "no page during the window"
        assert set(alert_states(alerts_admin).values()) == {"pending"}, "held, recorded"
        alerts_admin.execute(
            "SELECT api.set_setting('ops.alert_maintenance_until', '-infinity', 'ops-anna', 'done')"
        )
        await until(settled(alerts_admin, ids), what="the held pages")
    [summary] = receiver.on(PD)  # three held pages, delivered after the window as one summary
    details = summary.body["payload"]["custom_details"]
    assert sorted(details["alert_ids"]) == ids and details["held"] == {"maintenance": 3}


async def test_flood_control_sends_the_first_and_summarizes_the_rest(
    alerts_db: ScratchDatabase, alerts_admin: Conn, receiver: Receiver
) -> None:
    policy = {"events": {"jobs.failed": {"flood_limit": 2, "repeat_interval_seconds": 1.5}}}
    settings = alert_settings(alerts_db, receiver, slack=False, pagerduty=False, policy=policy)
    ids = [
        raise_alert(alerts_admin, "jobs.failed", key=f"flood-{i}", severity="error")
        for i in range(6)
    ]
    async with running(alerts_db, settings):
        await until(lambda: len(receiver.on(GENERIC)) == 2, what="the first two")
        await asyncio.sleep(0.3)
        assert len(receiver.on(GENERIC)) == 2, "the rest wait for the end of the repeat interval"
        await until(settled(alerts_admin, ids), what="the summary")
    first, second, summary = (r.body for r in receiver.on(GENERIC))
    assert [first["alert_id"], second["alert_id"]] == ids[:2]
    assert summary["event"] == "ops.alerts_summarized" and summary["alert_id"] is None
    assert summary["details"]["alert_ids"] == ids[2:]
    assert summary["details"]["by_event"] == {"jobs.failed": 4}
    assert summary["details"]["held"] == {"flood": 4}
    assert summary["summary"].startswith("4 alerts for generic in one message")


async def test_a_provider_that_does_not_answer_times_out_and_is_retried(
    alerts_db: ScratchDatabase, alerts_admin: Conn, receiver: Receiver
) -> None:
    settings = alert_settings(
        alerts_db,
        receiver,
        slack=False,
        pagerduty=False,
        starpass_alerts_http_timeout_seconds=0.3,
    )
    receiver.hold = asyncio.Event()  # requests wait for it
    alert_id = raise_alert(alerts_admin, "jobs.failed", key="timeout", severity="error")
    async with running(alerts_db, settings):
        await until(
            lambda: deliveries(alerts_admin, alert_id).get("generic", {}).get("failures", 0) >= 1,
            what="a timed-out attempt",
        )
        assert deliveries(alerts_admin, alert_id)["generic"]["last_error"] == (
            "no answer within 0.3 s"
        )
        receiver.hold.set()
        await until(settled(alerts_admin, [alert_id]), what="the delivery")
    assert alert_states(alerts_admin)[alert_id] == "delivered"


async def test_a_notify_wakes_the_dispatcher_and_polling_works_without_it(
    alerts_db: ScratchDatabase, alerts_admin: Conn, receiver: Receiver
) -> None:
    slow_poll = alert_settings(
        alerts_db, receiver, slack=False, pagerduty=False, starpass_alerts_poll_seconds=60
    )
    async with running(alerts_db, slow_poll):
        await asyncio.sleep(0.3)  # listening, then idle until the next poll in a minute
        woken = raise_alert(alerts_admin, "jobs.failed", key="notify", severity="error")
        await until(settled(alerts_admin, [woken]), seconds=3, what="a delivery woken by NOTIFY")
    # No NOTIFY reaches a dispatcher whose listening connection fails: the poll delivers.
    deaf = alert_settings(alerts_db, receiver, slack=False, pagerduty=False)
    async with running(alerts_db, deaf, cls=Deaf):
        await asyncio.sleep(0.1)
        polled = raise_alert(alerts_admin, "jobs.failed", key="poll", severity="error")
        await until(settled(alerts_admin, [polled]), seconds=3, what="a polled delivery")
    assert [r.body["dedup_key"] for r in receiver.on(GENERIC)] == ["notify", "poll"]


class Deaf(Dispatcher):
    """Its LISTEN connection never comes up."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listen_url = "host=/nonexistent dbname=none connect_timeout=1"
