"""Telegram update claims under concurrency, on real connections released at once (deliveries
of one update_id reaching several replicas): exactly one delivery holds the update, the rest are
BUSY; after the lease ran out exactly one takes it over; once handled every one is DUPLICATE."""

from __future__ import annotations

import itertools
from collections import Counter

from tests.conftest import Conn
from tests.harness import ScratchDatabase
from tests.races import run_together

WORKERS = 32
_update_ids = itertools.count(900_000_000)


def _claims(database: ScratchDatabase, update_id: int) -> Counter[tuple[str, int]]:
    def claim(conn: Conn, _: int) -> tuple[str, int]:
        row = conn.execute("SELECT * FROM api.claim_telegram_update(%s)", (update_id,)).fetchone()
        assert row is not None
        return str(row["outcome"]), int(str(row["attempts"]))

    return Counter(run_together(database.app_url, WORKERS, claim))


def test_one_delivery_holds_an_update_then_one_takes_it_over_then_all_are_duplicates(
    database: ScratchDatabase, admin_conn: Conn
) -> None:
    update_id = next(_update_ids)
    assert _claims(database, update_id) == {("NEW", 1): 1, ("BUSY", 1): WORKERS - 1}

    admin_conn.execute(
        "UPDATE core.telegram_updates SET claimed_at = claimed_at - interval '1 hour'"
        " WHERE update_id = %s",
        (update_id,),
    )  # the holder died; its lease ran out
    assert _claims(database, update_id) == {("RETRY", 2): 1, ("BUSY", 2): WORKERS - 1}

    admin_conn.execute("SELECT api.finish_telegram_update(%s)", (update_id,))
    assert _claims(database, update_id) == {("DUPLICATE", 2): WORKERS}
    row = admin_conn.execute(
        "SELECT attempts FROM core.telegram_updates WHERE update_id = %s", (update_id,)
    ).fetchone()
    assert row == {"attempts": 2}


def test_a_released_update_is_taken_by_exactly_one_of_the_next_deliveries(
    database: ScratchDatabase, admin_conn: Conn
) -> None:
    update_id = next(_update_ids)
    assert _claims(database, update_id)[("NEW", 1)] == 1
    released = admin_conn.execute(
        "SELECT api.release_telegram_update(%s, 1) AS released", (update_id,)
    ).fetchone()
    assert released == {"released": True}  # its handler failed
    assert _claims(database, update_id) == {("RETRY", 2): 1, ("BUSY", 2): WORKERS - 1}
