"""Instructions per redemption, counted by callgrind: the one figure this machine repeats exactly.

The throughput ratios of bench/promo.py move by +-0.1 between identical runs on a shared
2-core machine; an instruction count does not move with the machine's load. One migrated
database with the scenarios of bench/promo.py (its FLOOR_SQL and codes); the server is then
stopped, and for each scenario a copy of its data directory serves a single-user backend
(`postgres --single`, one transaction per statement, no client, no network) under
`valgrind --tool=callgrind`, once with FEW and once with MANY calls. The difference divided by
MANY - FEW is what one settled call costs (connection start, PL/pgSQL compilation and the first
plans cancel out). Session as bench/redeem_path.py: index scans (`enable_seqscan = off`), no
JIT, the test clock off. Counts instructions, not time: commit waits, locks and the client are
not in it, so it is the CPU side of bench/promo.py's `distinct / floor`.
Prints a Markdown table; exits non-zero when a call did not answer its scenario's outcome.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from app.db.cluster import Cluster
from bench import promo
from bench.common import PEPPER, missing, start_durable, summarize

FEW = int(os.environ.get("STARPASS_BENCH_INSTRUCTIONS_FEW", "50"))
MANY = int(os.environ.get("STARPASS_BENCH_INSTRUCTIONS_MANY", "250"))
SESSION = (
    f"SET promo.pepper = '{PEPPER}';",
    "SET enable_seqscan = off;",
    "SET jit = off;",
    "SET starpass.test_clock = off;",
)


def calls(scenario: str, count: int, floor_base: int) -> list[str]:
    """`count` calls of a scenario, one statement (and transaction) each, for new users."""
    statements = {
        "floor": "SELECT bench.floor_redeem({user}, {floor} + {i}, 'fkey-instr-{i}');",
        "distinct": "SELECT outcome FROM api.redeem_promo_code({user}, 'DIST{i}', 'dkey-instr-{i}');",
        "hot_code": (
            f"SELECT outcome FROM api.redeem_promo_code({{user}}, '{promo.HOT_CODE}',"
            " 'hkey-instr-{i}');"
        ),
    }
    return [
        statements[scenario].format(user=7_000_000_000 + i, floor=floor_base, i=i)
        for i in range(1, count + 1)
    ]


def instructions(
    cluster: Cluster, database: str, scenario: str, count: int, floor_base: int
) -> int:
    """Instructions one single-user backend executes for `count` calls (callgrind's total)."""
    copy = Path(tempfile.mkdtemp(prefix="starpass-instructions-"))
    try:
        data = copy / "data"
        shutil.copytree(cluster.data_dir, data, symlinks=True)
        out = copy / "callgrind.out"
        script = "\n".join([*SESSION, *calls(scenario, count, floor_base)]) + "\n"
        owner = cluster._service_user()
        for path in (copy, *copy.rglob("*")):
            if owner:
                os.chown(path, owner.pw_uid, owner.pw_gid)
        result = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                str(cluster.bindir / "postgres"),
                "--single",
                "-D",
                str(data),
                "-c",
                "shared_preload_libraries=",
                "-c",
                "fsync=off",
                database,
            ],
            input=script,
            capture_output=True,
            text=True,
            cwd=copy,
            user=owner.pw_uid if owner else None,
            group=owner.pw_gid if owner else None,
            extra_groups=[] if owner else None,
            check=True,
        )
        answered = len(re.findall(r'(outcome = "APPLIED"|floor_redeem = ")', result.stdout))
        if answered != count:
            raise RuntimeError(f"{scenario}: {answered} of {count} calls answered as expected")
        summary = re.search(r"^summary: (\d+)$", out.read_text(), re.MULTILINE)
        assert summary is not None, "callgrind wrote no summary"
        return int(summary.group(1))
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def main() -> int:
    if missing("valgrind"):
        return 1
    promo.DISTINCT_CODES = MANY  # codes 1..MANY: each run starts from the same copy
    cluster, db = start_durable("starpass_instructions")
    try:
        scripts = promo.prepare(db.admin_url)
        floor_base = int(re.search(r"floor_redeem\(:uid, (\d+)", scripts["floor"]).group(1))  # type: ignore[union-attr]
        cluster.stop()
        per_call = {
            scenario: (
                instructions(cluster, db.name, scenario, MANY, floor_base)
                - instructions(cluster, db.name, scenario, FEW, floor_base)
            )
            / (MANY - FEW)
            for scenario in ("floor", "distinct", "hot_code")
        }
    finally:
        cluster.destroy()
    print(f"callgrind, single-user backend, settled calls ({MANY} - {FEW} calls)\n")
    print("| scenario | instructions per call |")
    print("|---|---|")
    for scenario, count in per_call.items():
        print(f"| {scenario} | {count:,.0f} |")
    print()
    print(
        f"floor / distinct: {per_call['floor'] / per_call['distinct']:.2f} (the CPU side of distinct / floor)"
    )
    print(f"floor / hot_code: {per_call['floor'] / per_call['hot_code']:.2f}")
    summarize(
        "instructions: floor / distinct redemption (the CPU side of distinct / floor)",
        per_call["floor"] / per_call["distinct"],
        f"{per_call['floor']:,.0f} / {per_call['distinct']:,.0f} per call",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
