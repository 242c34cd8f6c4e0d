"""`starpass serve`: health, readiness (and its recovery), problem+json, request ids."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from app.api.app import create_app
from app.config import Settings
from app.db.cluster import Cluster
from app.db.pool import create_pool
from app.logs import configure_logging
from tests.conftest import PEPPER as SHARED_PEPPER
from tests.conftest import Client, ClientForSettings
from tests.harness import ScratchDatabase

# The shared database's campaigns are hashed with this pepper: /readyz checks that it matches.
PEPPER = SecretStr(SHARED_PEPPER)
ClientFor = Callable[[str], Awaitable[Client]]


def _settings(url: str) -> Settings:
    return Settings(
        database_url=url, promo_secret_pepper=PEPPER, starpass_db_pool_min=1, _env_file=None
    )


@pytest.fixture
def client_for(client_for_settings: ClientForSettings) -> ClientFor:
    async def make(url: str) -> Client:
        return await client_for_settings(_settings(url))

    return make


async def test_healthz_and_readyz(client_for: ClientFor, database: ScratchDatabase) -> None:
    client = await client_for(database.app_url)
    health = await client.get("/healthz")
    assert health.status == 200 and await health.json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status == 200 and await ready.json() == {"status": "ready"}


async def test_unknown_route_and_method_are_problems(
    client_for: ClientFor, database: ScratchDatabase
) -> None:
    client = await client_for(database.app_url)
    missing = await client.get("/nope")
    assert missing.status == 404
    assert missing.content_type == "application/problem+json"
    body = await missing.json()
    assert body["status"] == 404 and body["code"] == "not_found" and body["title"] == "Not Found"
    wrong = await client.post("/healthz")
    assert wrong.status == 405
    assert (await wrong.json())["code"] == "method_not_allowed"
    assert "GET" in wrong.headers["Allow"]


async def test_request_id_is_echoed_or_made(
    client_for: ClientFor, database: ScratchDatabase
) -> None:
    client = await client_for(database.app_url)
    echoed = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["X-Request-Id"] == "abc-123"
    made = await client.get("/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
    assert made.headers["X-Request-Id"] != "bad id\twith spaces"
    assert len(made.headers["X-Request-Id"]) == 32


async def test_access_log_is_structured(
    client_for: ClientFor, database: ScratchDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging("INFO")
    client = await client_for(database.app_url)
    with caplog.at_level(logging.INFO, logger="app.access"):
        await client.get("/healthz?secret=do-not-log", headers={"X-Request-Id": "req-1"})
    records = [r for r in caplog.records if r.name == "app.access"]
    assert records, "no access log record"
    event = records[-1].msg
    assert isinstance(event, dict)
    assert event["event"] == "http_request" and event["status"] == 200
    assert event["path"] == "/healthz" and event["request_id"] == "req-1"
    assert "do-not-log" not in json.dumps(event, default=str)


async def _status_within(client: Client, path: str, want: int, seconds: float) -> int:
    status = -1
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        response = await client.get(path)
        status = response.status
        if status == want:
            return status
        await asyncio.sleep(0.5)
    return status


async def test_readyz_turns_503_while_database_is_down_and_recovers(
    client_for: ClientFor, own_cluster: Cluster
) -> None:
    client = await client_for(own_cluster.admin_url("postgres"))
    assert await _status_within(client, "/readyz", 200, 15) == 200

    await asyncio.to_thread(own_cluster.stop)
    down = await client.get("/readyz")
    assert down.status == 503
    assert down.content_type == "application/problem+json"
    assert (await down.json())["code"] == "database_unavailable"
    assert down.headers["Retry-After"] == "5"
    assert (await client.get("/healthz")).status == 200, "liveness does not depend on the database"

    await asyncio.to_thread(own_cluster.start)
    assert await _status_within(client, "/readyz", 200, 30) == 200


async def test_readyz_recovers_after_the_pool_gave_up_reconnecting(own_cluster: Cluster) -> None:
    settings = _settings(own_cluster.admin_url("postgres"))
    pool = create_pool(settings)
    pool.reconnect_timeout = 1.0  # the pool abandons reconnecting after 1 s (default 300 s)
    server = TestServer(create_app(settings, pool))
    client = TestClient(server)
    await client.start_server()
    try:
        assert await _status_within(client, "/readyz", 200, 15) == 200
        await asyncio.to_thread(own_cluster.stop)
        await asyncio.sleep(3)  # longer than the reconnect timeout: attempts were given up
        assert (await client.get("/readyz")).status == 503
        await asyncio.to_thread(own_cluster.start)
        assert await _status_within(client, "/readyz", 200, 30) == 200
        # /readyz asks over a connection of its own: the pool itself serves again too.
        async with pool.connection(timeout=30) as conn:
            await conn.execute("SELECT 1")
    finally:
        await client.close()
