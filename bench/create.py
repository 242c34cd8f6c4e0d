"""api.create_promo_code throughput with no campaigns and with 1,000,000 campaigns present.

A durable throwaway cluster, one database. First pgbench clients create single-use codes
through the function on a table with no campaigns (only the internal referral one); then
1,000,000 campaigns are loaded set-based as the owner (not through the function) and the same
load runs again. Target: >= 1,000 codes/s with 1M campaigns, about the same rate as empty.
Prints a Markdown table and the plans of the two lookups the function makes.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from app.libpq import libpq_option
from bench.common import PEPPER, insert_single_use_codes, missing, start_durable, summarize
from bench.promo import SECONDS, Run, pgbench

CLIENTS = int(os.environ.get("STARPASS_BENCH_CREATE_CLIENTS", "16"))
CAMPAIGNS = int(os.environ.get("STARPASS_BENCH_CAMPAIGNS", "1000000"))
TARGET = 1000.0
SCRIPT = (
    "SELECT api.create_promo_code('NEW' || nextval('bench.new_codes') || 'CODE', 'PREMIUM_GRANT',"
    " 'bench create', p_grant_days => 30, p_max_uses => 1, p_actor => 'bench');\n"
)
# The two lookups of api.create_promo_code, as it runs them (pepper fingerprint and hash as
# parameters of a generic plan would be: here literal values of the same shape).
LOOKUPS = {
    "rotation check": (
        "SELECT c.pepper_id FROM promo.promo_codes AS c WHERE NOT c.internal"
        " ORDER BY c.pepper_id DESC LIMIT 1"
    ),
    "duplicate check": (
        "SELECT FROM promo.promo_codes AS c"
        " WHERE c.code_hash IN (promo.hmac('NEWCODE', promo.pepper()), NULL)"
    ),
}


def plans(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, str]:
    return {
        name: "\n".join(
            str(row[0]) for row in conn.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {query}")
        )
        for name, query in LOOKUPS.items()
    }


def main() -> int:
    if missing("pgbench"):
        return 1
    cluster, db = start_durable("starpass_bench_create")
    workdir = Path(tempfile.mkdtemp(prefix="starpass-bench-create-"))
    try:
        with psycopg.connect(
            db.admin_url, autocommit=True, options=libpq_option("promo.pepper", PEPPER)
        ) as conn:
            conn.execute("CREATE SCHEMA bench")
            conn.execute("CREATE SEQUENCE bench.new_codes")
            conn.execute("VACUUM ANALYZE")
            empty = pgbench(db.admin_url, "create_empty", workdir, SCRIPT, CLIENTS)
            began = time.perf_counter()
            insert_single_use_codes(conn, "bench loaded", "LOADED", CAMPAIGNS)
            conn.execute("VACUUM ANALYZE")
            conn.execute("CHECKPOINT")  # the load's writes are not the measured run's
            loaded_in = time.perf_counter() - began
            present = conn.execute("SELECT count(*) FROM promo.promo_codes").fetchone()
            full = pgbench(db.admin_url, "create_full", workdir, SCRIPT, CLIENTS)
            explained = plans(conn)
            created = conn.execute(
                "SELECT count(*) FROM promo.promo_codes WHERE campaign = 'bench create'"
            ).fetchone()
    finally:
        cluster.destroy()
        shutil.rmtree(workdir, ignore_errors=True)

    print(
        f"{CLIENTS} pgbench clients, {SECONDS} s per row, durable cluster, {os.cpu_count()} cores;"
        f" {CAMPAIGNS:,} campaigns loaded set-based in {loaded_in:.0f} s\n"
    )
    print("| campaigns present | codes/s | p50 ms | p99 ms | codes created |")
    print("|---|---|---|---|---|")
    rows: list[tuple[str, Run]] = [
        ("none (the internal one)", empty),
        (f"{int(str(present[0])) if present else 0:,}", full),
    ]
    for label, run in rows:
        print(
            f"| {label} | {run.tps:,.0f} | {run.p50_ms:.2f} | {run.p99_ms:.2f} | {run.transactions:,} |"
        )
    ratio = full.tps / empty.tps
    verdict = "met" if full.tps >= TARGET else "missed"
    print(f"\nloaded / empty: {ratio:.2f}")
    summarize(
        f"api.create_promo_code with {CAMPAIGNS:,} campaigns / with none",
        ratio,
        f"{full.tps:,.0f} / {empty.tps:,.0f} codes/s",
    )
    summarize(
        f"api.create_promo_code with {CAMPAIGNS:,} campaigns",
        full.tps,
        f"{CLIENTS} pgbench clients",
        at_least=TARGET,
        unit="codes/s",
    )
    print(
        f"with {CAMPAIGNS:,} campaigns: {full.tps:,.0f} codes/s (target >= {TARGET:,.0f}: {verdict})"
    )
    made = int(str(created[0])) if created else 0
    print(f"codes created through the function: {made:,}")
    for name, plan in explained.items():
        print(f"\n{name}:\n{plan}")
    # Like the other benchmarks, the run fails on a wrong result, not on a missed target.
    return 0 if made == empty.transactions + full.transactions else 1


if __name__ == "__main__":
    sys.exit(main())
