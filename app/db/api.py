"""One async call per `api` SQL function the HTTP layer uses. Rows come back as dicts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout, TooManyRequests

from app.db.pool import peppered, pool_pepper

Row = dict[str, Any]


class PoolWaitFailed(PoolTimeout):
    """No connection of `pool` in time (or its queue was full): the HTTP layer tells load from
    a pool that cannot log in at all (pool_size 0) by looking at the pool."""

    def __init__(self, pool: AsyncConnectionPool, cause: PoolTimeout | TooManyRequests) -> None:
        super().__init__(str(cause))
        self.pool = pool


def refusal_reason(exc: psycopg.Error) -> str | None:
    """The stable reason of a project refusal (SQLSTATE class SP): the SQL functions raise it in
    the error's CONSTRAINT field (docs/errors.md). None for any other error."""
    if (exc.sqlstate or "").startswith("SP"):
        return exc.diag.constraint_name
    return None


@asynccontextmanager
async def pooled(pool: AsyncConnectionPool) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection of `pool` as it is (no pepper), its exhaustion raised as PoolWaitFailed."""
    try:
        async with pool.connection() as conn:
            yield conn
    except (PoolTimeout, TooManyRequests) as exc:
        if isinstance(exc, PoolWaitFailed):
            raise
        raise PoolWaitFailed(pool, exc) from exc


@asynccontextmanager
async def connection(
    pool: AsyncConnectionPool, transaction: bool = False
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection of `pool` with the pepper set for the calls in the block (one implicit
    transaction; an explicit one with `transaction`), whatever a pooler's server connection
    carried before."""
    async with pooled(pool) as conn, peppered(conn, pool_pepper(pool), transaction):
        yield conn


@asynccontextmanager
async def _called(
    pool: AsyncConnectionPool, query: str, params: Mapping[str, object]
) -> AsyncIterator[psycopg.AsyncCursor[Row]]:
    """The cursor of one call with the pepper set, its rows fetched after the pipeline's Sync:
    pepper, call and rows in one round trip (fetching inside the pipeline costs a flush request
    and a second one; under load the service spent a fifth of its CPU in them)."""
    async with pooled(pool) as conn, conn.cursor(row_factory=dict_row) as cur:
        async with peppered(conn, pool_pepper(pool)):
            await cur.execute(query, params)
        yield cur


async def _one(pool: AsyncConnectionPool, query: str, params: Mapping[str, object]) -> Row | None:
    async with _called(pool, query, params) as cur:
        return await cur.fetchone()


async def _all(pool: AsyncConnectionPool, query: str, params: Mapping[str, object]) -> list[Row]:
    async with _called(pool, query, params) as cur:
        return await cur.fetchall()


GET_CAMPAIGN = "SELECT * FROM api.get_promo_campaign(%(promo_code_id)s)"


async def _then_campaign(
    pool: AsyncConnectionPool, write: str, params: Mapping[str, object]
) -> Row | None:
    """`write` (which returns a promo_code_id), then the campaign it names, in one transaction
    on one connection: the answer shows what was committed, and when the read fails nothing
    is committed, so no answer can disagree with the database."""
    async with (
        connection(pool, transaction=True) as conn,
        conn.cursor(row_factory=dict_row) as cur,
    ):
        await cur.execute(write, params)
        written = await cur.fetchone()
        assert written is not None
        await cur.execute(GET_CAMPAIGN, {"promo_code_id": written["promo_code_id"]})
        return await cur.fetchone()


async def redeem_promo_code(pool: AsyncConnectionPool, **args: object) -> Row | None:
    return await _one(
        pool,
        "SELECT * FROM api.redeem_promo_code(%(user_id)s, %(code)s, %(idempotency_key)s)",
        args,
    )


async def create_promo_code(pool: AsyncConnectionPool, **args: object) -> Row | None:
    """Creates the campaign and returns it as api.get_promo_campaign renders it."""
    return await _then_campaign(
        pool,
        "SELECT api.create_promo_code(p_code => %(code)s, p_kind => %(kind)s,"
        " p_campaign => %(campaign)s, p_grant_days => %(grant_days)s,"
        " p_discount_percent => %(discount_percent)s, p_max_uses => %(max_uses)s,"
        " p_per_user_limit => %(per_user_limit)s, p_starts_at => %(starts_at)s,"
        " p_ends_at => %(ends_at)s, p_prefix => %(prefix)s, p_actor => %(actor)s) AS promo_code_id",
        args,
    )


async def get_promo_campaign(pool: AsyncConnectionPool, promo_code_id: int) -> Row | None:
    return await _one(pool, GET_CAMPAIGN, {"promo_code_id": promo_code_id})


async def list_promo_campaigns(pool: AsyncConnectionPool, **args: object) -> list[Row]:
    return await _all(
        pool,
        "SELECT * FROM api.list_promo_campaigns(p_status => %(status)s, p_kind => %(kind)s,"
        " p_q => %(q)s, p_limit => %(limit)s, p_before_id => %(before_id)s)",
        args,
    )


async def set_promo_campaign_status(pool: AsyncConnectionPool, **args: object) -> Row | None:
    """Sets the status and returns the campaign as api.get_promo_campaign renders it."""
    return await _then_campaign(
        pool,
        "SELECT * FROM api.set_promo_campaign_status(%(promo_code_id)s, %(status)s,"
        " %(actor)s, %(reason)s)",
        args,
    )


async def rollback_refunded_promo(pool: AsyncConnectionPool, **args: object) -> Row | None:
    return await _one(
        pool,
        "SELECT * FROM api.rollback_refunded_promo(%(purchase_id)s, %(actor)s,"
        " %(idempotency_key)s, %(reason)s)",
        args,
    )


async def get_promo_throttle(pool: AsyncConnectionPool, user_id: int) -> Row | None:
    return await _one(pool, "SELECT * FROM api.get_promo_throttle(%(id)s)", {"id": user_id})


async def reset_promo_throttle(pool: AsyncConnectionPool, **args: object) -> Row | None:
    return await _one(
        pool,
        "SELECT * FROM api.reset_promo_throttle(%(user_id)s, %(actor)s, %(reason)s)",
        args,
    )


# The audit log page (`starpass audit` and GET /internal/audit): the function checks every
# filter; a row's `cursor` is where the next page starts.
LIST_AUDIT = (
    "SELECT * FROM api.list_audit(p_actor => %(actor)s, p_action => %(action)s,"
    " p_target_type => %(target_type)s, p_target_id => %(target_id)s, p_since => %(since)s,"
    " p_until => %(until)s, p_limit => %(limit)s, p_cursor => %(cursor)s)"
)


async def list_audit(pool: AsyncConnectionPool, **args: object) -> list[Row]:
    return await _all(pool, LIST_AUDIT, args)
