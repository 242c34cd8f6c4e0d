"""`make bench`: every benchmark in one run, then one table of their headline figures (ratios
against their pgbench ceilings and the other targets), each row from this run.

    python -m bench                 # all, in the order below
    python -m bench promo http      # some of them

Each benchmark runs as its own process (`python -m bench.NAME`) and prints its own tables as it
goes; the rows of the summary come from `bench.common.summarize`. A benchmark that fails (a wrong
result, not a missed target) is named in the summary and makes the exit status 1; the others
still run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import SUMMARY_FILE

BENCHMARKS = (
    "foundation",
    "promo",
    "instructions",
    "redeem_path",
    "create",
    "batch",
    "jobs",
    "retention",
    "http",
    "round_trips",
    "webhook",
    "overload",
    "pooler",
)


def verdict(row: dict[str, Any]) -> str:
    if row["at_least"] is not None:
        target, met = f">= {row['at_least']:g}", row["value"] >= row["at_least"]
    elif row["at_most"] is not None:
        target, met = f"<= {row['at_most']:g}", row["value"] <= row["at_most"]
    elif row["below"] is not None:
        target, met = f"< {row['below']:g}", row["value"] < row["below"]
    else:
        return "reported"
    return f"{target}: {'MET' if met else 'MISSED'}"


def value_text(row: dict[str, Any]) -> str:
    value = row["value"]
    return f"{value:.2f}" if row["unit"] == "x" else f"{value:,.0f} {row['unit']}"


def table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    lines = ["| benchmark | measure | value | from | target |", "|---|---|---|---|---|"]
    lines += [
        f"| {name} | {row['measure']} | {value_text(row)} | {row['figures']} | {verdict(row)} |"
        for name, row in rows
    ]
    return "\n".join(lines)


def main(names: list[str]) -> int:
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"bench: no benchmark {', '.join(unknown)} (one of {', '.join(BENCHMARKS)})")
        return 2
    rows: list[tuple[str, dict[str, Any]]] = []
    failed: list[str] = []
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="starpass-bench-summary-") as workdir:
        for name in names or BENCHMARKS:
            summary = Path(workdir) / f"{name}.jsonl"
            print(f"\n## bench.{name}\n", flush=True)
            done = subprocess.run(
                [sys.executable, "-m", f"bench.{name}"],
                env={**os.environ, SUMMARY_FILE: str(summary)},
                check=False,
            )
            if done.returncode != 0:
                failed.append(f"bench.{name} (exit status {done.returncode})")
            if summary.exists():
                rows += [
                    (f"bench.{name}", json.loads(line)) for line in summary.read_text().splitlines()
                ]
    minutes = (time.monotonic() - began) / 60
    print(f"\n## Summary: one run, {minutes:.0f} min, {os.cpu_count()} cores\n")
    print(table(rows))
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
