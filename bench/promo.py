"""Promo redemption throughput against pgbench baselines, all in one run on one database.

A durable throwaway cluster (fsync on), 32 pgbench clients per scenario:
  hot_update   pgbench's single-row `UPDATE ... SET n = n + 1`      (the hot-row ceiling)
  hot_code     api.redeem_promo_code on one shared code, distinct users    target >= 1.5 x hot_update
  inserts      pgbench single-row INSERTs                            (the independent-write ceiling)
  distinct     api.redeem_promo_code on distinct single-use codes   target >= 0.35 x inserts
Latency percentiles come from pgbench's per-transaction log. Prints a Markdown table.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from app.db.cluster import libpq_environment
from app.libpq import libpq_option
from bench.common import PEPPER, insert_single_use_codes, start_durable

CLIENTS = int(os.environ.get("STARPASS_BENCH_CLIENTS", "32"))
SECONDS = int(os.environ.get("STARPASS_BENCH_SECONDS", "10"))
DISTINCT_CODES = int(os.environ.get("STARPASS_BENCH_DISTINCT_CODES", "150000"))
HOT_CODE = "HOTBENCH2026"

SCRIPTS = {
    "hot_update": "UPDATE bench.counter SET n = n + 1 WHERE id = 1;\n",
    "inserts": "\\set v random(1, 1000000000)\nINSERT INTO bench.rows (v) VALUES (:v);\n",
    "hot_code": (
        "\\set uid random(1, 1000000000000)\n\\set k random(1, 1000000000000000)\n"
        f"SELECT outcome FROM api.redeem_promo_code(:uid, '{HOT_CODE}', 'h' || :client_id || '-' || :k);\n"
    ),
    "distinct": (
        "\\set uid random(1, 1000000000000)\n\\set k random(1, 1000000000000000)\n"
        "SELECT outcome FROM api.redeem_promo_code(:uid, 'DIST' || nextval('bench.codes'),"
        " 'd' || :client_id || '-' || :k);\n"
    ),
}


@dataclass
class Run:
    name: str
    tps: float
    p50_ms: float
    p99_ms: float
    transactions: int


def pgbench(
    url: str, name: str, workdir: Path, text: str | None = None, clients: int = CLIENTS
) -> Run:
    """One pgbench run of SCRIPTS[name] (or `text`) for SECONDS with `clients` clients."""
    script = workdir / f"{name}.sql"
    script.write_text(SCRIPTS[name] if text is None else text)
    prefix = workdir / name
    env = {**os.environ, **libpq_environment(url)}
    env["PGOPTIONS"] = libpq_option("promo.pepper", PEPPER)
    result = subprocess.run(
        [
            "pgbench",
            "-n",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(SECONDS),
            "-f",
            str(script),
            "-l",
            f"--log-prefix={prefix}",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=workdir,
    )
    tps = next(
        float(line.split("=")[1].split()[0])
        for line in result.stdout.splitlines()
        if line.startswith("tps =")
    )
    latencies = sorted(
        int(line.split()[2]) / 1000
        for log in workdir.glob(f"{name}.*")
        if log.suffix != ".sql"
        for line in log.read_text().splitlines()
    )
    return Run(
        name,
        tps,
        statistics.median(latencies),
        latencies[int(len(latencies) * 0.99)],
        len(latencies),
    )


def prepare(admin_url: str) -> None:
    with psycopg.connect(
        admin_url, autocommit=True, options=libpq_option("promo.pepper", PEPPER)
    ) as conn:
        conn.execute("CREATE SCHEMA bench")
        conn.execute("CREATE TABLE bench.counter (id int PRIMARY KEY, n bigint NOT NULL)")
        conn.execute("INSERT INTO bench.counter VALUES (1, 0)")
        conn.execute(
            "CREATE TABLE bench.rows (id bigserial PRIMARY KEY, v bigint, at timestamptz DEFAULT now())"
        )
        conn.execute("CREATE SEQUENCE bench.codes")
        conn.execute(
            "SELECT api.create_promo_code(%s, 'PREMIUM_GRANT', 'bench hot', p_grant_days => 30,"
            " p_max_uses => 10000000, p_actor => 'bench')",
            (HOT_CODE,),
        )
        insert_single_use_codes(conn, "bench distinct", "DIST", DISTINCT_CODES)
        conn.execute("VACUUM ANALYZE")


def outcomes(admin_url: str) -> dict[str, int]:
    with psycopg.connect(admin_url) as conn:
        rows = conn.execute(
            "SELECT outcome, count(*) FROM promo.promo_attempts GROUP BY 1"
        ).fetchall()
        broken = conn.execute("SELECT count(*) FROM api.check_invariants()").fetchone()
    counts = {str(outcome): int(n) for outcome, n in rows}
    counts["invariant_violations"] = int(broken[0]) if broken else -1
    return counts


def main() -> int:
    if not shutil.which("pgbench"):
        print("bench: pgbench not found (it comes with postgresql-client-15)", file=sys.stderr)
        return 1
    cluster, db = start_durable("starpass_bench")
    workdir = Path(tempfile.mkdtemp(prefix="starpass-bench-"))
    try:
        prepare(db.admin_url)
        runs = {name: pgbench(db.admin_url, name, workdir) for name in SCRIPTS}
        counts = outcomes(db.admin_url)
    finally:
        cluster.destroy()
        shutil.rmtree(workdir, ignore_errors=True)

    print(
        f"{CLIENTS} pgbench clients, {SECONDS} s per scenario, durable cluster, {os.cpu_count()} cores\n"
    )
    print("| scenario | tx/s | p50 ms | p99 ms | transactions |")
    print("|---|---|---|---|---|")
    for run in runs.values():
        print(
            f"| {run.name} | {run.tps:,.0f} | {run.p50_ms:.2f} | {run.p99_ms:.2f} | {run.transactions:,} |"
        )
    hot = runs["hot_code"].tps / runs["hot_update"].tps
    distinct = runs["distinct"].tps / runs["inserts"].tps
    print(f"\nhot code / hot-row update: {hot:.2f} (target >= 1.5)")
    print(f"distinct codes / inserts: {distinct:.2f} (target >= 0.35)")
    print(f"attempt outcomes: {counts}")
    refused = sum(
        n for outcome, n in counts.items() if outcome not in ("APPLIED", "invariant_violations")
    )
    return 0 if refused == 0 and counts["invariant_violations"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
