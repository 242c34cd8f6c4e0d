"""Retention against a big attempts table: 10 million attempts past retention, pruned by
`api.prune_history` back to back (harder than pg_cron's one batch a minute) while pgbench
clients redeem. Reports the rows pruned per second and the redemptions' p50/p99 before, during
and after the pruning (target: p99 flat). A durable throwaway cluster."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from app.db.cluster import libpq_environment
from app.libpq import libpq_option
from bench.common import (
    PEPPER,
    percentile,
    pgbench_transactions,
    start_durable,
    summarize,
)

ATTEMPTS = int(os.environ.get("STARPASS_BENCH_ATTEMPTS", "10000000"))
BATCH = int(os.environ.get("STARPASS_BENCH_PRUNE_BATCH", "10000"))
SECONDS = int(os.environ.get("STARPASS_BENCH_RETENTION_SECONDS", "60"))
CLIENTS = 16
SCRIPT = (
    "\\set uid random(1, 1000000000000)\n\\set k random(1, 1000000000000000)\n"
    "SELECT outcome FROM api.redeem_promo_code(:uid, 'RETBENCH2026', 'r' || :client_id || '-' || :k);\n"
)


def prepare(url: str) -> None:
    with psycopg.connect(
        url, autocommit=True, options=libpq_option("promo.pepper", PEPPER)
    ) as conn:
        conn.execute(
            "SELECT api.create_promo_code('RETBENCH2026', 'PREMIUM_GRANT', 'bench live', p_grant_days => 1)"
        )
        # Refused guesses of 100,000 users, 40 to 60 days old, in id order as time went (bench
        # set-up writes the table directly), a million rows per statement.
        started = time.monotonic()
        for first in range(0, ATTEMPTS, 1_000_000):
            conn.execute(
                "INSERT INTO promo.promo_attempts (user_id, idempotency_key, request_hash, outcome,"
                " counted, created_at)"
                " SELECT 700000000000 + i %% 100000, 'old-guess-' || i, sha256(i::text::bytea),"
                " 'NOT_FOUND', true, now() - interval '60 days' + i * (interval '20 days' / %s)"
                " FROM generate_series(%s::bigint, %s::bigint) AS i",
                (ATTEMPTS, first + 1, min(first + 1_000_000, ATTEMPTS)),
            )
            print(
                f"  {min(first + 1_000_000, ATTEMPTS):,} of {ATTEMPTS:,} old attempts written"
                f" ({time.monotonic() - started:.0f} s)",
                flush=True,
            )
        conn.execute("VACUUM ANALYZE promo.promo_attempts")


def main() -> int:
    cluster, db = start_durable("starpass_bench_retention")
    workdir = Path(tempfile.mkdtemp(prefix="starpass-bench-retention-"))
    try:
        prepare(db.admin_url)
        with psycopg.connect(db.admin_url) as conn:
            size = conn.execute(
                "SELECT pg_size_pretty(pg_total_relation_size('promo.promo_attempts'))"
            ).fetchone()
        script = workdir / "redeem.sql"
        script.write_text(SCRIPT)
        env = {
            **os.environ,
            **libpq_environment(db.admin_url),
            "PGOPTIONS": libpq_option("promo.pepper", PEPPER),
        }
        window: dict[str, float] = {}
        batches: list[int] = []

        def prune() -> None:
            time.sleep(SECONDS / 4)  # a quarter of the run without pruning first
            window["start"] = time.time()
            with psycopg.connect(db.jobs_url, autocommit=True) as conn:
                while time.time() < window["start"] + SECONDS / 2:
                    row = conn.execute("SELECT api.prune_history(%s)", (BATCH,)).fetchone()
                    n = int(row[0]) if row else 0
                    batches.append(n)
                    if n == 0:
                        break
            window["end"] = time.time()

        job = threading.Thread(target=prune)
        job.start()
        pgbench = subprocess.run(
            ["pgbench", "-n", "-c", str(CLIENTS), "-j", "2", "-T", str(SECONDS), "-f", str(script),
             "-l", f"--log-prefix={workdir / 'redeem'}"],
            capture_output=True, text=True, env=env, check=True, cwd=workdir,
        )  # fmt: skip
        job.join()
        with psycopg.connect(db.admin_url) as conn:
            left = conn.execute(
                "SELECT count(*) FROM promo.promo_attempts WHERE user_id >= 700000000000"
                " AND user_id < 700000100000"
            ).fetchone()
            broken = conn.execute("SELECT count(*) FROM api.check_invariants()").fetchone()
    finally:
        cluster.destroy()

    before: list[float] = []
    during: list[float] = []
    after: list[float] = []
    for finished, latency_ms in pgbench_transactions(workdir, "redeem"):
        if finished < window["start"]:
            before.append(latency_ms)
        elif finished <= window["end"]:
            during.append(latency_ms)
        else:
            after.append(latency_ms)
    shutil.rmtree(workdir, ignore_errors=True)
    tps = next(line for line in pgbench.stdout.splitlines() if line.startswith("tps ="))

    p = percentile
    elapsed = window["end"] - window["start"]
    pruned = sum(batches)
    print(
        f"{ATTEMPTS:,} attempts past retention ({size[0] if size else '?'}); pruned {pruned:,} in"
        f" {elapsed:.1f} s ({pruned / elapsed:,.0f} rows/s, {len(batches)} runs of <= {BATCH:,});"
        f" {CLIENTS} pgbench clients redeeming meanwhile ({tps})"
    )
    print("| redemptions | count | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    for name, values in (("before pruning", before), ("during", during), ("after", after)):
        print(f"| {name} | {len(values):,} | {p(values, 0.5):.2f} | {p(values, 0.99):.2f} |")
    flat = p(during, 0.99) <= 1.5 * max(p(before, 0.99), p(after, 0.99))
    summarize(
        f"redemption p99 while pruning {pruned:,} attempts / the higher of before and after",
        p(during, 0.99) / max(p(before, 0.99), p(after, 0.99)),
        f"{p(during, 0.99):.1f} / {p(before, 0.99):.1f} / {p(after, 0.99):.1f} ms",
        at_most=1.5,
    )
    print(
        f"\np99 during pruning {p(during, 0.99):.1f} ms against {p(before, 0.99):.1f} ms before:"
        f" {'flat (within 1.5x)' if flat else 'NOT flat'}; old attempts left"
        f" {left[0] if left else '?'}; invariant violations: {broken[0] if broken else '?'}"
    )
    return 0 if broken and broken[0] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
