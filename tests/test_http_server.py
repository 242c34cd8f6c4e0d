"""The HTTP server from outside, over raw sockets where it matters: aiohttp's own refusals as
problems that echo nothing, no versions in `Server`, body and header read timeouts, client
aborts counted apart, a saturated pool answered as `overloaded` while `/readyz` stays up, and
`/metrics` behind the `metrics` scope."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp.test_utils import TestClient, TestServer
from psycopg.conninfo import make_conninfo

from app.api.app import create_app
from app.api.keys import ADMIN_POOL, POOL
from app.api.server import listening
from app.config import Settings
from app.logs import configure_logging
from tests.conftest import LIVE_TOKEN, _free_port, service_settings
from tests.harness import ScratchDatabase
from tests.test_http_promo import ADMIN, METRICS, REDEEM, TOKENS, auth

Address = tuple[str, int]


def _settings(database: ScratchDatabase, **overrides: object) -> Settings:
    return service_settings(database, internal_api_tokens_json=json.dumps(TOKENS), **overrides)


@asynccontextmanager
async def _serving(settings: Settings) -> AsyncIterator[Address]:
    """The app on a real port through the runner `starpass serve` uses, in this test's loop."""
    address = ("127.0.0.1", _free_port())
    async with listening(create_app(settings), settings, *address):
        yield address


def _address(url: str) -> Address:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


async def _exchange(address: Address, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes the connection (or 15 s pass)."""
    reader, writer = await asyncio.open_connection(*address)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 15)
    finally:
        writer.close()


def _split(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


BAD_REQUESTS = {
    "NUL in the bearer token": b"GET /internal/promo/campaigns HTTP/1.1\r\nHost: x\r\n"
    b"Authorization: Bearer " + LIVE_TOKEN.encode() + b"\x00zz\r\n\r\n",
    "header line over 8 KiB": b"GET /internal/promo/campaigns HTTP/1.1\r\nHost: x\r\n"
    b"Authorization: Bearer " + LIVE_TOKEN.encode() + b"z" * 9000 + b"\r\n\r\n",
    "bad request line": b"GET /internal/" + LIVE_TOKEN.encode() + b" HTTP/1.1 junk\r\n\r\n",
    "not HTTP at all": b"\x16\x03\x01\x02\x00\x01\x00" + LIVE_TOKEN.encode() + b"\r\n\r\n",
}


@pytest.mark.parametrize("request_bytes", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
async def test_unparsable_requests_are_problems_that_echo_nothing(
    live_server: str, request_bytes: bytes
) -> None:
    raw = await _exchange(_address(live_server), request_bytes)
    status, headers, body = _split(raw)
    assert LIVE_TOKEN.encode() not in raw and b"zz" not in raw, raw
    assert status == 400
    assert headers["content-type"].split(";")[0] == "application/problem+json"
    assert headers["server"] == "starpass"
    problem = json.loads(body)
    assert problem["status"] == 400 and problem["code"] == "bad_request"


async def test_no_response_names_versions(live_server: str) -> None:
    for path in ("/healthz", "/nope", "/internal/promo/campaigns"):
        raw = await _exchange(
            _address(live_server),
            f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
        )
        assert _split(raw)[1]["server"] == "starpass", raw[:300]


def _post_head(length: int, token: str = REDEEM) -> bytes:
    return (
        f"POST /internal/promo/redeem HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


async def test_a_body_that_does_not_arrive_is_a_408_and_the_connection_closes(
    database: ScratchDatabase,
) -> None:
    async with _serving(_settings(database, starpass_http_body_timeout_seconds=0.5)) as address:
        raw = await _exchange(address, _post_head(16 * 1024) + b"{")
    status, headers, body = _split(raw)
    assert status == 408, raw[:300]
    assert headers["content-type"].split(";")[0] == "application/problem+json"
    assert headers["connection"] == "close"
    assert json.loads(body)["code"] == "request_timeout"


async def test_headers_that_do_not_arrive_close_the_connection(database: ScratchDatabase) -> None:
    async with _serving(
        _settings(database, starpass_http_keepalive_timeout_seconds=0.5)
    ) as address:
        # The request line and a header, never the blank line that ends the headers.
        assert await _exchange(address, b"GET /healthz HTTP/1.1\r\nHost: x\r\n") == b""


async def _scrape(address: Address) -> str:
    raw = await _exchange(
        address,
        f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {METRICS}\r\n"
        "Connection: close\r\n\r\n".encode(),
    )
    status, _, body = _split(raw)
    assert status == 200, raw[:300]
    return body.decode()


async def test_a_client_that_disconnects_mid_body_is_an_abort_not_a_500(
    database: ScratchDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging("INFO")
    redeem_499 = 'route="/internal/promo/redeem",status="499"'
    with caplog.at_level(logging.INFO):
        async with _serving(_settings(database)) as address:
            _, writer = await asyncio.open_connection(*address)
            writer.write(_post_head(1000) + b'{"user_id": 1')
            await writer.drain()
            await asyncio.sleep(0.5)  # the server is reading the body now
            writer.close()
            for _ in range(50):
                scraped = await _scrape(address)
                if redeem_499 in scraped:
                    break
                await asyncio.sleep(0.2)
    assert redeem_499 in scraped, scraped
    assert 'status="500"' not in scraped
    events = [r.msg for r in caplog.records if isinstance(r.msg, dict)]
    aborted = [e for e in events if e["event"] == "client_aborted"]
    assert aborted and aborted[0]["path"] == "/internal/promo/redeem", events
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a client abort"


async def test_a_saturated_pool_is_overloaded_not_an_outage(database: ScratchDatabase) -> None:
    settings = _settings(
        database,
        starpass_db_pool_min=1,
        starpass_db_pool_max=1,
        starpass_admin_pool_max=1,
        starpass_db_pool_timeout_seconds=0.5,
    )
    app = create_app(settings)
    async with TestClient(TestServer(app)) as client:
        # The admin API's pool (the throttle endpoint's) with its only connection held.
        async with app[ADMIN_POOL].connection():
            response = await client.get("/internal/promo/users/1/throttle", headers=auth(ADMIN))
            assert response.status == 503
            assert (await response.json())["code"] == "overloaded"
            assert response.headers["Retry-After"] == "1"
            ready = await client.get("/readyz")
            assert ready.status == 200, await ready.text()
        after = await client.get("/internal/promo/users/1/throttle", headers=auth(ADMIN))
        assert after.status == 200


async def test_an_admin_pool_that_cannot_log_in_is_unavailable_not_overloaded(
    database: ScratchDatabase,
) -> None:
    """The probe logs in as starpass_app and succeeds; the admin pool's role cannot log in at
    all. That is not load: `database_unavailable`, not `overloaded` with a 1 s retry."""
    broken = make_conninfo(database.staff_url, user="starpass_no_such_role")
    settings = _settings(
        database, starpass_admin_database_url=broken, starpass_db_pool_timeout_seconds=0.5
    )
    app = create_app(settings)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/internal/promo/users/1/throttle", headers=auth(ADMIN))
        assert response.status == 503
        assert (await response.json())["code"] == "database_unavailable"
        assert (await client.get("/readyz")).status == 200, "the user-facing side is fine"


async def test_readyz_stays_up_while_the_user_facing_pool_is_saturated(
    database: ScratchDatabase,
) -> None:
    settings = _settings(database, starpass_db_pool_min=1, starpass_db_pool_max=1)
    app = create_app(settings)
    # The pool's only connection held: the pepper check cannot get one.
    async with TestClient(TestServer(app)) as client, app[POOL].connection():
        for _ in range(3):
            ready = await client.get("/readyz")
            assert ready.status == 200, await ready.text()


async def test_the_pool_queue_is_bounded(database: ScratchDatabase) -> None:
    settings = _settings(
        database,
        starpass_db_pool_min=1,
        starpass_db_pool_max=1,
        starpass_admin_pool_max=1,
        starpass_db_pool_timeout_seconds=30,
        starpass_db_pool_max_waiting=1,
    )
    app = create_app(settings)
    async with TestClient(TestServer(app)) as client:
        pool = app[ADMIN_POOL]
        async with pool.connection():
            queued = asyncio.create_task(
                client.get("/internal/promo/users/1/throttle", headers=auth(ADMIN))
            )
            for _ in range(200):  # until the first request waits in the pool's queue
                if pool.get_stats().get("requests_waiting", 0) >= 1:
                    break
                await asyncio.sleep(0.05)
            # The queue is full: refused at once, not after the 30 s pool timeout.
            shed = await client.get("/internal/promo/users/1/throttle", headers=auth(ADMIN))
            assert shed.status == 503 and (await shed.json())["code"] == "overloaded"
        assert (await queued).status == 200


async def test_metrics_need_the_metrics_scope(database: ScratchDatabase) -> None:
    async with TestClient(TestServer(create_app(_settings(database)))) as client:
        assert (await client.get("/metrics")).status == 401
        assert (await client.get("/metrics", headers=auth("x" * 40))).status == 401
        lacking = await client.get("/metrics", headers=auth(ADMIN))  # every scope but metrics
        assert lacking.status == 403 and (await lacking.json())["code"] == "forbidden"
        allowed = await client.get("/metrics", headers=auth(METRICS))
        assert allowed.status == 200 and "starpass_db_pool_connections" in await allowed.text()
