"""Races on the grant helper: concurrent grants to one user, concurrent first contact."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from tests.conftest import Conn, connect
from tests.harness import ScratchDatabase
from tests.races import run_together

WORKERS = 24


def test_concurrent_grants_to_one_user_all_count(database: ScratchDatabase) -> None:
    user_id = random.randint(10**9, 2 * 10**9)
    days = [random.randint(1, 30) for _ in range(WORKERS)]
    with connect(database.app_url) as conn:
        conn.execute("SELECT api.touch_user(%s)", (user_id,))

    def grant(conn: Conn, i: int) -> None:
        grant_sql = "SELECT premium_until FROM api.adjust_premium_days(%s, %s, 'race', 'race')"
        conn.execute(grant_sql, (user_id, days[i]))

    run_together(database.staff_url, WORKERS, grant)
    with connect(database.admin_url) as admin:
        status = admin.execute(
            "SELECT premium_until FROM api.get_premium_status(%s)", (user_id,)
        ).fetchone()
        entries = admin.execute(
            "SELECT created_at FROM billing.ledger WHERE user_id = %s ORDER BY ledger_id",
            (user_id,),
        ).fetchall()
    assert status is not None
    assert len(entries) == WORKERS
    # Each grant extended the previous one: premium runs from the first booking for exactly
    # the sum of all grants. A lost update (no row lock) would come up short.
    first_booked = entries[0]["created_at"]
    assert isinstance(first_booked, datetime)
    assert status["premium_until"] == first_booked + timedelta(days=sum(days))


def test_concurrent_first_contact_creates_the_user_once(database: ScratchDatabase) -> None:
    user_id = random.randint(2 * 10**9, 3 * 10**9)

    def touch(conn: Conn, i: int) -> bool:
        row = conn.execute(
            "SELECT created FROM api.touch_user(%s, %s, 'Racer', 'de')", (user_id, f"racer_{i}")
        ).fetchone()
        assert row is not None
        return bool(row["created"])

    created = run_together(database.app_url, WORKERS, touch)
    assert created.count(True) == 1
