"""HTTP redemptions/s at 32 concurrent connections on distinct codes against the direct SQL
figure from the same run (target ratio >= 0.5), HTTP p99 latency, and the server's peak RSS.

Both paths run in the same cluster, one after the other, from the same Python process (one
event loop): first HTTP (aiohttp client -> `starpass serve` -> its pool of 32), then 32 async
psycopg connections calling api.redeem_promo_code directly. The SQL figure is therefore bounded
by a Python client too (it is lower than bench/promo.py's pgbench `distinct` row); the ratio
compares the two paths under the same client. A missed target is reported, not failed.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import psycopg

from app.libpq import libpq_option
from bench.common import PEPPER, serving, start_durable

CLIENTS = 32
SECONDS = float(os.environ.get("STARPASS_BENCH_SECONDS", "10"))
CODES = 120_000
TOKEN = "b" * 40
PORT = 18080
HTTP_SQL_TARGET = 0.5


def prepare(admin_url: str, codes: int = CODES) -> None:
    """`codes` single-use PREMIUM_GRANT codes HTTPB1..HTTPB<codes>."""
    with psycopg.connect(
        admin_url, autocommit=True, options=libpq_option("promo.pepper", PEPPER)
    ) as conn:
        conn.execute(
            "INSERT INTO promo.promo_codes (campaign, code_hash, pepper_id, kind, grant_days, max_uses,"
            " per_user_limit, starts_at, created_at, created_by, updated_at)"
            " SELECT 'bench http', promo.hmac('HTTPB' || i, promo.pepper()), promo.pepper_id(promo.pepper()),"
            " 'PREMIUM_GRANT', 30, 1, 1, now(), now(), 'bench', now() FROM generate_series(1, %s) AS i",
            (codes,),
        )
        conn.execute(
            "INSERT INTO promo.capacity_slots (promo_code_id, slot_no, capacity)"
            " SELECT promo_code_id, 0, 1 FROM promo.promo_codes WHERE campaign = 'bench http'"
        )
        conn.execute("VACUUM ANALYZE")


async def load(call: object, start: int) -> tuple[int, list[float]]:
    """CLIENTS workers for SECONDS, each redeeming the next unused code."""
    counter = iter(range(start, CODES + 1))
    latencies: list[float] = []
    deadline = time.perf_counter() + SECONDS

    async def worker() -> None:
        while time.perf_counter() < deadline:
            i = next(counter)
            began = time.perf_counter()
            await call(i)  # type: ignore[operator]
            latencies.append((time.perf_counter() - began) * 1000)

    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return len(latencies), latencies


async def run(app_url: str, url: str) -> dict[str, float]:
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=CLIENTS), headers={"Authorization": f"Bearer {TOKEN}"}
    ) as session:

        async def http(i: int) -> None:
            async with session.post(
                f"{url}/internal/promo/redeem",
                json={
                    "user_id": 10**12 + i,
                    "code": f"HTTPB{i}",
                    "idempotency_key": f"http-{i:09d}",
                },
            ) as response:
                body = await response.json()
                assert body["outcome"] == "APPLIED", body

        http_count, http_lat = await load(http, 1)

    conns = [
        await psycopg.AsyncConnection.connect(
            app_url, autocommit=True, options=libpq_option("promo.pepper", PEPPER)
        )
        for _ in range(CLIENTS)
    ]
    free = list(conns)

    async def sql(i: int) -> None:
        conn = free.pop()
        try:
            row = await (
                await conn.execute(
                    "SELECT outcome FROM api.redeem_promo_code(%s, %s, %s)",
                    (10**12 + i, f"HTTPB{i}", f"sql-{i:09d}"),
                )
            ).fetchone()
            assert row is not None and row[0] == "APPLIED", row
        finally:
            free.append(conn)

    sql_count, sql_lat = await load(sql, http_count + 1)
    for conn in conns:
        await conn.close()
    return {
        "http_rate": http_count / SECONDS,
        "http_p50": statistics.median(http_lat),
        "http_p99": sorted(http_lat)[int(len(http_lat) * 0.99)],
        "sql_rate": sql_count / SECONDS,
        "sql_p99": sorted(sql_lat)[int(len(sql_lat) * 0.99)],
    }


def main() -> int:
    cluster, db = start_durable("starpass_bench_http")
    try:
        prepare(db.admin_url)
        tokens: list[dict[str, object]] = [
            {"name": "bench", "token": TOKEN, "scopes": ["promo:redeem"]}
        ]
        with serving(db, PORT, tokens, STARPASS_DB_POOL_MAX=str(CLIENTS)) as server:
            figures = asyncio.run(run(db.app_url, f"http://127.0.0.1:{PORT}"))
            peak_rss = next(
                int(line.split()[1])
                for line in Path(f"/proc/{server.pid}/status").read_text().splitlines()
                if line.startswith("VmHWM:")
            )
    finally:
        cluster.destroy()
    ratio = figures["http_rate"] / figures["sql_rate"]
    print(
        f"{CLIENTS} concurrent connections, {SECONDS:.0f} s each, distinct single-use codes, durable cluster\n"
    )
    print("| path | redemptions/s | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    print(
        f"| HTTP POST /internal/promo/redeem | {figures['http_rate']:,.0f} | {figures['http_p50']:.2f} | {figures['http_p99']:.2f} |"
    )
    print(
        f"| direct SQL api.redeem_promo_code | {figures['sql_rate']:,.0f} | - | {figures['sql_p99']:.2f} |"
    )
    verdict = "MET" if ratio >= HTTP_SQL_TARGET else "MISSED"
    print(
        f"\nHTTP / SQL (same run, same client): {ratio:.2f} (target >= {HTTP_SQL_TARGET}: {verdict});"
        f" server peak RSS: {peak_rss / 1024:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
