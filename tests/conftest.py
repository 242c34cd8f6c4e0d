"""Fixtures: one throwaway server per run (or the harness's), one migrated database per run,
connections as starpass_app, as starpass_admin and as a superuser, and the invariant check
after every test."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import psycopg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from psycopg.rows import dict_row
from pydantic import SecretStr

from app.api.app import AccessLogger, create_app
from app.api.server import listening
from app.config import PROJECT_ROOT, Settings
from app.db.cluster import ALERTS_ROLE, Cluster
from tests.harness import (
    ScratchDatabase,
    create_database,
    drop_database,
    role_passwords,
    scratch_server,
    throwaway_cluster,
)
from tests.pooler import PgBouncer

Conn = psycopg.Connection[dict[str, object]]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with scratch_server() as url:
        yield url


@pytest.fixture(scope="session")
def database(pg_server: str) -> Iterator[ScratchDatabase]:
    db = create_database(pg_server)
    yield db
    drop_database(pg_server, db.name)


@pytest.fixture
def new_database(pg_server: str) -> Iterator[Callable[[], ScratchDatabase]]:
    """Fresh, migrated databases for tests that must not share state."""
    created: list[ScratchDatabase] = []

    def make() -> ScratchDatabase:
        db = create_database(pg_server)
        created.append(db)
        return db

    yield make
    for db in created:
        drop_database(pg_server, db.name)


# The pepper the tests hash codes with, set per connection as the app's pool does.
PEPPER = "pytest-pepper-0123456789abcdef-0123456789"


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A cluster of the test's own, which it may stop and start (readiness, outages)."""
    cluster = throwaway_cluster(Settings(_env_file=None))
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


LIVE_TOKEN = "t" * 40
Client = TestClient[web.Request, web.Application]
ClientForSettings = Callable[[Settings], Awaitable[Client]]


@pytest.fixture
async def client_for_settings() -> AsyncIterator[ClientForSettings]:
    """aiohttp test clients of the app built from given settings, closed afterwards."""
    clients: list[Client] = []

    async def make(settings: Settings) -> Client:
        server = TestServer(create_app(settings))
        await server.start_server(access_log_class=AccessLogger)  # as `starpass serve` does
        client = TestClient(server)
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def run_starpass(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real `starpass` entry point in a process of its own (60 s at most)."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli.main", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def leaks(secret: str, output: str) -> list[str]:
    """Every piece of 4 or more characters of the secret that shows in the output."""
    return [secret[i : i + 4] for i in range(len(secret) - 3) if secret[i : i + 4] in output]


# STARPASS_TEST_POOLED=1 (a second run in `make test`): the service's connections go through
# a PgBouncer in transaction mode in front of the test server (tests/pooler.py); the tests'
# own connections stay direct.
POOLED = os.environ.get("STARPASS_TEST_POOLED") == "1"
_poolers: list[PgBouncer] = []


@pytest.fixture(scope="session", autouse=POOLED)
def pooler(pg_server: str) -> Iterator[PgBouncer]:
    with PgBouncer(pg_server, role_passwords()) as bouncer:
        _poolers.append(bouncer)
        try:
            yield bouncer
        finally:
            _poolers.remove(bouncer)


def service_url(url: str) -> str:
    """Where the service connects for a login: through the pooler in a pooled run."""
    return _poolers[0].url(url) if _poolers else url


def service_settings(database: ScratchDatabase, **overrides: object) -> Settings:
    """The service's settings for a test database: each pool logs in as its own role."""
    values: dict[str, object] = {
        "database_url": service_url(database.app_url),
        "starpass_admin_database_url": service_url(database.staff_url),
        "promo_secret_pepper": SecretStr(PEPPER),
        **overrides,
    }
    if _poolers:
        values.setdefault(
            "starpass_alerts_database_url", service_url(database.role_urls[ALERTS_ROLE])
        )
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(database: ScratchDatabase) -> Iterator[str]:
    """The service on a real port (a thread of its own), for clients that are not aiohttp's."""
    settings = service_settings(
        database,
        internal_api_tokens_json=json.dumps(
            [
                {
                    "name": "schemathesis",
                    "token": LIVE_TOKEN,
                    "scopes": ["promo:admin", "promo:redeem", "metrics", "audit:read"],
                }
            ]
        ),
    )
    port = _free_port()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    async def serve() -> None:
        # The runner `starpass serve` uses, so aiohttp's own errors are answered as there.
        async with listening(create_app(settings), settings, "127.0.0.1", port):
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(30)
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)


def connect(url: str) -> Conn:
    return psycopg.connect(
        url, autocommit=True, row_factory=dict_row, options=f"-c promo.pepper={PEPPER}"
    )


@pytest.fixture
def app_conn(database: ScratchDatabase) -> Iterator[Conn]:
    with connect(database.app_url) as conn:
        yield conn


@pytest.fixture
def staff_conn(database: ScratchDatabase) -> Iterator[Conn]:
    """A real login as starpass_admin: what operators' tools and the admin API act as."""
    with connect(database.staff_url) as conn:
        yield conn


@pytest.fixture
def admin_conn(database: ScratchDatabase) -> Iterator[Conn]:
    """A superuser connection; it may move ops.clock, which is put back afterwards."""
    with connect(database.admin_url) as conn:
        try:
            yield conn
        finally:
            conn.execute("UPDATE ops.clock SET frozen_at = NULL, shift = interval '0'")


@pytest.fixture(autouse=True)
def invariants_hold(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that used the shared database, every invariant still holds."""
    yield
    if "database" not in request.fixturenames:
        return
    db: ScratchDatabase = request.getfixturevalue("database")
    with connect(db.staff_url) as conn:
        violations = conn.execute("SELECT * FROM api.check_invariants()").fetchall()
    assert violations == [], f"invariants violated: {violations}"
