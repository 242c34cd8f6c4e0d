"""HTTP redemptions/s at 32 concurrent connections on distinct codes against the direct SQL
figure from the same run (target ratio >= 0.5), HTTP p99 latency, and the server's peak RSS.

Both paths run in the same cluster, one after the other, each driven by a load generator written
in C, so that neither figure is bounded by a Python client: first HTTP (wrk, 32 connections ->
`starpass serve` -> its pool of 32), then SQL (pgbench, 32 connections calling
api.redeem_promo_code). Every redemption must come back APPLIED (checked in the attempt log
afterwards). A missed target is reported, not failed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from app.libpq import libpq_option
from bench.common import PEPPER, insert_single_use_codes, missing, serving, start_durable, summarize
from bench.promo import pgbench

CLIENTS = 32
SECONDS = int(os.environ.get("STARPASS_BENCH_SECONDS", "10"))
CODES = 120_000
TOKEN = "b" * 40
PORT = 18080
HTTP_SQL_TARGET = 0.5

# wrk: each of its threads takes every THREADS-th id (thread t: t+1, t+1+THREADS, ...), from
# next_id() in the request() of the script that follows this preamble (`threads`: each thread,
# for a done() that adds up their counters).
THREADS = 2
WRK_THREAD_IDS = """
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
local n = 0
local function next_id()
  local i = n * THREADS + tid + 1
  n = n + 1
  return i
end
""".replace("THREADS", str(THREADS))
WRK_SCRIPT = (
    WRK_THREAD_IDS
    + """
function request()
  local i = next_id()
  local body = string.format(
    '{"user_id": %d, "code": "HTTPB%d", "idempotency_key": "http-%09d"}', 1000000000000 + i, i, i)
  return wrk.format("POST", "/internal/promo/redeem", {
    ["Authorization"] = "Bearer TOKEN", ["Content-Type"] = "application/json"}, body)
end
""".replace("TOKEN", TOKEN)
)

# SQL takes the codes from 60,001 on, past what the HTTP run can reach in SECONDS.
SQL_SCRIPT = (
    "\\set k random(1, 1000000000000000)\n"
    "SELECT outcome FROM api.redeem_promo_code(2000000000000 + nextval('bench.sql_codes'),"
    " 'HTTPB' || (60000 + currval('bench.sql_codes')), 'sql-' || :client_id || '-' || :k);\n"
)


def prepare(admin_url: str, codes: int = CODES) -> None:
    """`codes` single-use PREMIUM_GRANT codes HTTPB1..HTTPB<codes>."""
    with psycopg.connect(
        admin_url, autocommit=True, options=libpq_option("promo.pepper", PEPPER)
    ) as conn:
        insert_single_use_codes(conn, "bench http", "HTTPB", codes)
        conn.execute("CREATE SCHEMA bench")
        conn.execute("CREATE SEQUENCE bench.sql_codes")
        conn.execute("VACUUM ANALYZE")


def wrk(
    url: str, workdir: Path, lua: str = WRK_SCRIPT, what: str = "redemptions"
) -> dict[str, float]:
    """wrk with THREADS threads and CLIENTS connections for SECONDS, running the Lua script;
    fails if a request was not answered 2xx. Requests/s and latency percentiles in ms."""
    script = workdir / "load.lua"
    script.write_text(lua)
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(THREADS),
            "-c",
            str(CLIENTS),
            "-d",
            f"{SECONDS}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk: some {what} were refused:\n{out}")

    def latency(label: str) -> float:
        value, unit = re.search(rf"^\s*{label}\s+([0-9.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    return {"rate": rate, "p50": latency("50%"), "p99": latency("99%")}


def outcomes(admin_url: str) -> dict[str, int]:
    with psycopg.connect(admin_url) as conn:
        rows = conn.execute(
            "SELECT outcome, count(*) FROM promo.promo_attempts GROUP BY 1"
        ).fetchall()
    return {str(outcome): int(n) for outcome, n in rows}


def main() -> int:
    if missing("wrk", "pgbench"):
        return 1
    cluster, db = start_durable("starpass_bench_http")
    workdir = Path(tempfile.mkdtemp(prefix="starpass-bench-http-"))
    try:
        prepare(db.admin_url)
        tokens: list[dict[str, object]] = [
            {"name": "bench", "token": TOKEN, "scopes": ["promo:redeem"]}
        ]
        with serving(db, PORT, tokens, STARPASS_DB_POOL_MAX=str(CLIENTS)) as server:
            http = wrk(f"http://127.0.0.1:{PORT}", workdir)
            peak_rss = next(
                int(line.split()[1])
                for line in Path(f"/proc/{server.pid}/status").read_text().splitlines()
                if line.startswith("VmHWM:")
            )
        sql = pgbench(
            db.admin_url, "http_sql", workdir, text=SQL_SCRIPT, clients=CLIENTS, warm_up=0
        )
        counts = outcomes(db.admin_url)
    finally:
        cluster.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
    ratio = http["rate"] / sql.tps
    print(
        f"{CLIENTS} connections each, {SECONDS} s per path, distinct single-use codes, durable"
        f" cluster, {os.cpu_count()} cores; HTTP driven by wrk, SQL by pgbench\n"
    )
    print("| path | redemptions/s | latency |")
    print("|---|---|---|")
    print(
        f"| HTTP POST /internal/promo/redeem | {http['rate']:,.0f} | p50 {http['p50']:.2f} ms,"
        f" p99 {http['p99']:.2f} ms |"
    )
    print(
        f"| direct SQL api.redeem_promo_code | {sql.tps:,.0f} | p50 {sql.p50_ms:.2f} ms,"
        f" p99 {sql.p99_ms:.2f} ms |"
    )
    verdict = "MET" if ratio >= HTTP_SQL_TARGET else "MISSED"
    summarize(
        "HTTP POST /internal/promo/redeem / direct SQL",
        ratio,
        f"{http['rate']:,.0f} / {sql.tps:,.0f} redemptions/s",
        at_least=HTTP_SQL_TARGET,
    )
    print(
        f"\nHTTP / SQL (same run): {ratio:.2f} (target >= {HTTP_SQL_TARGET}: {verdict});"
        f" server peak RSS: {peak_rss / 1024:.0f} MiB; attempt outcomes: {counts}"
    )
    return 0 if set(counts) == {"APPLIED"} else 1


if __name__ == "__main__":
    sys.exit(main())
