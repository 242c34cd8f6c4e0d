"""Promo redemption throughput against pgbench baselines, all in one run on one database.

A durable throwaway cluster (fsync on), 32 pgbench clients per scenario, ROUNDS rounds of every
scenario in turn (so a change in the machine's load moves all of them alike):
  hot_update   pgbench's single-row `UPDATE ... SET n = n + 1`      (the hot-row ceiling)
  inserts      pgbench single-row INSERTs                            (the independent-write ceiling)
  hot_code     api.redeem_promo_code on one shared code, distinct users    target >= 1.0 x hot_update
  floor        bench.floor_redeem: the rows an APPLIED redemption writes, no check (FLOOR_SQL)
  distinct     api.redeem_promo_code on distinct single-use codes   target >= 0.8 x floor
Throughput and latency percentiles come from pgbench's per-transaction log, in the steady state:
the first WARM_UP seconds of each run are left out, since every pgbench run opens new
connections, and a new connection compiles the PL/pgSQL functions and plans each statement five
times before it settles on a generic plan (measured: the first 6 redemptions of a connection
cost as much as 22 settled ones; the floor, one function, warms up at a fraction of that).
Production connections are pooled and long-lived. A ratio is taken within each round; the
median over the rounds is reported with its range. Prints a Markdown table, every ratio with MET
or MISSED (a missed target does not fail the run); exits non-zero when an invariant is broken or
any attempt was not APPLIED.
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
from bench.common import (
    PEPPER,
    insert_single_use_codes,
    missing,
    percentile,
    pgbench_transactions,
    start_durable,
    summarize,
)

CLIENTS = int(os.environ.get("STARPASS_BENCH_CLIENTS", "32"))
SECONDS = int(os.environ.get("STARPASS_BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("STARPASS_BENCH_ROUNDS", "3"))
WARM_UP = float(os.environ.get("STARPASS_BENCH_WARM_UP", "2"))
DISTINCT_CODES = int(os.environ.get("STARPASS_BENCH_DISTINCT_CODES", "150000"))
HOT_CODE = "HOTBENCH2026"

# ---- THE FLOOR ------------------------------------------------------------------------------
# Exactly the row writes of one APPLIED PREMIUM_GRANT redemption of a new user as the CURRENT
# code makes them (api.redeem_promo_code -> core.ensure_user, billing.post_ledger_entry,
# promo.record_attempt), as one plain PL/pgSQL function: no argument check, lock, lookup or
# throttle. It is entered as every api function is (SECURITY DEFINER, owned by starpass_owner,
# search_path pinned), so both sides pay the same permission checks: run as the superuser,
# PostgreSQL skips every EXECUTE check, which a redemption's owner does not. When the redemption writes a row more or less (say an ops.idempotency_keys binding
# row), change this block alone and the list in docs/benchmarks.md. The rows it writes stay
# consistent, so api.check_invariants() holds after the run.
FLOOR_SQL = """
CREATE FUNCTION bench.floor_redeem(
    p_user_id          bigint,
    p_promo_code_id    bigint,
    p_idempotency_key  text,
    p_grant_days       integer DEFAULT 30
)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now     timestamptz := now();
    v_result  api.redeem_result;
    v_before  timestamptz;
BEGIN
    -- 1. core.ensure_user: the user row, when missing.
    INSERT INTO core.users (user_id, created_at, updated_at, last_seen_at)
    VALUES (p_user_id, v_now, v_now, v_now)
    ON CONFLICT (user_id) DO NOTHING;
    -- 2. The redemption, and 3. by its trigger (promo.book_capacity) the capacity slot's
    -- counter (single-use codes have slot 0 only).
    INSERT INTO promo.promo_redemptions (promo_code_id, slot_no, user_id, kind, status, created_at)
    VALUES (p_promo_code_id, 0, p_user_id, 'PREMIUM_GRANT', 'APPLIED', v_now)
    RETURNING promo_redemption_id INTO v_result.promo_redemption_id;
    -- 4. billing.post_ledger_entry: the entitlement row, inserted (or locked when it exists),
    -- 5. the ledger entry, 6. the entitlement's new premium_until.
    INSERT INTO billing.entitlements AS e (user_id, premium_until, updated_at)
    VALUES (p_user_id, NULL, v_now)
    ON CONFLICT (user_id) DO NOTHING
    RETURNING e.premium_until INTO v_before;
    IF NOT FOUND THEN
        SELECT e.premium_until INTO v_before FROM billing.entitlements AS e
        WHERE e.user_id = p_user_id FOR UPDATE;
    END IF;
    v_result.premium_until := billing.premium_after(v_before, p_grant_days, v_now);
    INSERT INTO billing.ledger (user_id, kind, ref_type, ref_id, stars_delta, premium_days_delta,
                                premium_until_before, premium_until_after, actor, created_at)
    VALUES (p_user_id, 'PROMO_PREMIUM', 'promo_redemption', v_result.promo_redemption_id, 0,
            p_grant_days, v_before, v_result.premium_until, 'promo', v_now);
    UPDATE billing.entitlements AS e SET premium_until = v_result.premium_until, updated_at = v_now
    WHERE e.user_id = p_user_id;
    -- 7. promo.record_attempt: the attempt, 8. ops.save_idempotent: the key's binding.
    v_result.outcome := 'APPLIED';
    v_result.promo_code_id := p_promo_code_id;
    v_result.kind := 'PREMIUM_GRANT';
    v_result.grant_days := p_grant_days;
    v_result.replayed := false;
    INSERT INTO promo.promo_attempts (user_id, idempotency_key, request_hash, outcome, promo_code_id,
                                      promo_redemption_id, replayed, counted, created_at)
    VALUES (p_user_id, p_idempotency_key, sha256(convert_to(p_idempotency_key, 'UTF8')), 'APPLIED',
            p_promo_code_id, v_result.promo_redemption_id, false, false, v_now);
    INSERT INTO ops.idempotency_keys (scope, idempotency_key, request_hash, result, created_at)
    VALUES ('promo.redeem', p_idempotency_key, sha256(convert_to(p_idempotency_key, 'UTF8')),
            to_jsonb(v_result), v_now);
    RETURN v_result.promo_redemption_id;
END
$$;
"""
# ---- end of the floor ------------------------------------------------------------------------

SCRIPTS = {
    "hot_update": "UPDATE bench.counter SET n = n + 1 WHERE id = 1;\n",
    "inserts": "\\set v random(1, 1000000000)\nINSERT INTO bench.rows (v) VALUES (:v);\n",
    "hot_code": (
        "\\set uid random(1, 1000000000000)\n\\set k random(1, 1000000000000000)\n"
        f"SELECT outcome FROM api.redeem_promo_code(:uid, '{HOT_CODE}', 'h' || :client_id || '-' || :k);\n"
    ),
    # {floor_base}: the promo_code_id before the first FLOOR code (filled in by prepare()).
    "floor": (
        "\\set uid random(1, 1000000000000)\n\\set k random(1, 1000000000000000)\n"
        "SELECT bench.floor_redeem(:uid, {floor_base} + nextval('bench.floor_codes'),"
        " 'f' || :client_id || '-' || :k);\n"
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
    url: str,
    name: str,
    workdir: Path,
    text: str | None = None,
    clients: int = CLIENTS,
    warm_up: float = WARM_UP,
) -> Run:
    """One pgbench run of SCRIPTS[name] (or `text`) for SECONDS with `clients` clients; its
    figures leave out the transactions that ended in the first `warm_up` seconds."""
    script = workdir / f"{name}.sql"
    script.write_text(SCRIPTS[name] if text is None else text)
    prefix = workdir / name
    env = {**os.environ, **libpq_environment(url)}
    env["PGOPTIONS"] = libpq_option("promo.pepper", PEPPER)
    subprocess.run(
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
    done = pgbench_transactions(workdir, name)
    start = done[0][0] + warm_up
    steady = sorted(latency for at, latency in done if at >= start)
    return Run(
        name,
        len(steady) / (done[-1][0] - start),
        statistics.median(steady),
        percentile(steady, 0.99),
        len(done),
    )


# target ratios: (scenario, baseline, target or None for reported only)
RATIOS = (
    ("hot_code", "hot_update", 1.0),
    ("distinct", "floor", 0.8),
    ("distinct", "inserts", None),
    ("floor", "inserts", None),
)


def prepare(admin_url: str) -> dict[str, str]:
    """The benchmark's tables, codes and floor function; returns the scripts to run."""
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
        conn.execute("CREATE SEQUENCE bench.floor_codes")
        conn.execute(FLOOR_SQL)
        conn.execute("ALTER FUNCTION bench.floor_redeem OWNER TO starpass_owner")
        conn.execute(
            "SELECT api.create_promo_code(%s, 'PREMIUM_GRANT', 'bench hot', p_grant_days => 30,"
            " p_max_uses => 10000000, p_actor => 'bench')",
            (HOT_CODE,),
        )
        insert_single_use_codes(conn, "bench distinct", "DIST", DISTINCT_CODES)
        insert_single_use_codes(conn, "bench floor", "FLOOR", DISTINCT_CODES)
        row = conn.execute(
            "SELECT min(promo_code_id), max(promo_code_id), count(*) FROM promo.promo_codes"
            " WHERE campaign = 'bench floor'"
        ).fetchone()
        assert row is not None and row[1] - row[0] + 1 == row[2], "floor codes not contiguous"
        conn.execute("VACUUM ANALYZE")
    scripts = dict(SCRIPTS)
    scripts["floor"] = SCRIPTS["floor"].replace("{floor_base}", str(row[0] - 1))
    return scripts


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
    if missing("pgbench"):
        return 1
    cluster, db = start_durable("starpass_bench")
    workdir = Path(tempfile.mkdtemp(prefix="starpass-bench-"))
    try:
        scripts = prepare(db.admin_url)
        rounds = [
            {name: pgbench(db.admin_url, name, workdir, text) for name, text in scripts.items()}
            for _ in range(ROUNDS)
        ]
        counts = outcomes(db.admin_url)
    finally:
        cluster.destroy()
        shutil.rmtree(workdir, ignore_errors=True)

    print(
        f"{CLIENTS} pgbench clients, {SECONDS} s per scenario and round ({WARM_UP:g} s warm-up"
        f" left out), {ROUNDS} rounds, durable cluster, {os.cpu_count()} cores\n"
    )
    print("| scenario | tx/s (median) | tx/s (range) | p50 ms | p99 ms | transactions |")
    print("|---|---|---|---|---|---|")
    for name in rounds[0]:
        runs = [r[name] for r in rounds]
        tps = [run.tps for run in runs]
        print(
            f"| {name} | {statistics.median(tps):,.0f} | {min(tps):,.0f}-{max(tps):,.0f}"
            f" | {statistics.median(run.p50_ms for run in runs):.2f}"
            f" | {statistics.median(run.p99_ms for run in runs):.2f}"
            f" | {sum(run.transactions for run in runs):,} |"
        )
    print()
    for scenario, baseline, target in RATIOS:
        ratios = [r[scenario].tps / r[baseline].tps for r in rounds]
        ratio = statistics.median(ratios)
        verdict = (
            "reported, no target"
            if target is None
            else f"target >= {target}: {'MET' if ratio >= target else 'MISSED'}"
        )
        spread = ", ".join(f"{x:.2f}" for x in ratios)
        print(f"{scenario} / {baseline}: {ratio:.2f} (rounds: {spread}; {verdict})")
        medians = [statistics.median(r[name].tps for r in rounds) for name in (scenario, baseline)]
        summarize(
            f"{scenario} / {baseline} ({ROUNDS} rounds, median; rounds {spread})",
            ratio,
            f"{medians[0]:,.0f} / {medians[1]:,.0f} tx/s",
            at_least=target,
        )
    print(f"attempt outcomes: {counts}")
    refused = sum(
        n for outcome, n in counts.items() if outcome not in ("APPLIED", "invariant_violations")
    )
    return 0 if refused == 0 and counts["invariant_violations"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
