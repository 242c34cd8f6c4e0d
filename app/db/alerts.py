"""One async call per `api` function of the alert dispatcher (role starpass_alerts)."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg_pool import AsyncConnectionPool

from app.db.api import Row, _all, _one


async def claim_alerts(pool: AsyncConnectionPool, limit: int, lease_seconds: int) -> list[Row]:
    rows = await _all(
        pool,
        "SELECT * FROM api.claim_alerts(%(limit)s, %(lease)s)",
        {"limit": limit, "lease": lease_seconds},
    )
    return sorted(rows, key=lambda r: r["alert_id"])  # a trigger is routed before its resolve


async def route_alert(
    pool: AsyncConnectionPool,
    alert_id: int,
    targets: Sequence[str],
    flood_limit: int | None,
    repeat_interval_seconds: float | None,
) -> Row | None:
    return await _one(
        pool,
        "SELECT * FROM api.route_alert(%(id)s, %(targets)s, %(limit)s,"
        " %(every)s * interval '1 second')",
        {
            "id": alert_id,
            "targets": list(targets),
            "limit": flood_limit,
            "every": repeat_interval_seconds,
        },
    )


async def claim_deliveries(
    pool: AsyncConnectionPool, targets: Sequence[str], limit: int, lease_seconds: int
) -> list[Row]:
    return await _all(
        pool,
        "SELECT * FROM api.claim_alert_deliveries(%(targets)s, %(limit)s, %(lease)s)",
        {"targets": list(targets), "limit": limit, "lease": lease_seconds},
    )


async def ack_delivery(pool: AsyncConnectionPool, delivery_id: int, attempt: int) -> Row | None:
    return await _one(
        pool,
        "SELECT * FROM api.ack_alert_delivery(%(id)s, %(attempt)s)",
        {"id": delivery_id, "attempt": attempt},
    )


async def fail_delivery(
    pool: AsyncConnectionPool,
    delivery_id: int,
    attempt: int,
    error: str,
    retry_in: float | None,
    fallback: str | None,
    target_wait: float | None,
) -> Row | None:
    return await _one(
        pool,
        "SELECT * FROM api.fail_alert_delivery(%(id)s, %(attempt)s, %(error)s, %(retry_in)s,"
        " %(fallback)s, %(wait)s)",
        {
            "id": delivery_id,
            "attempt": attempt,
            "error": error,
            "retry_in": retry_in,
            "fallback": fallback,
            "wait": target_wait,
        },
    )
