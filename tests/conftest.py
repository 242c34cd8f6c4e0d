"""Fixtures: one throwaway server per run (or the harness's), one migrated database per run,
connections as starpass_app and as admin, and the invariant check after every test."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg.rows import dict_row
from pydantic import SecretStr

from app.api.app import create_app
from app.api.server import listening
from app.config import Settings
from app.db.cluster import Cluster
from tests.harness import (
    ScratchDatabase,
    create_database,
    drop_database,
    scratch_server,
    throwaway_cluster,
)

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(database: ScratchDatabase) -> Iterator[str]:
    """The service on a real port (a thread of its own), for clients that are not aiohttp's."""
    settings = Settings(
        database_url=database.app_url,
        promo_secret_pepper=SecretStr(PEPPER),
        internal_api_tokens_json=json.dumps(
            [
                {
                    "name": "schemathesis",
                    "token": LIVE_TOKEN,
                    "scopes": ["promo:admin", "promo:redeem", "metrics"],
                }
            ]
        ),
        _env_file=None,
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
    with connect(db.app_url) as conn:
        violations = conn.execute("SELECT * FROM api.check_invariants()").fetchall()
    assert violations == [], f"invariants violated: {violations}"
