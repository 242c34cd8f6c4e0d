"""`starpass alerts run|list|retry|test`: the dispatcher alone, and the operator's view of the
alert outbox (docs/runbooks/alerts.md). The operator commands connect as starpass_admin."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from typing import Any

import psycopg
from psycopg.rows import dict_row

from app.alerts.catalog import EVENTS
from app.cli.actor import operator
from app.config import Settings
from app.db.cluster import ADMIN_ROLE, role_url
from app.logs import configure_logging

NOT_CONFIGURED = (
    "no alert target is configured: set OPS_ALERT_WEBHOOK_URL, OPS_ALERT_SLACK_WEBHOOK_URL or"
    " OPS_ALERT_PAGERDUTY_ROUTING_KEY"
)


def add_parser(commands: Any) -> None:
    alerts = commands.add_parser("alerts", help="the ops alert dispatcher and the alert outbox")
    actions = alerts.add_subparsers(required=True, metavar="ACTION")
    actions.add_parser("run", help="run the dispatcher until Ctrl-C / SIGTERM").set_defaults(
        handler=cmd_run
    )
    listing = actions.add_parser("list", help="the newest alerts with their deliveries")
    listing.add_argument("--dead", action="store_true", help="only dead alerts")
    listing.add_argument(
        "--state", choices=["pending", "delivered", "dead"], help="only alerts in this state"
    )
    listing.add_argument("--limit", type=int, default=20, help="how many, newest first")
    listing.set_defaults(handler=cmd_list)
    retry = actions.add_parser("retry", help="send a dead alert again")
    retry.add_argument("alert_id", type=int, metavar="ID", help="the alert's id (alerts list)")
    retry.add_argument("--reason", help="why (audited)")
    retry.set_defaults(handler=cmd_retry)
    test = actions.add_parser("test", help="send a test alert of EVENT through the routing")
    test.add_argument(
        "event", choices=sorted(EVENTS), metavar="EVENT", help="an event of the alert catalog"
    )
    test.add_argument(
        "--wait", type=float, default=30.0, help="seconds to wait for its delivery (0: do not)"
    )
    test.set_defaults(handler=cmd_test)


def _connect(settings: Settings) -> psycopg.Connection[dict[str, Any]]:
    return psycopg.connect(
        role_url(settings, ADMIN_ROLE),
        autocommit=True,
        row_factory=dict_row,
        connect_timeout=10,
        prepare_threshold=None,  # a pooler in transaction mode cannot route prepared statements
    )


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from app.alerts.dispatcher import Dispatcher

    routing = settings.alert_routing
    if routing is None:
        print(f"starpass: {NOT_CONFIGURED}", file=sys.stderr)
        return 2
    configure_logging(settings.starpass_log_level)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await Dispatcher(settings, routing, name="alerts-run").run(stop)

    asyncio.run(run())
    return 0


def _deliveries(row: dict[str, Any]) -> str:
    parts = []
    for d in row["deliveries"]:
        held = f", held: {d['hold_reason']}" if d["hold_reason"] and d["state"] == "pending" else ""
        parts.append(f"{d['target']} {d['state']} ({d['attempts']} attempts{held})")
    return "; ".join(parts) or "not routed yet"


def _render(row: dict[str, Any]) -> list[str]:
    created = row["created_at"].strftime("%Y-%m-%d %H:%M:%S%z")
    lines = [
        f"{row['alert_id']}  {created}  {row['state']:<9}  {row['severity']:<8}  "
        f"{row['event']}{' (resolve)' if row['action'] == 'resolve' else ''}",
        f"    {row['summary']}",
        f"    deliveries: {_deliveries(row)}",
    ]
    errors = {d["last_error"] for d in row["deliveries"] if d["last_error"]}
    lines += [f"    last error: {error}" for error in sorted(errors)]
    return lines


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    state = "dead" if args.dead else args.state
    with _connect(settings) as conn:
        rows = conn.execute("SELECT * FROM api.list_alerts(%s, %s)", (state, args.limit)).fetchall()
    if not rows:
        print(f"no {state} alerts" if state else "no alerts")
        return 0
    for row in rows:
        print("\n".join(_render(row)))
    return 0


def cmd_retry(settings: Settings, args: argparse.Namespace) -> int:
    with _connect(settings) as conn:
        row = conn.execute(
            "SELECT * FROM api.retry_alert(%s, %s, %s)", (args.alert_id, operator(), args.reason)
        ).fetchone()
    assert row is not None
    print(f"alert {row['alert_id']} is pending again ({row['deliveries']} deliveries to retry)")
    return 0


def cmd_test(settings: Settings, args: argparse.Namespace) -> int:
    routing = settings.alert_routing
    event = EVENTS[args.event]
    with _connect(settings) as conn:
        row = conn.execute(
            "SELECT api.raise_test_alert(%s, %s, %s) AS alert_id",
            (event.name, event.severity, operator()),
        ).fetchone()
        assert row is not None
        alert_id = row["alert_id"]
        if routing is None:
            print(f"test alert {alert_id} raised; {NOT_CONFIGURED} here")
        else:
            route = routing.route(event.name)
            print(
                f"test alert {alert_id} raised: tier {route.tier} ({route.tier_name}),"
                f" to {', '.join(route.targets)}"
            )
        if args.wait <= 0:
            return 0
        deadline = time.monotonic() + args.wait
        while True:
            found = conn.execute(
                "SELECT * FROM api.list_alerts(NULL, 1, %s)", (alert_id + 1,)
            ).fetchone()
            assert found is not None and found["alert_id"] == alert_id
            if found["state"] != "pending" or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
    print("\n".join(_render(found)))
    if found["state"] == "pending":
        print(f"not delivered within {args.wait:g} s: is a dispatcher running?", file=sys.stderr)
    return 0 if found["state"] == "delivered" else 1
