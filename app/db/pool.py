"""The app's connection pool: role starpass_app, autocommit (each api call is its own
transaction), and `promo.pepper` set on every connection for the hashing functions; and the
database probe behind `/readyz`, which has a connection of its own."""

from __future__ import annotations

import asyncio
import time

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.config import Settings
from app.db.cluster import app_url

PROBE_TIMEOUT_SECONDS = 2.0
# Callers within this time of the last check share its answer: under load, one check a second.
PROBE_TTL_SECONDS = 1.0


def _connection_kwargs(settings: Settings, application_name: str) -> dict[str, object]:
    kwargs: dict[str, object] = {"autocommit": True, "application_name": application_name}
    if pepper_options := settings.pepper_options():
        # In the startup packet, not a statement: statement logging never sees the pepper.
        kwargs["options"] = pepper_options
    return kwargs


def create_pool(settings: Settings, conninfo: str | None = None) -> AsyncConnectionPool:
    return AsyncConnectionPool(
        conninfo or app_url(settings),
        min_size=settings.starpass_db_pool_min,
        max_size=settings.starpass_db_pool_max,
        kwargs=_connection_kwargs(settings, "starpass"),
        check=AsyncConnectionPool.check_connection,
        # A request waits this long for a connection (PoolTimeout), and no more than
        # max_waiting requests wait at once (TooManyRequests): excess load is shed fast.
        timeout=settings.starpass_db_pool_timeout_seconds,
        max_waiting=settings.starpass_db_pool_max_waiting,
        open=False,
        name="starpass",
    )


class DatabaseProbe:
    """Is PostgreSQL answering? Asked over a connection of its own, never a pool's, so a
    saturated pool does not look like an outage (to `/readyz`, or when a pool wait times out).
    One check at a time; callers within PROBE_TTL_SECONDS of a check share its answer."""

    def __init__(self, settings: Settings, conninfo: str | None = None) -> None:
        self._conninfo = conninfo or app_url(settings)
        self._kwargs = _connection_kwargs(settings, "starpass-probe")
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._lock = asyncio.Lock()
        self._checked_at = -PROBE_TTL_SECONDS
        self._reachable = False

    async def reachable(self) -> bool:
        async with self._lock:
            if time.monotonic() - self._checked_at >= PROBE_TTL_SECONDS:
                self._reachable = await self._check()
                self._checked_at = time.monotonic()
            return self._reachable

    async def _check(self) -> bool:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
                if self._conn is None or self._conn.closed:
                    self._conn = await psycopg.AsyncConnection.connect(
                        self._conninfo,
                        connect_timeout=int(PROBE_TIMEOUT_SECONDS),
                        **self._kwargs,  # type: ignore[arg-type]
                    )
                await self._conn.execute("SELECT 1")
            return True
        except (psycopg.Error, OSError, TimeoutError):
            await self.close()
            return False

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
