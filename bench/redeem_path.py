"""What one redemption costs the server, per call, in a warmed-up session (issue 15).

A durable throwaway cluster with pg_stat_statements preloaded (`track = all`); one superuser
session per path redeems for a new user each call. After WARM_UP calls (PL/pgSQL has then
switched to generic plans), per path:
  relations  distinct relations one call holds locked at its end (pg_locks inside the open
             transaction, pg_locks itself excluded), how many by fast path (PostgreSQL 15 has
             16 fast-path slots per backend; the target is <= 16, all fast path)
  SPI        nested statement executions per call (pg_stat_statements, toplevel = false, over
             SPI_CALLS calls): every SQL statement PL/pgSQL hands to the executor, foreign-key
             checks included; simple expressions (`IF NOT core.is_user_id(...)`) do not count
  CPU        the backend's user + system CPU per call (/proc/<pid>/stat, CPU_CALLS calls, one
             commit each) and the top-level call's mean execution time in pg_stat_statements
             (`track = top` for that phase, so counting nested statements costs nothing)
Session: SESSION_SETTINGS (`enable_seqscan = off`), so the plans are those of a
production-sized database (index scans) although the benchmark's tables are small; `jit = off`,
since a statement forced off a sequential scan then costs more than jit_above_cost and would be
compiled on every call (about 38 ms); and the test clock off, as in production.
tests/test_redeem_path.py runs the same way.
Prints Markdown tables; exits non-zero when a call does not answer its path's outcome or an
invariant is broken.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from app.libpq import libpq_option
from bench.common import PEPPER, start_durable, summarize

WARM_UP = 12
SPI_CALLS = int(os.environ.get("STARPASS_BENCH_PATH_CALLS", "200"))
CPU_CALLS = int(os.environ.get("STARPASS_BENCH_PATH_CPU_CALLS", "2000"))
FAST_PATH_SLOTS = 16
SERVER_CONFIG = {
    "shared_preload_libraries": "'pg_cron,pg_stat_statements'",
    "pg_stat_statements.track": "all",
    "pg_stat_statements.track_utility": "off",
    "pg_stat_statements.max": "10000",
}

# The test databases enable the test clock (ops.now() reads ops.clock there); production ones
# do not, and the path is measured as production runs it.
SESSION_SETTINGS = ("SET enable_seqscan = off", "SET jit = off", "SET starpass.test_clock = off")

# The relations this backend holds locks on, one row each (a relation can be held in several
# modes); pg_locks itself is the query's own lock, not the redemption's.
LOCKS_SQL = """
SELECT l.relation::pg_catalog.regclass::text AS relation,
       bool_and(l.fastpath) AS fastpath,
       string_agg(DISTINCT l.mode, ',' ORDER BY l.mode) AS modes
FROM pg_catalog.pg_locks AS l
WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype = 'relation'
  AND l.relation <> 'pg_catalog.pg_locks'::pg_catalog.regclass
GROUP BY 1
ORDER BY 1
"""


@dataclass(frozen=True)
class Lock:
    relation: str
    fastpath: bool
    modes: str


def locked_relations(conn: psycopg.Connection[Any]) -> list[Lock]:
    """Call inside the transaction that made the call being measured."""
    with conn.cursor(row_factory=tuple_row) as cur:
        return [Lock(str(r), bool(f), str(m)) for r, f, m in cur.execute(LOCKS_SQL).fetchall()]


def redeem(conn: psycopg.Connection[Any], user_id: int, code: str, key: str) -> tuple[str, bool]:
    """(outcome, replayed) of one api.redeem_promo_code call."""
    with conn.cursor(row_factory=tuple_row) as cur:
        row = cur.execute(
            "SELECT outcome, replayed FROM api.redeem_promo_code(%s, %s, %s)",
            (user_id, code, key),
        ).fetchone()
    assert row is not None
    return str(row[0]), bool(row[1])


@dataclass
class PathFigures:
    name: str
    locks: list[Lock]
    spi_per_call: float
    statements: list[tuple[float, str]]  # (executions per call, query), most frequent first
    cpu_ms: float
    exec_ms: float
    wall_ms: float

    @property
    def fast(self) -> int:
        return sum(lock.fastpath for lock in self.locks)


PATHS = {
    # path: (code, kind, create_promo_code arguments, outcome)
    "APPLIED (PREMIUM_GRANT)": ("PATHGRANT2026", "PREMIUM_GRANT", "p_grant_days => 30", "APPLIED"),
    "RESERVED (PERCENT_DISCOUNT)": (
        "PATHDISCOUNT2026",
        "PERCENT_DISCOUNT",
        "p_discount_percent => 10",
        "RESERVED",
    ),
}


def measure_path(admin_url: str, name: str, first_user: int) -> PathFigures:
    code, _kind, _args, expected = PATHS[name]
    users = iter(range(first_user, first_user + 10**9))

    with psycopg.connect(
        admin_url, autocommit=True, options=libpq_option("promo.pepper", PEPPER)
    ) as conn:

        def call() -> None:
            user = next(users)
            outcome = redeem(conn, user, code, f"path-{user}")
            assert outcome == (expected, False), f"{name}: {outcome}"

        for setting in SESSION_SETTINGS:
            conn.execute(setting)
        for _ in range(WARM_UP):
            call()
        with conn.transaction():
            call()
            locks = locked_relations(conn)

        conn.execute("SELECT pg_stat_statements_reset()")
        for _ in range(SPI_CALLS):
            call()
        rows = conn.execute(
            "SELECT calls, query FROM pg_stat_statements WHERE NOT toplevel"
            " AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " ORDER BY calls DESC, query"
        ).fetchall()
        statements = [(int(calls) / SPI_CALLS, " ".join(str(q).split())) for calls, q in rows]

        conn.execute("SET pg_stat_statements.track = 'top'")
        conn.execute("SELECT pg_stat_statements_reset()")
        pid_row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert pid_row is not None
        before = backend_cpu_seconds(int(pid_row[0]))
        began = time.perf_counter()
        for _ in range(CPU_CALLS):
            call()
        wall = time.perf_counter() - began
        cpu = backend_cpu_seconds(int(pid_row[0])) - before
        exec_row = conn.execute(
            "SELECT sum(total_exec_time) / sum(calls) FROM pg_stat_statements"
            " WHERE toplevel AND query LIKE '%%api.redeem_promo_code%%'"
        ).fetchone()
        assert exec_row is not None
    return PathFigures(
        name=name,
        locks=locks,
        spi_per_call=sum(n for n, _ in statements),
        statements=statements,
        cpu_ms=cpu * 1000 / CPU_CALLS,
        exec_ms=float(exec_row[0]),
        wall_ms=wall * 1000 / CPU_CALLS,
    )


def backend_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (fields 14 and 15 of /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def prepare(admin_url: str) -> None:
    with psycopg.connect(
        admin_url, autocommit=True, options=libpq_option("promo.pepper", PEPPER)
    ) as conn:
        conn.execute("CREATE EXTENSION pg_stat_statements")
        for code, kind, args, _outcome in PATHS.values():
            conn.execute(
                f"SELECT api.create_promo_code(%s, %s, 'bench path', {args},"
                " p_max_uses => 10000000, p_actor => 'bench')",
                (code, kind),
            )
        conn.execute("VACUUM ANALYZE")


def print_figures(figures: list[PathFigures]) -> None:
    print(
        f"one session per path, {WARM_UP} warm-up calls, SPI counted over {SPI_CALLS} calls,"
        f" CPU over {CPU_CALLS} calls (one commit each), a new user per call, durable cluster\n"
    )
    print(
        "| path | relations locked | fast path | SPI statements/call | backend CPU ms/call"
        " | exec ms/call | wall ms/call |"
    )
    print("|---|---|---|---|---|---|---|")
    for f in figures:
        print(
            f"| {f.name} | {len(f.locks)} | {f.fast} | {f.spi_per_call:.1f} | {f.cpu_ms:.3f}"
            f" | {f.exec_ms:.3f} | {f.wall_ms:.3f} |"
        )
    print()
    for f in figures:
        met = len(f.locks) <= FAST_PATH_SLOTS and f.fast == len(f.locks)
        print(
            f"{f.name}: {len(f.locks)} relations, {f.fast} fast path"
            f" (target <= {FAST_PATH_SLOTS}, all fast path: {'MET' if met else 'MISSED'})"
        )
        print("  " + ", ".join(lock.relation for lock in f.locks))
        summarize(
            f"relations a {f.name} redemption locks",
            len(f.locks),
            f"{f.fast} fast path; {f.spi_per_call:.0f} SPI statements, {f.cpu_ms:.2f} ms CPU",
            at_most=FAST_PATH_SLOTS,
            unit="relations",
        )
    for f in figures:
        print(f"\n{f.name}: nested statements per call")
        print("| per call | statement |")
        print("|---|---|")
        for n, query in f.statements:
            print(f"| {n:.2f} | `{query[:110]}` |")


def main() -> int:
    cluster, db = start_durable("starpass_bench_path", extra_config=SERVER_CONFIG)
    try:
        prepare(db.admin_url)
        figures = [
            measure_path(db.admin_url, name, first_user=10**12 + i * 10**9)
            for i, name in enumerate(PATHS)
        ]
        with psycopg.connect(db.admin_url) as conn:
            broken = conn.execute("SELECT count(*) FROM api.check_invariants()").fetchone()
    finally:
        cluster.destroy()
    print_figures(figures)
    violations = int(broken[0]) if broken else -1
    print(f"\ninvariant violations after the run: {violations}")
    return 0 if violations == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
