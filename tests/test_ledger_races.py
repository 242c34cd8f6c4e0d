"""Races on the grant helper: concurrent grants to one user, concurrent first contact."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from tests.conftest import connect
from tests.harness import ScratchDatabase

T = TypeVar("T")
WORKERS = 24


def _run_together(workers: int, task: Callable[[int], T]) -> list[T]:
    """Runs task(i) on `workers` threads released at the same instant; re-raises failures."""
    barrier = threading.Barrier(workers)
    results: list[T | BaseException] = [RuntimeError("not run")] * workers

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = task(i)
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


def test_concurrent_grants_to_one_user_all_count(database: ScratchDatabase) -> None:
    user_id = random.randint(10**9, 2 * 10**9)
    days = [random.randint(1, 30) for _ in range(WORKERS)]
    conns = [connect(database.app_url) for _ in range(WORKERS)]
    try:
        conns[0].execute("SELECT api.touch_user(%s)", (user_id,))

        def grant(i: int) -> object:
            grant_sql = "SELECT premium_until FROM api.adjust_premium_days(%s, %s, 'race', 'race')"
            row = conns[i].execute(grant_sql, (user_id, days[i])).fetchone()
            assert row is not None
            return row["premium_until"]

        _run_together(WORKERS, grant)
        status = (
            conns[0]
            .execute("SELECT premium_until, checked_at FROM api.get_premium_status(%s)", (user_id,))
            .fetchone()
        )
    finally:
        for conn in conns:
            conn.close()
    assert status is not None
    with connect(database.admin_url) as admin:
        entries = admin.execute(
            "SELECT created_at FROM billing.ledger WHERE user_id = %s ORDER BY ledger_id",
            (user_id,),
        ).fetchall()
    assert len(entries) == WORKERS
    # Each grant extended the previous one: premium runs from the first booking for exactly
    # the sum of all grants. A lost update (no row lock) would come up short.
    first_booked = entries[0]["created_at"]
    assert isinstance(first_booked, datetime)
    assert status["premium_until"] == first_booked + timedelta(days=sum(days))


def test_concurrent_first_contact_creates_the_user_once(database: ScratchDatabase) -> None:
    user_id = random.randint(2 * 10**9, 3 * 10**9)
    conns = [connect(database.app_url) for _ in range(WORKERS)]
    try:

        def touch(i: int) -> bool:
            row = (
                conns[i]
                .execute(
                    "SELECT created FROM api.touch_user(%s, %s, 'Racer', 'de')",
                    (user_id, f"racer_{i}"),
                )
                .fetchone()
            )
            assert row is not None
            return bool(row["created"])

        created = _run_together(WORKERS, touch)
    finally:
        for conn in conns:
            conn.close()
    assert created.count(True) == 1
