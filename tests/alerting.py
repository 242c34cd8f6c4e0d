"""Local receivers that answer as the providers do (docs/alerts.md, "Provider facts"), a
database of the alert tests' own, and helpers to run dispatchers against them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from aiohttp import web
from psycopg_pool import AsyncConnectionPool
from pydantic import SecretStr

from app.alerts.dispatcher import Dispatcher
from app.config import Settings
from app.db.cluster import ALERTS_ROLE
from app.db.pool import connection_kwargs
from tests.conftest import PEPPER, Conn, connect
from tests.harness import ScratchDatabase, create_database, drop_database

# 32 letters and digits, none of its 4-character pieces likely in a log line by chance (no
# digit runs: a timestamp holds "2345"), so tests/conftest.py `leaks` finds only real leaks.
ROUTING_KEY = "Qz7XkP2mWv9LtR4nHs8JdF3gBc6YhN5a"
OTHER_KEY = "0THERKEY0123456789abcdefABCDEFGH"
# Test timings: the real rules at a smaller scale (the intervals are database settings).
TEST_SETTINGS = {
    "ops.alert_slack_interval": "60 milliseconds",
    "ops.alert_pagerduty_interval": "30 milliseconds",
    "ops.alert_generic_interval": "0 seconds",
    "ops.alert_overflow_after": "10",
    "ops.alert_flood_limit": "100000",
    "ops.alert_repeat_interval": "10 minutes",
    "ops.alert_maintenance_until": "-infinity",
}
Reply = tuple[int, str, dict[str, str]]  # status, body, headers


@dataclass
class Received:
    at: float  # time.monotonic()
    path: str
    body: Any
    headers: dict[str, str]


@dataclass
class Receiver:
    """One HTTP server for all three providers: /generic, /slack/<name>, /v2/enqueue. A test
    scripts answers per path (`script[path]`: a list consumed in order, then `default`)."""

    port: int
    received: list[Received] = field(default_factory=list)
    script: dict[str, list[Reply]] = field(default_factory=dict)
    hold: asyncio.Event | None = None  # while set to an unset Event, requests wait
    runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def on(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.received.append(
            Received(time.monotonic(), request.path, json.loads(raw), dict(request.headers))
        )
        if self.hold is not None:
            await self.hold.wait()
        queue = self.script.get(request.path)
        status, body, headers = queue.pop(0) if queue else _default(request.path)
        return web.Response(status=status, text=body, headers=headers)


def _default(path: str) -> Reply:
    if path.startswith("/slack/"):
        return 200, "ok", {}
    if path == "/v2/enqueue":
        body = {"status": "success", "message": "Event processed", "dedup_key": "x"}
        return 202, json.dumps(body), {"Content-Type": "application/json"}
    return 200, "", {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def alerts_db(pg_server: str) -> Iterator[ScratchDatabase]:
    """A database of the module's own: dispatchers claim whatever is due, so no other test's
    alerts may be there."""
    db = create_database(pg_server)
    yield db
    drop_database(pg_server, db.name)


@pytest.fixture
def alerts_admin(alerts_db: ScratchDatabase) -> Iterator[Conn]:
    """Superuser on the alert database, emptied and set to the test timings first."""
    with connect(alerts_db.admin_url) as conn:
        conn.execute(
            "TRUNCATE ops.alert_deliveries, ops.alert_targets, ops.alert_floods, ops.alert_outbox"
        )
        conn.execute("UPDATE ops.clock SET frozen_at = NULL, shift = interval '0'")
        for key, value in TEST_SETTINGS.items():
            conn.execute("UPDATE ops.settings SET value = %s WHERE key = %s", (value, key))
        yield conn
        conn.execute("UPDATE ops.clock SET frozen_at = NULL, shift = interval '0'")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver(free_port())
    await r.start()
    yield r
    if r.hold is not None:
        r.hold.set()
    await r.stop()


def alert_settings(
    db: ScratchDatabase,
    receiver: Receiver,
    *,
    generic: bool = True,
    slack: bool = True,
    pagerduty: bool = True,
    policy: dict[str, Any] | None = None,
    **overrides: object,
) -> Settings:
    values: dict[str, object] = {
        "database_url": db.app_url,
        "starpass_admin_database_url": db.staff_url,
        "starpass_alerts_database_url": db.role_urls[ALERTS_ROLE],
        "promo_secret_pepper": SecretStr(PEPPER),
        "starpass_alerts_poll_seconds": 0.2,
        "starpass_alerts_http_timeout_seconds": 1.0,
        "starpass_alerts_lease_seconds": 5,
        "starpass_alerts_backoff_base_seconds": 0.05,
        "starpass_alerts_backoff_max_seconds": 0.2,
        "starpass_alerts_max_attempts": 4,
        "ops_alert_pagerduty_events_url": f"{receiver.base}/v2/enqueue",
        **overrides,
    }
    if generic:
        values.setdefault("ops_alert_webhook_url", f"{receiver.base}/generic")
    if slack:
        values.setdefault("ops_alert_slack_webhook_url", f"{receiver.base}/slack/default")
    if pagerduty:
        values.setdefault("ops_alert_pagerduty_routing_key", ROUTING_KEY)
    if policy is not None:
        values["ops_alert_escalation_policy_json"] = json.dumps(policy)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def alerts_pool(db: ScratchDatabase, settings: Settings) -> AsyncConnectionPool:
    return AsyncConnectionPool(
        db.role_urls[ALERTS_ROLE],
        min_size=0,
        max_size=4,
        kwargs=connection_kwargs(settings, ALERTS_ROLE),
        open=False,
    )


@contextlib.asynccontextmanager
async def running(
    db: ScratchDatabase, settings: Settings, cls: type[Dispatcher] = Dispatcher, name: str = "t"
) -> AsyncIterator[Dispatcher]:
    """A dispatcher running in this event loop until the block ends."""
    routing = settings.alert_routing
    assert routing is not None
    pool = alerts_pool(db, settings)
    await pool.open()
    dispatcher = cls(settings, routing, pool=pool, name=name, listen_url=db.role_urls[ALERTS_ROLE])
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        yield dispatcher
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await pool.close()


def raise_alert(
    conn: Conn, event: str, key: str | None = None, severity: str = "critical", **details: Any
) -> int:
    row = conn.execute(
        "SELECT ops.raise_alert(%s, %s, %s, %s, %s) AS id",
        (
            event,
            severity,
            f"{event} for the test",
            json.dumps(details),
            key or secrets.token_hex(8),
        ),
    ).fetchone()
    assert row is not None and isinstance(row["id"], int)
    return row["id"]


async def until(check: Callable[[], bool], seconds: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def alert_states(conn: Conn) -> dict[int, str]:
    rows = conn.execute("SELECT alert_id, state FROM ops.alert_outbox").fetchall()
    return {cast(int, r["alert_id"]): str(r["state"]) for r in rows}


def settled(conn: Conn, ids: list[int]) -> Callable[[], bool]:
    def check() -> bool:
        states = alert_states(conn)
        return all(states.get(i) in {"delivered", "dead"} for i in ids)

    return check


def deliveries(conn: Conn, alert_id: int) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM ops.alert_deliveries WHERE alert_id = %s", (alert_id,)
    ).fetchall()
    return {str(r["target"]): dict(r) for r in rows}
