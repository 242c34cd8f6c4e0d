"""6,000 concurrent redemptions (one connection each, distinct single-use codes) at a pool of
10 against a healthy database: the count of each answer (status and problem code), and /readyz
asked every 0.2 s throughout. The run fails if any answer is `database_unavailable` or a 500,
or /readyz is not 200 every time: a saturated pool is load, not an outage."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter

import aiohttp

from bench.common import serving, start_durable, summarize
from bench.http import prepare

REQUESTS = int(os.environ.get("STARPASS_BENCH_OVERLOAD_REQUESTS", "6000"))
POOL_MAX = 10
TOKEN = "o" * 40
PORT = 18081


async def fire(url: str) -> tuple[Counter[str], Counter[int], float]:
    answers: Counter[str] = Counter()
    ready: Counter[int] = Counter()
    done = asyncio.Event()
    timeout = aiohttp.ClientTimeout(total=120)
    async with (
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=True),
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=timeout,
        ) as session,
        aiohttp.ClientSession(timeout=timeout) as probe,
    ):

        async def redeem(i: int) -> None:
            try:
                async with session.post(
                    f"{url}/internal/promo/redeem",
                    json={
                        "user_id": 10**12 + i,
                        "code": f"HTTPB{i}",
                        "idempotency_key": f"ovl-{i:09d}",
                    },
                ) as response:
                    body = await response.json(content_type=None)
                    code = body.get("code") or body.get("outcome")
                    answers[f"{response.status} {code}"] += 1
            except aiohttp.ClientError as exc:
                answers[f"client error {type(exc).__name__}"] += 1

        async def readiness() -> None:
            while not done.is_set():
                async with probe.get(f"{url}/readyz") as response:
                    ready[response.status] += 1
                await asyncio.sleep(0.2)

        watcher = asyncio.create_task(readiness())
        started = time.perf_counter()
        await asyncio.gather(*(redeem(i) for i in range(1, REQUESTS + 1)))
        elapsed = time.perf_counter() - started
        done.set()
        await watcher
    return answers, ready, elapsed


def main() -> int:
    cluster, db = start_durable("starpass_bench_overload")
    try:
        prepare(db.admin_url, REQUESTS)
        tokens: list[dict[str, object]] = [
            {"name": "bench", "token": TOKEN, "scopes": ["promo:redeem"]}
        ]
        # The other pool settings (timeout, max waiting) as configured, by default the defaults.
        with serving(db, PORT, tokens, STARPASS_DB_POOL_MAX=str(POOL_MAX)):
            answers, ready, elapsed = asyncio.run(fire(f"http://127.0.0.1:{PORT}"))
    finally:
        cluster.destroy()
    settings = {k: v for k, v in os.environ.items() if k.startswith("STARPASS_DB_POOL_")}
    print(
        f"{REQUESTS:,} concurrent POST /internal/promo/redeem, pool max {POOL_MAX}"
        f" {settings or '(other pool settings at their defaults)'}, durable cluster:"
        f" all answered in {elapsed:.1f} s\n"
    )
    print("| answer | count |")
    print("|---|---|")
    for answer, count in sorted(answers.items()):
        print(f"| {answer} | {count:,} |")
    print(f"\n/readyz during the run: {dict(sorted(ready.items()))}")
    failed = [a for a in answers if "database_unavailable" in a or a.startswith("500")]
    summarize(
        f"{REQUESTS:,} concurrent redemptions, pool max {POOL_MAX}: answers 500 or database_unavailable",
        sum(answers[a] for a in failed),
        f"all answered in {elapsed:.1f} s; /readyz {dict(sorted(ready.items()))}",
        below=1,
        unit="answers",
    )
    if failed or set(ready) != {200}:
        print(f"FAILED: {failed or 'readyz not always 200'}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
