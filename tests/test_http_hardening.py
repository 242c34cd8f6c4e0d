"""Regression tests from the API review: no 5xx from client input, no token in any log, every
endpoint behind its scope, the caller's token name as the audit actor, and a fast 503 while the
database is down."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from app.api.app import create_app
from app.config import Settings
from app.db.cluster import Cluster
from app.db.migrate import migrate
from tests.conftest import LIVE_TOKEN, PEPPER, Conn, service_settings
from tests.harness import ScratchDatabase
from tests.test_http_promo import ADMIN, REDEEM, SUPPORT, TOKENS, Client, _campaign, auth

ENDPOINTS = [  # (method, path, body, scope)
    (
        "POST",
        "/internal/promo/redeem",
        {"user_id": 1, "code": "X", "idempotency_key": "k" * 8},
        "promo:redeem",
    ),
    ("POST", "/internal/promo/campaigns", {}, "promo:admin"),
    ("GET", "/internal/promo/campaigns", None, "promo:admin"),
    ("GET", "/internal/promo/campaigns/1", None, "promo:admin"),
    (
        "POST",
        "/internal/promo/campaigns/1/status",
        {"status": "PAUSED", "reason": "x"},
        "promo:admin",
    ),
    (
        "POST",
        "/internal/promo/refund-rollback",
        {"purchase_id": 1, "idempotency_key": "k" * 8},
        "promo:admin",
    ),
    ("GET", "/internal/promo/users/1/throttle", None, "promo:admin"),
    ("DELETE", "/internal/promo/users/1/throttle?reason=x", None, "promo:admin"),
]


@pytest.fixture
async def client(database: ScratchDatabase) -> AsyncIterator[Client]:
    settings = service_settings(database, internal_api_tokens_json=json.dumps(TOKENS))
    async with TestClient(TestServer(create_app(settings))) as c:
        yield c


@pytest.mark.parametrize(("method", "path", "body", "scope"), ENDPOINTS)
async def test_every_endpoint_needs_its_scope(
    client: Client, method: str, path: str, body: object, scope: str
) -> None:
    assert (await client.request(method, path, json=body)).status == 401
    assert (await client.request(method, path, json=body, headers=auth("x" * 40))).status == 401
    lacking = SUPPORT if scope == "promo:redeem" else REDEEM
    assert (await client.request(method, path, json=body, headers=auth(lacking))).status == 403
    allowed = await client.request(method, path, json=body, headers=auth(ADMIN))
    assert allowed.status not in (401, 403) and allowed.status < 500


def cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": value}).encode()).decode()


async def test_no_5xx_from_odd_input(client: Client) -> None:
    admin, url = auth(ADMIN), "/internal/promo/campaigns"
    checks = [
        (await client.get(f"{url}?limit=99999999999", headers=admin), 422),
        (await client.get(f"{url}?limit=-1", headers=admin), 422),
        (await client.get(f"{url}?status=GONE", headers=admin), 422),
        (await client.get(f"{url}?cursor={cursor(True)}", headers=admin), 422),
        (await client.get(f"{url}?cursor={cursor(2**63)}", headers=admin), 422),
        (
            await client.post(
                "/internal/promo/refund-rollback",
                json={"purchase_id": 2**63, "idempotency_key": "k" * 8},
                headers=admin,
            ),
            422,
        ),
        (
            await client.post(
                "/internal/promo/redeem",
                data="[" * 5000 + "]" * 5000,
                headers={**auth(REDEEM), "Content-Type": "application/json"},
            ),
            400,
        ),
        (
            await client.post(
                "/internal/promo/redeem",
                data='{"user_id": ' + "9" * 5000 + "}",
                headers={**auth(REDEEM), "Content-Type": "application/json"},
            ),
            400,
        ),
        (
            await client.post(
                "/internal/promo/redeem",
                json={"user_id": 1, "code": "X"},
                headers={**auth(REDEEM), "Idempotency-Key": "bad key!"},
            ),
            422,
        ),
        (
            await client.post(
                url,
                json={
                    "code": "NAIVEDATE01",
                    "kind": "PREMIUM_GRANT",
                    "campaign": "n",
                    "grant_days": 1,
                    "starts_at": "2030-01-01T00:00:00",
                },
                headers=admin,
            ),
            422,
        ),
        (
            await client.delete(
                "/internal/promo/users/1/throttle?reason=" + "r" * 1001, headers=admin
            ),
            422,
        ),
    ]
    for response, want in checks:
        assert response.status == want, (want, await response.text())


async def _raw(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    await writer.drain()
    data = await reader.read(4096)
    writer.close()
    return data


async def test_broken_headers_never_leak_a_token_or_crash(
    live_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        bad_bytes = await _raw(
            live_server,
            b"GET /internal/promo/campaigns HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer \xff\xfe"
            + LIVE_TOKEN.encode()
            + b"\r\nConnection: close\r\n\r\n",
        )
        await _raw(
            live_server,
            b"GET /internal/promo/campaigns HTTP/1.1\r\nHost: x\r\n"
            b"Authorization : Bearer SECRETTOKEN"
            + LIVE_TOKEN.encode()
            + b"\r\nConnection: close\r\n\r\n",
        )
        await asyncio.sleep(0.2)
    assert bad_bytes.startswith(b"HTTP/1.1 401"), bad_bytes[:80]
    logged = "\n".join(r.getMessage() + str(r.exc_text or "") for r in caplog.records)
    assert LIVE_TOKEN not in logged and "SECRETTOKEN" not in logged


async def test_the_token_name_is_the_audit_actor(client: Client, admin_conn: Conn) -> None:
    _, campaign = await _campaign(client)
    cid = campaign["promo_code_id"]
    await client.post(
        f"/internal/promo/campaigns/{cid}/status",
        json={"status": "PAUSED", "reason": "a"},
        headers=auth(SUPPORT),
    )
    await client.post(
        "/internal/promo/redeem",
        json={"user_id": 77, "code": "NOPE1", "idempotency_key": "actor-k-1"},
        headers=auth(REDEEM),
    )
    actors = admin_conn.execute(
        "SELECT action, actor FROM ops.audit_log WHERE target_id = %s ORDER BY audit_id",
        (str(cid),),
    ).fetchall()
    assert actors == [
        {"action": "promo.campaign_created", "actor": "ops-console"},
        {"action": "promo.campaign_paused", "actor": "support-tool"},
    ]


async def test_api_calls_answer_503_fast_while_the_database_is_down(own_cluster: Cluster) -> None:
    settings = Settings(
        database_url=own_cluster.admin_url("postgres"),
        promo_secret_pepper=SecretStr(PEPPER),
        internal_api_tokens_json=json.dumps(TOKENS),
        _env_file=None,
    )
    async with TestClient(TestServer(create_app(settings))) as c:
        await asyncio.to_thread(own_cluster.stop)
        started = time.monotonic()
        response = await c.get("/internal/promo/users/1/throttle", headers=auth(ADMIN))
        assert response.status == 503 and response.headers["Retry-After"] == "5"
        assert (await response.json())["code"] == "database_unavailable"
        assert time.monotonic() - started < 10


async def test_the_service_is_back_within_seconds_of_a_long_outage(own_cluster: Cluster) -> None:
    """psycopg_pool doubles its reconnect delay (1, 2, 4, 8, 16 s): after 16 s down its next
    attempt would come 15 s after the server is back. Ours come at most a second apart."""
    await asyncio.to_thread(migrate, own_cluster.admin_url("postgres"))
    settings = Settings(
        database_url=own_cluster.admin_url("postgres"),
        promo_secret_pepper=SecretStr(PEPPER),
        internal_api_tokens_json=json.dumps(TOKENS),
        _env_file=None,
    )
    body = {"user_id": 1, "code": "NOPE1", "idempotency_key": "outage-1"}

    async def redeem() -> int:  # the users' pool (min_size 1), whose connection is kept
        return (await c.post("/internal/promo/redeem", json=body, headers=auth(REDEEM))).status

    async with TestClient(TestServer(create_app(settings))) as c:
        assert await redeem() == 200
        await asyncio.to_thread(own_cluster.stop)
        down_until = time.monotonic() + 16
        while time.monotonic() < down_until:  # requests meanwhile: the pool notices and retries
            assert await redeem() == 503
            await asyncio.sleep(1)
        await asyncio.to_thread(own_cluster.start)
        back = time.monotonic()
        while await redeem() != 200:
            assert time.monotonic() - back < 5, "the pool did not reconnect within 5 s"
            await asyncio.sleep(0.2)
