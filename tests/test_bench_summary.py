"""`make bench`'s summary table (bench/__main__.py): the rows each benchmark reports through
bench.common.summarize, and their verdicts against their targets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT
from bench import __main__ as run_all
from bench.common import SUMMARY_FILE, summarize


def test_a_benchmark_run_alone_writes_no_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SUMMARY_FILE, raising=False)
    monkeypatch.chdir(tmp_path)
    summarize("hot / update", 0.5, "1 / 2 tx/s", at_least=1.0)
    assert list(tmp_path.iterdir()) == []


def test_rows_are_collected_and_judged_against_their_targets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.jsonl"
    monkeypatch.setenv(SUMMARY_FILE, str(summary))
    summarize("hot / update", 0.51, "1,453 / 2,843 tx/s", at_least=1.0)
    summarize("HTTP / SQL", 0.53, "551 / 1,033 redemptions/s", at_least=0.5)
    summarize("p99 during the expiry", 12.34, "9.0 ms outside", below=50, unit="ms")
    summarize("p99 during the expiry", 75.0, "9.0 ms outside", below=50, unit="ms")
    summarize("relations locked", 16, "16 fast path", at_most=16, unit="relations")
    summarize("webhook / SQL", 0.29, "239 / 813 updates/s")
    rows = [("bench.x", json.loads(line)) for line in summary.read_text().splitlines()]
    lines = run_all.table(rows).splitlines()[2:]
    assert [line.rsplit("|", 2)[1].strip() for line in lines] == [
        ">= 1: MISSED",
        ">= 0.5: MET",
        "< 50: MET",
        "< 50: MISSED",
        "<= 16: MET",
        "reported",
    ]
    assert "| 0.51 | 1,453 / 2,843 tx/s |" in lines[0]
    assert "| 12 ms |" in lines[2]


def test_an_unknown_benchmark_is_refused_before_anything_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "promo", "nosuch"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "no benchmark nosuch" in done.stdout
