"""api.create_promo_code costs the same however many campaigns exist: its rotation and
duplicate checks are index probes, in the plans the function really runs (custom and generic)."""

from __future__ import annotations

from collections.abc import Callable

from bench.common import insert_single_use_codes
from tests.conftest import connect
from tests.harness import ScratchDatabase

PRESENT = 20_000
CALLS = 8  # PL/pgSQL switches to a generic plan after five custom ones


def test_create_reads_a_handful_of_rows_among_many_campaigns(
    new_database: Callable[[], ScratchDatabase],
) -> None:
    db = new_database()
    with connect(db.admin_url) as loader:
        insert_single_use_codes(loader, "present", "PRESENT", PRESENT)
        loader.execute("VACUUM ANALYZE promo.promo_codes")
    # A connection of its own: the transaction statistics below also show what this session
    # did before and has not yet reported.
    with connect(db.admin_url) as conn, conn.transaction():
        for rotation in (False, True):
            if rotation:  # the duplicate check then also probes the previous pepper's hash
                conn.execute("SELECT set_config('promo.pepper_previous', repeat('p', 40), true)")
            for i in range(CALLS):
                conn.execute(
                    "SELECT api.create_promo_code(%s, 'PREMIUM_GRANT', 'plan check',"
                    " p_grant_days => 1, p_max_uses => 1)",
                    (f"NEWCODE{rotation:d}X{i}",),
                )
        read = conn.execute(
            "SELECT t.seq_scan, t.seq_tup_read,"
            " (SELECT sum(pg_stat_get_xact_tuples_returned(i.indexrelid)) FROM pg_index AS i"
            "  WHERE i.indrelid = t.relid) AS index_entries"
            " FROM pg_stat_xact_user_tables AS t WHERE t.relid = 'promo.promo_codes'::regclass"
        ).fetchone()
    assert read is not None
    assert read["seq_scan"] == 0 and read["seq_tup_read"] == 0, read
    # Per call: a pepper fingerprint each way (without a rotation) and the FK check of its slot.
    assert int(str(read["index_entries"])) <= 4 * 2 * CALLS, read
