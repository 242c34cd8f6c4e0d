"""Expire 100,000 stale reservations while redemptions run: the job's total time and the
redemptions' latency during it (target: p99 under 50 ms). A durable throwaway cluster."""

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

STALE = int(os.environ.get("STARPASS_BENCH_STALE", "100000"))
BATCH = int(os.environ.get("STARPASS_BENCH_EXPIRY_BATCH", "10000"))
CLIENTS = 16
SCRIPT = (
    "\\set uid random(1, 1000000000000)\n\\set k random(1, 1000000000000000)\n"
    "SELECT outcome FROM api.redeem_promo_code(:uid, 'JOBBENCH2026', 'j' || :client_id || '-' || :k);\n"
)


def prepare(url: str) -> None:
    with psycopg.connect(
        url, autocommit=True, options=libpq_option("promo.pepper", PEPPER)
    ) as conn:
        conn.execute(
            "SELECT api.create_promo_code('JOBBENCH2026', 'PREMIUM_GRANT', 'bench live', p_grant_days => 1)"
        )
        stale = conn.execute(
            "SELECT api.create_promo_code('STALEBENCH2026', 'PERCENT_DISCOUNT', 'bench stale',"
            " p_discount_percent => 10, p_max_uses => %s) AS id",
            (STALE,),
        ).fetchone()
        assert stale is not None
        campaign = stale[0]
        # 100,000 holds that ran out an hour ago, spread over the campaign's slots (bench setup
        # writes the tables directly; the counters are kept consistent).
        conn.execute(
            "INSERT INTO core.users (user_id, created_at, updated_at, last_seen_at)"
            " SELECT 500000000000 + i, now(), now(), now() FROM generate_series(1, %s) AS i",
            (STALE,),
        )
        conn.execute(
            "INSERT INTO promo.promo_redemptions (promo_code_id, slot_no, user_id, kind, status, created_at,"
            " reserved_until)"
            " SELECT %s, (i - 1) %% 64, 500000000000 + i, 'PERCENT_DISCOUNT', 'RESERVED',"
            " now() - interval '75 minutes', now() - interval '1 hour' FROM generate_series(1, %s) AS i",
            (campaign, STALE),
        )
        conn.execute(
            "UPDATE promo.capacity_slots s SET held = c.n FROM (SELECT slot_no, count(*) AS n"
            " FROM promo.promo_redemptions WHERE promo_code_id = %s GROUP BY slot_no) c"
            " WHERE s.promo_code_id = %s AND s.slot_no = c.slot_no",
            (campaign, campaign),
        )
        conn.execute("VACUUM ANALYZE")


def main() -> int:
    cluster, db = start_durable("starpass_bench_jobs")
    workdir = Path(tempfile.mkdtemp(prefix="starpass-bench-jobs-"))
    try:
        prepare(db.admin_url)
        script = workdir / "redeem.sql"
        script.write_text(SCRIPT)
        env = {
            **os.environ,
            **libpq_environment(db.admin_url),
            "PGOPTIONS": libpq_option("promo.pepper", PEPPER),
        }
        window: dict[str, float] = {}
        batches: list[int] = []

        def expire() -> None:
            time.sleep(3)  # let the load settle first
            window["start"] = time.time()
            with psycopg.connect(db.admin_url, autocommit=True) as conn:
                while True:
                    row = conn.execute(
                        "SELECT api.expire_promo_reservations(%s)", (BATCH,)
                    ).fetchone()
                    n = int(row[0]) if row else 0
                    batches.append(n)
                    if n == 0:
                        break
            window["end"] = time.time()

        job = threading.Thread(target=expire)
        job.start()
        pgbench = subprocess.run(
            [
                "pgbench",
                "-n",
                "-c",
                str(CLIENTS),
                "-j",
                "2",
                "-T",
                "40",
                "-f",
                str(script),
                "-l",
                f"--log-prefix={workdir / 'redeem'}",
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=workdir,
        )
        job.join()
        with psycopg.connect(db.admin_url) as conn:
            left = conn.execute(
                "SELECT count(*) FROM promo.promo_redemptions WHERE status = 'RESERVED'"
            ).fetchone()
            # The stale holds were written directly, without the attempts that would have made
            # them: promo_idempotency reports each of them, by design.
            broken = conn.execute(
                "SELECT count(*) FROM api.check_invariants() WHERE invariant <> 'promo_idempotency'"
            ).fetchone()
    finally:
        cluster.destroy()

    during: list[float] = []
    outside: list[float] = []
    for finished, latency_ms in pgbench_transactions(workdir, "redeem"):
        (during if window["start"] <= finished <= window["end"] else outside).append(latency_ms)
    shutil.rmtree(workdir, ignore_errors=True)
    tps = next(line for line in pgbench.stdout.splitlines() if line.startswith("tps ="))

    p = percentile
    elapsed = window["end"] - window["start"]
    print(
        f"expired {sum(batches):,} stale reservations in {elapsed:.1f} s ({len(batches) - 1} batches of <= {BATCH:,});"
        f" {CLIENTS} pgbench clients redeeming meanwhile ({tps})"
    )
    print("| redemptions | count | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    print(f"| during the expiry | {len(during):,} | {p(during, 0.5):.2f} | {p(during, 0.99):.2f} |")
    print(
        f"| before / after it | {len(outside):,} | {p(outside, 0.5):.2f} | {p(outside, 0.99):.2f} |"
    )
    print(f"\np99 during the expiry: {p(during, 0.99):.1f} ms (target < 50 ms)")
    summarize(
        f"redemption p99 during the expiry of {sum(batches):,} reservations",
        p(during, 0.99),
        f"{p(outside, 0.99):.1f} ms before / after it",
        below=50,
        unit="ms",
    )
    summarize(
        "redemption p99 during the expiry / before and after it",
        p(during, 0.99) / p(outside, 0.99),
        f"{p(during, 0.99):.1f} / {p(outside, 0.99):.1f} ms",
    )
    print(
        f"reservations left RESERVED: {left[0] if left else '?'}; invariant violations: {broken[0] if broken else '?'}"
    )
    return 0 if broken and broken[0] == 0 and left and left[0] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
