"""The service's database calls (app/db/api.py) take one round trip each: the pepper, the call
and its rows go out as one pipeline ending in a Sync, and the rows are read after it. Reading
them inside the pipeline sends a Flush before the Sync and waits for it first (a second round
trip, about a fifth of a call's time: docs/benchmarks.md, bench/round_trips.py). Checked on
the frontend messages libpq traces."""

from __future__ import annotations

from pathlib import Path

from app.db import api
from app.db.cluster import ADMIN_ROLE
from app.db.pool import create_pool
from tests.conftest import service_settings
from tests.harness import ScratchDatabase


async def test_a_call_is_one_round_trip(database: ScratchDatabase, tmp_path: Path) -> None:
    settings = service_settings(database)
    pool = create_pool(settings, conninfo=settings.starpass_admin_database_url, role=ADMIN_ROLE)
    await pool.open(wait=True)
    trace = tmp_path / "trace"
    try:
        with trace.open("w") as out:
            async with pool.connection() as conn:  # the pool's one connection, idle after this
                conn.pgconn.trace(out.fileno())
            row = await api.get_promo_throttle(pool, 424242)
            async with pool.connection() as conn:
                conn.pgconn.untrace()
    finally:
        await pool.close()
    assert row is not None and row["user_id"] == 424242
    sent = [line.split("\t")[3] for line in trace.read_text().splitlines() if "\tF\t" in line]
    call = sent[sent.index("Parse") :]  # from the pepper statement on
    assert call.count("Sync") == 1, call
    # No Flush before the Sync (psycopg sends one after it, which waits for nothing more).
    assert "Flush" not in call[: call.index("Sync")], call
