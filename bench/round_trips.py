"""One call of the service's database layer (app/db/api.py: a pooled connection, the pepper
set for the call's transaction, the call, its row), one at a time, against the same call with
its row fetched inside the pipeline, as the service did until 2026-12-06, and against a bare
execute without the pepper. The call is api.get_promo_throttle as starpass_admin (a read of
one row). Reported: client CPU and wall time per call, medians of three rounds in turn; a
durable throwaway cluster; STARPASS_BENCH_CALLS calls per variant and round."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from psycopg.rows import dict_row

from app.config import Settings
from app.db import api
from app.db.cluster import ADMIN_ROLE
from app.db.pool import create_pool, peppered, pool_pepper
from bench.common import PEPPER, start_durable, summarize

CALLS = int(os.environ.get("STARPASS_BENCH_CALLS", "5000"))
ROUNDS = 3
QUERY = "SELECT * FROM api.get_promo_throttle(%(id)s)"


async def measure(url: str) -> dict[str, list[tuple[float, float]]]:
    settings = Settings(_env_file=None, database_url=url, promo_secret_pepper=PEPPER)
    pool = create_pool(settings, conninfo=url, role=ADMIN_ROLE)
    await pool.open(wait=True)
    try:

        async def service() -> Any:
            return await api.get_promo_throttle(pool, 1)

        async def fetched_inside() -> Any:
            async with api.pooled(pool) as conn, peppered(conn, pool_pepper(pool)):
                cur = conn.cursor(row_factory=dict_row)
                await cur.execute(QUERY, {"id": 1})
                return await cur.fetchone()

        async def bare() -> Any:
            async with api.pooled(pool) as conn:
                cur = await conn.execute(QUERY, {"id": 1})
                return await cur.fetchone()

        variants: dict[str, Callable[[], Awaitable[Any]]] = {
            "service (rows after the Sync)": service,
            "rows fetched inside the pipeline (before)": fetched_inside,
            "bare execute, no pepper": bare,
        }
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        for _ in range(ROUNDS):
            for name, call in variants.items():
                for _ in range(100):  # warm-up
                    await call()
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(CALLS):
                    await call()
                figures[name].append(
                    (
                        (time.process_time() - cpu) / CALLS * 1e6,
                        (time.perf_counter() - wall) / CALLS * 1e6,
                    )
                )
        return figures
    finally:
        await pool.close()


def main() -> int:
    cluster, db = start_durable("starpass_bench_round_trips")
    try:
        figures = asyncio.run(measure(db.staff_url))
    finally:
        cluster.destroy()
    print(
        f"{CALLS:,} calls per variant and round, {ROUNDS} rounds, one at a time, durable cluster\n"
    )
    print("| variant | client CPU us/call (median) | wall us/call (median) |")
    print("|---|---|---|")
    medians = {}
    for name, runs in figures.items():
        cpu = statistics.median(c for c, _ in runs)
        wall = statistics.median(w for _, w in runs)
        medians[name] = (cpu, wall)
        print(f"| {name} | {cpu:.0f} | {wall:.0f} |")
    service, before = (
        medians["service (rows after the Sync)"],
        medians["rows fetched inside the pipeline (before)"],
    )
    summarize(
        "service call / the same with its row fetched inside the pipeline (wall)",
        service[1] / before[1],
        f"{service[1]:.0f} / {before[1]:.0f} us per call; CPU {service[0]:.0f} / {before[0]:.0f} us",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
