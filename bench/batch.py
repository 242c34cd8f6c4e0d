"""The promo batch tool's bulk path against the per-row path.

A durable throwaway cluster, one database. The bulk path is the tool itself as an operator runs
it (`starpass promo-batch`, as starpass_admin, a report written): `generate` of 1,000,000 codes,
then `import` of a CSV file of 1,000,000 other codes, then that file again (every line a
DUPLICATE, nothing written). The per-row path is `api.create_promo_code` once per code, the way
without the tool, on 10,000 codes (one connection, each call its own transaction as the admin API
makes them; then all in one transaction), reported as codes/s. Target: the bulk path >= 50,000
codes/s for 1,000,000 codes. Prints a Markdown table and each bulk run's phases (from the
tool's progress lines); fails if a run did not insert, or refuse, every code it should.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

import psycopg

from app import codes
from app.config import PROJECT_ROOT
from app.libpq import libpq_option
from bench.common import PEPPER, start_durable, summarize
from tests.harness import ScratchDatabase

COUNT = int(os.environ.get("STARPASS_BENCH_BATCH_CODES", "1000000"))
PER_ROW = int(os.environ.get("STARPASS_BENCH_BATCH_PER_ROW", "10000"))
TARGET = 50_000.0
TERMS = ["--kind", "PREMIUM_GRANT", "--grant-days", "30"]
# Server settings for the run, e.g. "shared_buffers=1GB,max_wal_size=4GB" (default: none, the
# cluster's defaults like every other benchmark: shared_buffers 128MB, max_wal_size 1GB).
SERVER = dict(
    item.split("=", 1)
    for item in os.environ.get("STARPASS_BENCH_BATCH_SERVER", "").split(",")
    if item
)


def tool(db: ScratchDatabase, args: list[str]) -> tuple[float, dict[str, int], list[str]]:
    """Runs `starpass promo-batch ARGS`; its wall time, the statuses it reported, and its
    phases as 'phase: N s' (its JSON progress lines off a terminal)."""
    env = {
        **os.environ,
        "DATABASE_URL": db.app_url,
        "STARPASS_ADMIN_DATABASE_URL": db.staff_url,
        "PROMO_SECRET_PEPPER": PEPPER,
    }
    began = time.perf_counter()
    done = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "starpass"), "promo-batch", *args],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    if done.returncode not in (0, 1):
        raise RuntimeError(f"promo-batch failed: {done.stderr.strip()}")
    phases: dict[str, float] = {}
    notes: list[str] = []
    first: datetime | None = None
    for line in done.stderr.splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        at = datetime.fromisoformat(event["timestamp"])
        first = first or at
        if "note" in event:
            notes.append(f"{event['note']} at {(at - first).total_seconds():.1f} s")
        elif "seconds" in event:
            phases[event["phase"]] = event["seconds"]
    summary = done.stdout.splitlines()[0].split(": ")[-1]
    statuses = {s.split()[1]: int(s.split()[0].replace(",", "")) for s in summary.split(", ")}
    shown = [f"{phase} {s:.1f} s" for phase, s in phases.items()] + notes
    return seconds, statuses, shown


def per_row(db: ScratchDatabase, count: int, one_transaction: bool) -> float:
    """codes/s of api.create_promo_code, one call per code, as starpass_admin."""
    with psycopg.connect(
        db.staff_url, autocommit=True, options=libpq_option("promo.pepper", PEPPER)
    ) as conn:
        block = codes.generate("ROW" + ("T" if one_transaction else "C"), count)
        began = time.perf_counter()
        with conn.transaction() if one_transaction else nullcontext():
            for i in range(count):
                conn.execute(
                    "SELECT api.create_promo_code(%s, 'PREMIUM_GRANT', 'bench per row',"
                    " p_grant_days => 30, p_max_uses => 1, p_actor => 'bench')",
                    (block.code(i),),
                )
        return count / (time.perf_counter() - began)


def main() -> int:
    cluster, db = start_durable("starpass_bench_batch", extra_config=SERVER)
    workdir = Path(tempfile.mkdtemp(prefix="starpass-bench-batch-"))
    rows: list[tuple[str, int, float, dict[str, int], list[str]]] = []
    try:
        generated = workdir / "generated.csv"
        seconds, statuses, phases = tool(
            db,
            ["generate", "--campaign", "bench generate", "--prefix", "GEN", *TERMS,
             "--count", str(COUNT), "--out", str(generated)],
        )  # fmt: skip
        rows.append(("generate (new codes)", COUNT, seconds, statuses, phases))
        # A file of other codes, as a partner would send them (without the tool's report).
        source = workdir / "partner.csv"
        block = codes.generate("IMP", COUNT)
        with source.open("w") as f:
            f.write("code\n")
            f.writelines(f"{codes.printed(block.code(i), 'IMP')}\n" for i in range(COUNT))
        del block
        seconds, statuses, phases = tool(
            db,
            ["import", "--file", str(source), "--campaign", "bench import", "--prefix", "IMP",
             *TERMS, "--out", str(workdir / "imported.csv")],
        )  # fmt: skip
        rows.append(("import (CSV file, new codes)", COUNT, seconds, statuses, phases))
        seconds, statuses, phases = tool(
            db,
            ["import", "--file", str(source), "--campaign", "bench import", "--prefix", "IMP",
             *TERMS, "--out", str(workdir / "again.csv")],
        )  # fmt: skip
        rows.append(
            ("import the same file again (all DUPLICATE)", COUNT, seconds, statuses, phases)
        )
        separate = per_row(db, PER_ROW, one_transaction=False)
        together = per_row(db, PER_ROW, one_transaction=True)
        with psycopg.connect(db.admin_url) as conn:
            present = conn.execute("SELECT count(*) FROM promo.promo_codes").fetchone()
            violations = conn.execute("SELECT count(*) FROM api.check_invariants()").fetchone()
    finally:
        cluster.destroy()
        shutil.rmtree(workdir, ignore_errors=True)

    print(
        f"durable cluster, {os.cpu_count()} cores, load average before the run "
        f"{os.getloadavg()[0]:.1f}; {COUNT:,} codes per bulk run; per-row path on {PER_ROW:,};"
        f" server settings: {SERVER or 'defaults'}\n"
    )
    print("| path | codes | seconds | codes/s | lines |")
    print("|---|---|---|---|---|")
    for label, count, seconds, statuses, _ in rows:
        shown = ", ".join(f"{n:,} {s}" for s, n in statuses.items())
        print(f"| {label} | {count:,} | {seconds:.1f} | {count / seconds:,.0f} | {shown} |")
    print(
        f"| per row: api.create_promo_code, a transaction each | {PER_ROW:,} | | {separate:,.0f} | |"
    )
    print(
        f"| per row: api.create_promo_code, one transaction | {PER_ROW:,} | | {together:,.0f} | |"
    )
    for label, _, _, _, phases in rows:
        print(f"\n{label}: " + "; ".join(phases))
    bulk = COUNT / rows[0][2]
    verdict = "MET" if bulk >= TARGET else "MISSED"
    summarize(
        f"bulk generate of {COUNT:,} codes",
        bulk,
        f"{rows[0][2]:.1f} s; import {COUNT / rows[1][2]:,.0f} codes/s",
        at_least=TARGET,
        unit="codes/s",
    )
    summarize(
        "bulk generate / per-row api.create_promo_code",
        bulk / separate,
        f"{bulk:,.0f} / {separate:,.0f} codes/s",
    )
    print(
        f"\nbulk generate {bulk:,.0f} codes/s (target >= {TARGET:,.0f}: {verdict}); "
        f"{bulk / separate:.0f}x the per-row path, {COUNT / separate / 60:.0f} min for "
        f"{COUNT:,} codes that way"
    )
    total = int(str(present[0])) if present else 0
    print(f"campaigns: {total:,}; invariant violations: {violations[0] if violations else '?'}")
    ok = (
        rows[0][3] == {"INSERTED": COUNT}
        and rows[1][3] == {"INSERTED": COUNT}
        and rows[2][3] == {"DUPLICATE": COUNT}
        and violations is not None
        and violations[0] == 0
    )
    # Like the other benchmarks, the run fails on a wrong result, not on a missed target.
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
