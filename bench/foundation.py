"""Throughput and latency of the foundation's hot paths on a durable throwaway
cluster (fsync on, as in production). Prints a Markdown table for docs/benchmarks.md."""

from __future__ import annotations

import asyncio
import itertools
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from bench.common import percentile, start_durable, summarize

SECONDS = float(os.environ.get("STARPASS_BENCH_SECONDS", "5"))
_ids = itertools.count(10**10)


@dataclass
class Result:
    name: str
    clients: int
    calls: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    def percentile_ms(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def row(self) -> str:
        return (
            f"| {self.name} | {self.clients} | {self.rate:,.0f} | {self.percentile_ms(0.5):.2f}"
            f" | {self.percentile_ms(0.99):.2f} |"
        )


async def run(
    url: str, name: str, clients: int, statement: Callable[[int], tuple[str, tuple[object, ...]]]
) -> Result:
    conns = [await psycopg.AsyncConnection.connect(url, autocommit=True) for _ in range(clients)]
    latencies: list[float] = []
    deadline = time.perf_counter() + SECONDS

    async def worker(conn: psycopg.AsyncConnection[tuple[object, ...]], worker_id: int) -> int:
        calls = 0
        while time.perf_counter() < deadline:
            query, params = statement(worker_id)
            started = time.perf_counter()
            await conn.execute(query, params)
            latencies.append((time.perf_counter() - started) * 1000)
            calls += 1
        return calls

    started = time.perf_counter()
    counts = await asyncio.gather(*(worker(c, i) for i, c in enumerate(conns)))
    elapsed = time.perf_counter() - started
    for conn in conns:
        await conn.close()
    return Result(name, clients, sum(counts), elapsed, latencies)


async def main() -> int:
    cluster, db = start_durable("starpass_bench")
    try:
        users = [next(_ids) for _ in range(64)]
        with psycopg.connect(db.app_url, autocommit=True) as conn:
            for user_id in users:
                conn.execute("SELECT api.touch_user(%s)", (user_id,))
        hot_user = users[0]
        grant = "SELECT * FROM api.adjust_premium_days(%s, 1, 'bench', 'bench')"
        results = [
            await run(
                db.app_url, "api.list_plans()", 8, lambda _: ("SELECT * FROM api.list_plans()", ())
            ),
            await run(
                db.app_url,
                "api.get_premium_status",
                8,
                lambda i: ("SELECT * FROM api.get_premium_status(%s)", (users[i],)),
            ),
            await run(
                db.app_url,
                "api.touch_user (new users)",
                8,
                lambda _: (
                    "SELECT * FROM api.touch_user(%s, 'bench', 'Bench', 'de')",
                    (next(_ids),),
                ),
            ),
            await run(
                db.staff_url,
                "adjust_premium_days, distinct users",
                8,
                lambda i: (grant, (users[i],)),
            ),
            await run(
                db.staff_url,
                "adjust_premium_days, distinct users",
                32,
                lambda i: (grant, (users[i],)),
            ),
            await run(
                db.staff_url,
                "adjust_premium_days, one hot user",
                32,
                lambda _: (grant, (hot_user,)),
            ),
        ]
        with psycopg.connect(db.staff_url) as conn:
            broken = conn.execute("SELECT count(*) FROM api.check_invariants()").fetchone()
    finally:
        cluster.destroy()

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"each row: {SECONDS:.0f} s of closed-loop calls, durable cluster (fsync on)\n")
    print("| call | clients | calls/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for result in results:
        print(result.row())
        summarize(
            f"{result.name}, {result.clients} clients",
            result.rate,
            f"p99 {result.percentile_ms(0.99):.2f} ms",
            unit="calls/s",
        )
    print(f"\ninvariant violations after the run: {broken[0] if broken else '?'}")
    return 0 if broken and broken[0] == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
