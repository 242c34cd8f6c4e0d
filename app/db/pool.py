"""The service's connection pools, one per database role it acts as (starpass_app for what
users trigger, starpass_admin for the admin API): autocommit (each api call is its own
transaction), no session state (a pooler in transaction mode, PgBouncer, hands each
transaction any server connection): `promo.pepper` is set per transaction in the same round
trip as the call (`peppered`), and no server-side prepared statements; timestamps Python
cannot hold are loaded as strings (app/db/timestamps.py); and the database probe behind
`/readyz`, which has a connection of its own."""

from __future__ import annotations

import asyncio
import select
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool
from psycopg_pool.base import AttemptWithBackoff

from app.config import Settings
from app.db import timestamps
from app.db.cluster import ADMIN_ROLE, ALERTS_ROLE, APP_ROLE, role_url

PROBE_TIMEOUT_SECONDS = 2
ALERTS_POOL_MAX = 4
# Callers within this time of the last check share its answer: under load, one check a second.
PROBE_TTL_SECONDS = 1.0


# A failed connection attempt is retried after at most this long. psycopg_pool doubles its delay
# from 1 s (1, 2, 4, 8 s): a 10 s failover kept the service answering 503 for 16 s.
RECONNECT_DELAY_MAX_SECONDS = 1.0


class PromptReconnect(AttemptWithBackoff):
    """psycopg_pool's reconnection attempt with its delay capped: the service is back within a
    second of the database (a reconnect attempt is one connect, cheap for the server)."""

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, RECONNECT_DELAY_MAX_SECONDS)


class Pool(AsyncConnectionPool):
    """AsyncConnectionPool whose lost connections are replaced promptly (PromptReconnect)."""

    async def _add_connection(
        self, attempt: AttemptWithBackoff | None, growing: bool = False
    ) -> None:
        await super()._add_connection(
            attempt or PromptReconnect(timeout=self.reconnect_timeout), growing
        )


# A connection back in the pool within this time is handed out again unchecked.
IDLE_CHECK_SECONDS = 5.0
_returned_at: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], float] = (
    weakref.WeakKeyDictionary()
)


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    timestamps.register(conn)


async def _note_return(conn: psycopg.AsyncConnection[Any]) -> None:
    _returned_at[conn] = time.monotonic()


def _server_spoke(conn: psycopg.AsyncConnection[Any]) -> bool:
    """Whether an idle connection has input waiting: the server said something unasked (it
    terminated the session, or closed the socket). Asks the socket, not the server."""
    try:
        ready, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    except (OSError, ValueError, psycopg.OperationalError):
        return True
    return bool(ready)


async def _check_if_idle(conn: psycopg.AsyncConnection[Any]) -> None:
    """Check (an empty query) a connection that sat idle, or that the server has spoken to
    since (a restart terminates every session): a check per request would double a busy
    pool's round trips, and a connection that served a request a moment ago and has heard
    nothing since was healthy then. A broken one fails the check and is replaced."""
    idle = time.monotonic() - _returned_at.get(conn, float("-inf"))
    if conn.closed or idle >= IDLE_CHECK_SECONDS or _server_spoke(conn):
        await AsyncConnectionPool.check_connection(conn)


def connection_kwargs(settings: Settings, application_name: str = APP_ROLE) -> dict[str, object]:
    """How every app connection is opened, pooled or not: nothing a pooler in transaction mode
    would refuse (no startup `options`: PgBouncer rejects them) or route wrongly (psycopg
    prepares no statement: a prepared statement lives on one server connection)."""
    del settings  # the pepper is no session setting any more: see `peppered`
    return {"autocommit": True, "application_name": application_name, "prepare_threshold": None}


Pepper = tuple[str, tuple[str, ...]]


def pepper_statement(settings: Settings) -> Pepper | None:
    """The statement that sets the pepper(s) for one transaction (`set_config(…, true)`), the
    values as bound parameters: the statement text never holds a pepper. None without one."""
    pairs = settings.pepper_settings()
    if not pairs:
        return None
    calls = ", ".join(f"set_config('{name}', %s, true)" for name, _ in pairs)
    return f"SELECT {calls}", tuple(value for _, value in pairs)


# The pepper statement of each pool create_pool made (pools without one set no pepper).
_pool_peppers: weakref.WeakKeyDictionary[AsyncConnectionPool, Pepper] = weakref.WeakKeyDictionary()


def pool_pepper(pool: AsyncConnectionPool) -> Pepper | None:
    return _pool_peppers.get(pool)


@asynccontextmanager
async def peppered(
    conn: psycopg.AsyncConnection[Any], pepper: Pepper | None, transaction: bool = False
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """`conn` with the pepper set for what runs in the block, in the same round trip as the
    first call: in a pipeline, the `set_config(…, true)` and the calls up to the pipeline's
    Sync are one (implicit) transaction, so the pepper holds for exactly those calls on
    whichever server connection a pooler picked, and ends with them. `transaction`: an
    explicit transaction for calls that need an answer before the next one (all or none is
    committed)."""
    if pepper is None:
        if transaction:
            async with conn.transaction():
                yield conn
        else:
            yield conn
        return
    async with conn.pipeline():
        if transaction:
            async with conn.transaction():
                await conn.execute(pepper[0], pepper[1])
                yield conn
        else:
            await conn.execute(pepper[0], pepper[1])
            yield conn


@contextmanager
def peppered_sync(conn: psycopg.Connection[Any], settings: Settings) -> Iterator[None]:
    """`peppered` for a blocking connection (the check before `starpass serve` listens)."""
    pepper = pepper_statement(settings)
    if pepper is None:
        yield
        return
    with conn.pipeline():
        conn.execute(pepper[0], pepper[1])
        yield


def create_pool(
    settings: Settings,
    conninfo: str | None = None,
    role: str = APP_ROLE,
    application_name: str | None = None,
) -> AsyncConnectionPool:
    sizes = {
        ADMIN_ROLE: (0, settings.starpass_admin_pool_max),
        # The alert dispatcher: a few concurrent sends, each one call at a time.
        ALERTS_ROLE: (0, ALERTS_POOL_MAX),
    }.get(role, (settings.starpass_db_pool_min, settings.starpass_db_pool_max))
    pool = Pool(
        conninfo or role_url(settings, role),
        min_size=sizes[0],
        max_size=sizes[1],
        kwargs=connection_kwargs(settings, application_name or role),
        check=_check_if_idle,
        configure=_configure,
        reset=_note_return,
        # A request waits this long for a connection (PoolTimeout), and no more than
        # max_waiting requests wait at once (TooManyRequests): excess load is shed fast.
        timeout=settings.starpass_db_pool_timeout_seconds,
        max_waiting=settings.starpass_db_pool_max_waiting,
        open=False,
        name=application_name or role,
    )
    if pepper := pepper_statement(settings):
        _pool_peppers[pool] = pepper
    return pool


class DatabaseProbe:
    """Is PostgreSQL answering? Asked over a connection of its own, never a pool's, so a
    saturated pool does not look like an outage (to `/readyz`, or when a pool wait times out).
    One check at a time: callers during a check share its answer, and callers within `max_age`
    of the last check get that one (under load, one check a second)."""

    def __init__(self, settings: Settings, conninfo: str | None = None) -> None:
        self._conninfo = conninfo or role_url(settings, APP_ROLE)
        self._kwargs = connection_kwargs(settings, "starpass-probe")
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._checking: asyncio.Future[bool] | None = None
        self._checked_at = float("-inf")
        self._reachable = False

    async def reachable(self, max_age: float = PROBE_TTL_SECONDS) -> bool:
        if time.monotonic() - self._checked_at < max_age:
            return self._reachable
        if self._checking is None:
            self._checking = asyncio.ensure_future(self._check_once())
        # Shielded: a caller that gives up does not cancel the check the others wait for.
        return await asyncio.shield(self._checking)

    async def _check_once(self) -> bool:
        try:
            self._reachable = await self._check()
            self._checked_at = time.monotonic()
            return self._reachable
        finally:
            self._checking = None

    async def _check(self) -> bool:
        # In a thread, with libpq's own timeouts: a busy event loop (thousands of requests in
        # flight) delays the answer but cannot turn it into a false "unreachable".
        return await asyncio.to_thread(self._check_in_thread)

    def _check_in_thread(self) -> bool:
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(
                    self._conninfo,
                    connect_timeout=PROBE_TIMEOUT_SECONDS,
                    tcp_user_timeout=PROBE_TIMEOUT_SECONDS * 1000,  # ms; an unanswered query
                    **self._kwargs,  # type: ignore[arg-type]
                )
            self._conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            self.close()
            return False

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
