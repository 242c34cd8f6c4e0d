"""Stateless replicas of the service: three `starpass serve` processes against one database
deliver each alert once (dispatcher leases), process each Telegram update once (update id
dedup), and hold the throttle and the use limit across processes; and the read-only admin
endpoints read DATABASE_REPLICA_URL when it is set, while writes never do."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from app.api.app import create_app
from app.bot.sandbox import SANDBOX_TOKEN, Sandbox, create_sandbox_app
from app.bot.webhook import WEBHOOK_PATH
from app.config import PROJECT_ROOT
from app.db.cluster import ALERTS_ROLE
from tests.alerting import Receiver, free_port, raise_alert, until
from tests.conftest import PEPPER, Conn, connect, service_settings, service_url
from tests.harness import ScratchDatabase

ADMIN = "a" * 40
REDEEM = "r" * 40
TOKENS = [
    {"name": "ops", "token": ADMIN, "scopes": ["promo:admin", "promo:redeem"]},
    {"name": "bot-backend", "token": REDEEM, "scopes": ["promo:redeem"]},
]
SECRET = "replica-webhook-secret"
GENERIC = "/generic"
REPLICAS = 3


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _campaign_sql(conn: Conn, code: str, campaign: str, max_uses: int | None = None) -> int:
    row = conn.execute(
        "SELECT api.create_promo_code(p_code => %s, p_kind => 'PREMIUM_GRANT',"
        " p_campaign => %s, p_grant_days => 7, p_max_uses => %s) AS id",
        (code, campaign, max_uses),
    ).fetchone()
    assert row is not None
    return int(str(row["id"]))


async def test_read_only_endpoints_use_the_replica_url_and_writes_never(
    new_database: object,
) -> None:
    """The "replica" is a second database on the same server with a campaign of its own: a
    read that shows it was served by the replica pool; a write lands on the primary only."""
    primary, replica = new_database(), new_database()  # type: ignore[operator]
    with connect(replica.staff_url) as conn:
        on_replica = _campaign_sql(conn, "REPLICA" + secrets.token_hex(4).upper(), "on replica")
    settings = service_settings(
        primary,
        internal_api_tokens_json=json.dumps(TOKENS),
        database_replica_url=service_url(replica.staff_url),
    )
    async with TestClient(TestServer(create_app(settings, alerts=False))) as client:
        got = await client.get(f"/internal/promo/campaigns/{on_replica}", headers=auth(ADMIN))
        assert got.status == 200 and (await got.json())["campaign"] == "on replica"
        listed = await client.get("/internal/promo/campaigns", headers=auth(ADMIN))
        assert [c["campaign"] for c in (await listed.json())["items"]] == ["on replica"]
        created = await client.post(
            "/internal/promo/campaigns",
            json={
                "code": "PRIMARY" + secrets.token_hex(4).upper(),
                "kind": "PREMIUM_GRANT",
                "campaign": "on primary",
                "grant_days": 7,
            },
            headers=auth(ADMIN),
        )
        assert created.status == 201, await created.text()
        # A status change is a write: it changes the primary's campaign, never the replica's.
        primary_id = (await created.json())["promo_code_id"]
        status = await client.post(
            f"/internal/promo/campaigns/{primary_id}/status",
            json={"status": "PAUSED", "reason": "replica test"},
            headers=auth(ADMIN),
        )
        assert status.status == 200, await status.text()
    for db, expected in (
        (primary, [("on primary", "PAUSED")]),
        (replica, [("on replica", "ACTIVE")]),
    ):
        with connect(db.admin_url) as conn:
            rows = conn.execute(
                "SELECT campaign, status FROM promo.promo_codes"
                " WHERE campaign LIKE 'on %' ORDER BY 1"
            ).fetchall()
        assert [(r["campaign"], r["status"]) for r in rows] == expected


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[Sandbox, str]]:
    box = Sandbox()
    runner = web.AppRunner(create_sandbox_app(box))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield box, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver(free_port())
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


@pytest.fixture
def replicas(
    new_database: object, sandbox: tuple[Sandbox, str], receiver: Receiver
) -> Iterator[tuple[ScratchDatabase, list[str]]]:
    """Three `starpass serve` processes (bot webhook and alert dispatcher in each) on one
    database: through the test PgBouncer in a pooled run."""
    db = new_database()  # type: ignore[operator]
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE_", "STARPASS_"))
    }
    env.update(
        {
            "DATABASE_URL": service_url(db.app_url),
            "STARPASS_ADMIN_DATABASE_URL": service_url(db.staff_url),
            "STARPASS_ALERTS_DATABASE_URL": service_url(db.role_urls[ALERTS_ROLE]),
            "PROMO_SECRET_PEPPER": PEPPER,
            "INTERNAL_API_TOKENS_JSON": json.dumps(TOKENS),
            "TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_BASE_URL": sandbox[1],
            "OPS_ALERT_WEBHOOK_URL": f"{receiver.base}{GENERIC}",
            "STARPASS_ALERTS_POLL_SECONDS": "0.5",
            "STARPASS_LOG_LEVEL": "WARNING",
        }
    )
    ports = [free_port() for _ in range(REPLICAS)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli.main", "serve", "--port", str(port)],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        yield db, [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(15)


async def _ready(session: aiohttp.ClientSession, urls: list[str]) -> None:
    deadline = time.monotonic() + 60
    for url in urls:
        while True:
            try:
                async with session.get(f"{url}/readyz") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline, f"{url} did not get ready"
            await asyncio.sleep(0.2)


async def test_three_replicas_share_one_database(
    replicas: tuple[ScratchDatabase, list[str]],
    sandbox: tuple[Sandbox, str],
    receiver: Receiver,
) -> None:
    db, urls = replicas
    box = sandbox[0]
    async with aiohttp.ClientSession() as session:
        await _ready(session, urls)

        # Each Telegram update, delivered again to the other replicas after the first answered
        # (Telegram redelivers an update only after an answer or a timeout; a load balancer
        # may send each delivery elsewhere), is processed once: one answer to the user.
        user = 8 * 10**12 + secrets.randbelow(10**9)
        updates = [box.text_update(user + i, "/privacy") for i in range(5)]

        async def post(url: str, update: dict[str, object]) -> int:
            async with session.post(
                url + WEBHOOK_PATH,
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            ) as r:
                return r.status

        async def deliver_everywhere(n: int, update: dict[str, object]) -> list[int]:
            return [await post(urls[(n + k) % REPLICAS], update) for k in range(REPLICAS)]

        deliveries = await asyncio.gather(
            *(deliver_everywhere(n, u) for n, u in enumerate(updates))
        )
        assert {status for statuses in deliveries for status in statuses} == {200}
        sent = Counter(c["params"]["chat_id"] for c in box.calls if c["method"] == "sendMessage")
        assert sent == {str(user + i): 1 for i in range(5)}

        # The use limit: 30 users redeem a 10-use code, spread over the replicas.
        with connect(db.staff_url) as conn:
            code = "REPL" + secrets.token_hex(5).upper()
            _campaign_sql(conn, code, "replicas", max_uses=10)

        async def redeem(i: int, user_id: int, code: str) -> tuple[int, str]:
            async with session.post(
                urls[i % REPLICAS] + "/internal/promo/redeem",
                json={"user_id": user_id, "code": code, "idempotency_key": f"rk-{user_id}-{i}"},
                headers=auth(REDEEM),
            ) as r:
                body = await r.json()
                return r.status, str(body.get("outcome", body.get("code")))

        base = 9 * 10**12 + secrets.randbelow(10**9)
        outcomes = Counter(
            o for _, o in await asyncio.gather(*(redeem(i, base + i, code) for i in range(30)))
        )
        assert outcomes == {"APPLIED": 10, "DEPLETED": 20}

        # The throttle: one user's wrong codes, each to the next replica; the 5th blocks it
        # everywhere.
        wrong = [await redeem(i, base + 100, f"NOPE{i}XYZ") for i in range(5)]
        assert wrong[:4] == [(200, "NOT_FOUND")] * 4
        for i in range(REPLICAS):
            status, _ = await redeem(10 + i, base + 100, code)
            assert status == 429

        # Each alert is delivered once, whichever replica's dispatcher claimed it (fewer than
        # the default flood limit of 5 a window, which would fold more into a digest).
        with connect(db.admin_url) as conn:
            ids = [
                raise_alert(conn, "payments.unknown_charge", key=f"replica-{i}", user_id=i)
                for i in range(4)  # under the flood limit: each its own message
            ]
        await until(lambda: len(receiver.on(GENERIC)) >= len(ids), 30, "alert deliveries")
        await asyncio.sleep(2)  # time for a second delivery, were there one
        delivered = Counter(json.dumps(r.body, sort_keys=True) for r in receiver.on(GENERIC))
        assert len(receiver.on(GENERIC)) == len(ids)
        assert all(n == 1 for n in delivered.values())
