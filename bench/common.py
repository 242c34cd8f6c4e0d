"""What every benchmark starts from: a durable throwaway cluster (fsync on, as in production)
with a migrated database, and the pepper the benchmarks hash codes with."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from app.config import PROJECT_ROOT, Settings
from app.db import batch
from app.db.cluster import Cluster
from tests.harness import ScratchDatabase, create_database, throwaway_cluster

PEPPER = "bench-pepper-0123456789abcdef-0123456789abcdef"
# Where `python -m bench` (make bench) collects every benchmark's headline figures.
SUMMARY_FILE = "STARPASS_BENCH_SUMMARY"


def start_durable(
    prefix: str, extra_config: dict[str, str] | None = None
) -> tuple[Cluster, ScratchDatabase]:
    """The caller destroys the cluster when done (`cluster.destroy()` in a `finally`);
    `extra_config` adds server settings (bench/redeem_path.py preloads pg_stat_statements)."""
    cluster = throwaway_cluster(Settings(_env_file=None), durable=True, extra_config=extra_config)
    try:
        cluster.init()
        cluster.start()
        return cluster, create_database(cluster.admin_url("postgres"), prefix=prefix)
    except BaseException:
        cluster.destroy()
        raise


def missing(*tools: str) -> bool:
    """Whether a program the benchmark runs is not installed (named on stderr, with the fix)."""
    absent = [tool for tool in tools if not shutil.which(tool)]
    for tool in absent:
        print(f"bench: {tool} not found (scripts/setup.sh --bench installs it)", file=sys.stderr)
    return bool(absent)


def pgbench_transactions(workdir: Path, name: str) -> list[tuple[float, float]]:
    """(finish time in epoch seconds, latency in ms) of every transaction pgbench logged with
    `-l --log-prefix=WORKDIR/NAME`, in order of finish; the log files are removed. A log line
    is: client, transaction, latency us, script, epoch s, us."""
    logs = [log for log in workdir.glob(f"{name}.*") if log.suffix != ".sql"]
    done = sorted(
        (int(fields[4]) + int(fields[5]) / 1e6, int(fields[2]) / 1000)
        for log in logs
        for fields in (line.split() for line in log.read_text().splitlines())
    )
    for log in logs:
        log.unlink()
    return done


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0 to 1) of the values, by rank; NaN for none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def summarize(
    measure: str,
    value: float,
    figures: str,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
    below: float | None = None,
    unit: str = "x",
) -> None:
    """One row of the summary table `python -m bench` prints after a full run (bench/__main__.py):
    what was measured, its value (a ratio unless `unit` says otherwise), the figures it comes
    from, and its target if it has one. Appended as a JSON line to the file $STARPASS_BENCH_SUMMARY
    names; nothing when run alone (each benchmark prints its own table anyway)."""
    path = os.environ.get(SUMMARY_FILE)
    if not path:
        return
    row = {"measure": measure, "value": value, "unit": unit, "figures": figures,
           "at_least": at_least, "at_most": at_most, "below": below}  # fmt: skip
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def insert_single_use_codes(
    conn: psycopg.Connection[Any], campaign: str, code: str, count: int, prefix: str | None = None
) -> None:
    """`count` single-use PREMIUM_GRANT campaigns with the codes `<code>1` .. `<code><count>`,
    through the batch tool's bulk path (app/db/batch.py: staged with COPY, inserted by
    api.import_promo_codes in one transaction, one audit row); the connection has promo.pepper
    set and is not in a transaction."""
    terms = batch.Terms(
        kind="PREMIUM_GRANT", campaign=campaign, grant_days=30, prefix=prefix, actor="bench"
    )
    with conn.transaction():
        batch_id = batch.open_import(conn)
        batch.stage(conn, ((i, f"{code}{i}", None) for i in range(1, count + 1)), lambda n: None)
        refused = sum(
            r.status != "INSERTED"
            for r in batch.import_codes(conn, batch_id, terms, "ALL_OR_NOTHING")
        )
    assert refused == 0, f"{refused} of {count} codes refused"


@contextmanager
def serving(
    db: ScratchDatabase, port: int, tokens: list[dict[str, object]], **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`starpass serve` on 127.0.0.1:port against `db`, ready (`/readyz` 200) when yielded;
    `env` adds settings (STARPASS_DB_POOL_MAX=...). Stopped with SIGTERM afterwards."""
    server = subprocess.Popen(
        [str(PROJECT_ROOT / ".venv" / "bin" / "starpass"), "serve", "--port", str(port)],
        env={
            **os.environ,
            "DATABASE_URL": db.app_url,
            "PROMO_SECRET_PEPPER": PEPPER,
            "INTERNAL_API_TOKENS_JSON": json.dumps(tokens),
            "STARPASS_LOG_LEVEL": "WARNING",
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("starpass serve did not become ready")
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)
