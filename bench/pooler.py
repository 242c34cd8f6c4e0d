"""1,000 concurrent HTTP clients through PgBouncer against the same load straight to PostgreSQL.

One durable cluster, one `starpass serve`, wrk with 1,000 keep-alive connections redeeming
distinct single-use codes for STARPASS_BENCH_SECONDS each run:

- direct: the service's pool of 20 connects to PostgreSQL itself;
- pooled: the service's pool of 100 connects to a PgBouncer in transaction mode
  (tests/pooler.py, Debian's pgbouncer 1.18) whose server pool is 20: the same 20 server
  connections, shared by whatever connects to the pooler, as behind several replicas.

Target: the pooled run holds the direct run's throughput within 20 % and answers no
`database_unavailable` (wrk's Lua counts every non-200 answer by its problem code). Every
redemption must be APPLIED (the attempt log afterwards). A missed target is reported, not failed.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from app.db.cluster import ALERTS_ROLE
from bench.common import missing, serving, start_durable, summarize
from bench.http import THREADS, TOKEN, WRK_THREAD_IDS, outcomes, prepare
from tests.harness import role_passwords
from tests.pooler import PgBouncer

CLIENTS = 1000
SERVER_POOL = 20
SERVICE_POOL_POOLED = 100
SECONDS = int(os.environ.get("STARPASS_BENCH_SECONDS", "10"))
CODES = 200_000
PORT = 18081
ROUNDS = 2
TARGET = 0.8

# Each run takes codes from its own offset on (bench.http's WRK_THREAD_IDS spreads them).
# Every answer that is not 200 is counted by whether it is database_unavailable.
WRK_SCRIPT = (
    WRK_THREAD_IDS
    + """
function init(args)
  unavailable = 0
  refused = 0
end
function request()
  local i = OFFSET + next_id()
  local body = string.format(
    '{"user_id": %d, "code": "HTTPB%d", "idempotency_key": "pool-%09d"}', 1000000000000 + i, i, i)
  return wrk.format("POST", "/internal/promo/redeem", {
    ["Authorization"] = "Bearer TOKEN", ["Content-Type"] = "application/json"}, body)
end
function response(status, headers, body)
  if status ~= 200 then
    if string.find(body, "database_unavailable", 1, true) then
      unavailable = unavailable + 1
    else
      refused = refused + 1
    end
  end
end
function done(summary, latency, requests)
  local u, r = 0, 0
  for _, t in ipairs(threads) do
    u = u + t:get("unavailable")
    r = r + t:get("refused")
  end
  io.write(string.format("ANSWERS unavailable=%d refused=%d\\n", u, r))
end
""".replace("TOKEN", TOKEN)
)


def wrk(url: str, workdir: Path, offset: int) -> dict[str, float]:
    script = workdir / f"pool-{offset}.lua"
    script.write_text(WRK_SCRIPT.replace("OFFSET", str(offset)))
    out = subprocess.run(
        ["wrk", "-t", str(THREADS), "-c", str(CLIENTS), "-d", f"{SECONDS}s", "--timeout", "30s",
         "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def found(pattern: str) -> re.Match[str]:
        match = re.search(pattern, out, re.M)
        if match is None:
            raise RuntimeError(f"wrk: no {pattern!r} in:\n{out}")
        return match

    def latency(label: str) -> float:
        value, unit = found(rf"^\s*{label}\s+([0-9.]+)(us|ms|s)\s*$").groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    answers = found(r"ANSWERS unavailable=(\d+) refused=(\d+)")
    return {
        "rate": float(found(r"Requests/sec:\s+([0-9.]+)").group(1)),
        "requests": float(found(r"(\d+) requests in").group(1)),
        "p50": latency("50%"),
        "p99": latency("99%"),
        "unavailable": float(answers.group(1)),
        "refused": float(answers.group(2)),
        "socket_errors": float(sum(int(n) for n in errors.groups())) if errors else 0.0,
    }


def main() -> int:
    if missing("wrk"):
        return 1
    # 1,000 client sockets in wrk and in the server, besides the server's own files.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    load = os.getloadavg()[0]
    cluster, db = start_durable("starpass_bench_pooler")
    workdir = Path(tempfile.mkdtemp(prefix="starpass-bench-pooler-"))
    tokens: list[dict[str, object]] = [
        {"name": "bench", "token": TOKEN, "scopes": ["promo:redeem"]}
    ]
    # Both runs: requests may wait for a pool connection as long as wrk waits for an answer.
    common = {"STARPASS_DB_POOL_TIMEOUT_SECONDS": "30", "STARPASS_DB_POOL_MAX_WAITING": "0"}
    runs: dict[str, list[dict[str, float]]] = {"direct": [], "pooled": []}
    try:
        prepare(db.admin_url, codes=CODES)
        # Direct and pooled alternate, twice each, so that neither gains from going second.
        for round_no in range(ROUNDS):
            offset = 2 * round_no * CODES // (2 * ROUNDS)
            with serving(db, PORT, tokens, STARPASS_DB_POOL_MAX=str(SERVER_POOL), **common):
                runs["direct"].append(wrk(f"http://127.0.0.1:{PORT}", workdir, offset))
            with (
                PgBouncer(db.admin_url, role_passwords(), pool_size=SERVER_POOL) as bouncer,
                serving(
                    db,
                    PORT,
                    tokens,
                    DATABASE_URL=bouncer.url(db.app_url),
                    STARPASS_ADMIN_DATABASE_URL=bouncer.url(db.staff_url),
                    # LISTEN needs a session of its own: the dispatcher connects directly.
                    STARPASS_ALERTS_DATABASE_URL=db.role_urls[ALERTS_ROLE],
                    STARPASS_DB_POOL_MAX=str(SERVICE_POOL_POOLED),
                    **common,
                ),  # fmt: skip
            ):
                offset += CODES // (2 * ROUNDS)
                runs["pooled"].append(wrk(f"http://127.0.0.1:{PORT}", workdir, offset))
        counts = outcomes(db.admin_url)
    finally:
        cluster.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
    direct = sum(r["rate"] for r in runs["direct"]) / ROUNDS
    pooled = sum(r["rate"] for r in runs["pooled"]) / ROUNDS
    ratio = pooled / direct
    print(
        f"{CLIENTS} HTTP connections (wrk, {THREADS} threads), {SECONDS} s per run, distinct"
        f" single-use codes, durable cluster, {os.cpu_count()} cores, load average before"
        f" {load:.1f}; {SERVER_POOL} server connections in every run; direct and pooled"
        f" alternate, {ROUNDS} runs each\n"
    )
    print("| run | redemptions/s | requests | p50 ms | p99 ms | database_unavailable | other non-200 | socket errors |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    labels = {
        "direct": f"direct: service pool {SERVER_POOL} -> PostgreSQL",
        "pooled": f"pooled: service pool {SERVICE_POOL_POOLED} -> PgBouncer (transaction, pool {SERVER_POOL}) -> PostgreSQL",
    }  # fmt: skip
    for round_no in range(ROUNDS):
        for kind in ("direct", "pooled"):
            run = runs[kind][round_no]
            print(
                f"| {labels[kind]}, run {round_no + 1} | {run['rate']:,.0f} | {run['requests']:,.0f} |"
                f" {run['p50']:.0f} | {run['p99']:.0f} | {run['unavailable']:.0f} |"
                f" {run['refused']:.0f} | {run['socket_errors']:.0f} |"
            )
    unavailable = sum(r["unavailable"] for r in runs["pooled"])
    met = ratio >= TARGET and unavailable == 0
    summarize(
        f"{CLIENTS} HTTP clients through PgBouncer / direct",
        ratio,
        f"{pooled:,.0f} / {direct:,.0f} redemptions/s; {unavailable:.0f} database_unavailable",
        at_least=TARGET,
    )
    print(
        f"\npooled / direct (means): {pooled:,.0f} / {direct:,.0f} = {ratio:.2f} (target >= {TARGET}"
        f" and no database_unavailable: {'MET' if met else 'MISSED'}); attempt outcomes: {counts}"
    )
    clean = all(r["refused"] == 0 and r["unavailable"] == 0 for rs in runs.values() for r in rs)
    return 0 if set(counts) == {"APPLIED"} and clean else 1


if __name__ == "__main__":
    sys.exit(main())
